// Decoding of the sudo I/O plugin's frames (sudo_frame.hpp). Pure; every
// length is checked against what is left before it is used.
#include "collector/sudo_frame.hpp"

#include "sudo/sudo_frames.h"

namespace adist::collector {
namespace {

std::uint64_t be(std::string_view s) {
    std::uint64_t v = 0;
    for (char c : s)
        v = (v << 8) | static_cast<unsigned char>(c);
    return v;
}

using result = std::variant<sudo_frame, std::string>;

result decode_open(sudo_frame f, std::string_view p) {
    sudo_open o;
    bool start = false;
    while (!p.empty()) {
        if (p.size() < 5) return std::string("open: a field is cut");
        unsigned tag = static_cast<unsigned char>(p[0]);
        std::uint64_t n = be(p.substr(1, 4));
        if (n > p.size() - 5) return std::string("open: a field is longer than the frame");
        std::string value(p.substr(5, n));
        p.remove_prefix(5 + n);
        switch (tag) {
        case ADIST_SUDO_TAG_USER_INFO: o.user_info.push_back(std::move(value)); break;
        case ADIST_SUDO_TAG_COMMAND_INFO: o.command_info.push_back(std::move(value)); break;
        case ADIST_SUDO_TAG_ARGV: o.argv.push_back(std::move(value)); break;
        case ADIST_SUDO_TAG_ENV: o.env.push_back(std::move(value)); break;
        case ADIST_SUDO_TAG_RUNAS_USER: o.runas_user = std::move(value); break;
        case ADIST_SUDO_TAG_RUNAS_GROUP: o.runas_group = std::move(value); break;
        case ADIST_SUDO_TAG_START:
            if (n != 12) return std::string("open: the start time is not 12 bytes");
            o.start_sec = std::int64_t(be(std::string_view(value).substr(0, 8)) & INT64_MAX);
            o.start_nsec = std::uint32_t(be(std::string_view(value).substr(8)));
            if (o.start_nsec >= 1000000000u) return std::string("open: nanoseconds out of range");
            start = true;
            break;
        default:
            return "open: unknown field " + std::to_string(tag);
        }
    }
    if (!start) return std::string("open: no start time");
    f.body = std::move(o);
    return f;
}

result decode_data(sudo_frame f, std::string_view p) {
    if (p.size() < 14) return std::string("data: cut");
    sudo_data d;
    d.stream = static_cast<unsigned char>(p[0]);
    unsigned flags = static_cast<unsigned char>(p[1]);
    d.offset = be(p.substr(2, 8));
    d.count = std::uint32_t(be(p.substr(10, 4)));
    d.withheld = (flags & ADIST_SUDO_WITHHELD) != 0;
    if (d.stream >= ADIST_SUDO_STREAMS) return std::string("data: unknown stream");
    if ((flags & ~unsigned(ADIST_SUDO_WITHHELD)) != 0) return std::string("data: unknown flags");
    if (d.count == 0 || d.count > ADIST_SUDO_MAX_DATA) return std::string("data: bad count");
    if (d.offset > (std::uint64_t{1} << 62)) return std::string("data: offset out of range");
    std::size_t carried = d.withheld ? 0 : d.count;
    if (p.size() - 14 != carried) return std::string("data: count does not match the frame");
    d.bytes = std::string(p.substr(14));
    f.body = std::move(d);
    return f;
}

} // namespace

std::variant<sudo_frame_header, std::string> decode_sudo_header(std::string_view b) {
    if (b.size() != ADIST_SUDO_HEADER_SIZE) return std::string("header: not 24 bytes");
    sudo_frame_header h;
    h.length = std::uint32_t(be(b.substr(0, 4)));
    h.type = static_cast<unsigned char>(b[4]);
    if (static_cast<unsigned char>(b[5]) != ADIST_SUDO_VERSION)
        return std::string("header: unknown version");
    if (b[6] != 0 || b[7] != 0) return std::string("header: reserved bytes set");
    h.seq = be(b.substr(8, 8));
    h.elapsed_ns = be(b.substr(16, 8));
    if (h.type < ADIST_SUDO_OPEN || h.type > ADIST_SUDO_CLOSE)
        return "header: unknown frame type " + std::to_string(h.type);
    if (h.length > ADIST_SUDO_MAX_PAYLOAD) return std::string("header: payload too long");
    if (h.elapsed_ns > (std::uint64_t{1} << 62)) return std::string("header: time out of range");
    return h;
}

std::variant<sudo_frame, std::string> decode_sudo_payload(const sudo_frame_header& head,
                                                          std::string_view p) {
    if (p.size() != head.length) return std::string("payload: not the header's length");
    sudo_frame f{head, sudo_winsize{}};
    switch (head.type) {
    case ADIST_SUDO_OPEN:
        return decode_open(std::move(f), p);
    case ADIST_SUDO_DATA:
        return decode_data(std::move(f), p);
    case ADIST_SUDO_WINSIZE:
        if (p.size() != 8) return std::string("winsize: not 8 bytes");
        f.body = sudo_winsize{std::uint32_t(be(p.substr(0, 4))), std::uint32_t(be(p.substr(4)))};
        return f;
    case ADIST_SUDO_SUSPEND:
        if (p.size() != 4) return std::string("suspend: not 4 bytes");
        f.body = sudo_suspend{std::uint32_t(be(p))};
        return f;
    case ADIST_SUDO_CLOSE:
        if (p.size() != 8) return std::string("close: not 8 bytes");
        f.body = sudo_close{std::int32_t(std::uint32_t(be(p.substr(0, 4)))),
                            std::int32_t(std::uint32_t(be(p.substr(4))))};
        return f;
    default:
        return std::string("unknown frame type");
    }
}

std::string_view sudo_stream_name(unsigned stream) {
    switch (stream) {
    case ADIST_SUDO_STDIN: return "stdin";
    case ADIST_SUDO_STDOUT: return "stdout";
    case ADIST_SUDO_STDERR: return "stderr";
    case ADIST_SUDO_TTYIN: return "ttyin";
    case ADIST_SUDO_TTYOUT: return "ttyout";
    default: return "";
    }
}

} // namespace adist::collector
