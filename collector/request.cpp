// The `auditdistd log` request codec (request.hpp). Pure.
#include "collector/request.hpp"

namespace adist::collector {
namespace {

void put32(std::string& out, std::uint32_t v) {
    for (int shift = 24; shift >= 0; shift -= 8)
        out += char((v >> shift) & 0xFF);
}

std::uint64_t get_be(std::string_view s) {
    std::uint64_t v = 0;
    for (char c : s)
        v = (v << 8) | static_cast<unsigned char>(c);
    return v;
}

void field(std::string& out, field_tag tag, std::string_view value) {
    out += char(tag);
    put32(out, std::uint32_t(value.size()));
    out.append(value);
}

} // namespace

std::string encode_request(const claimed_info& c) {
    std::string payload;
    std::size_t room = max_request_payload - 4096; // the other fields are small
    auto cut = [](const std::optional<std::string>& s) {
        return std::string_view(*s).substr(0, max_claimed_field);
    };
    if (c.ssh_tty) field(payload, field_tag::ssh_tty, cut(c.ssh_tty));
    if (c.ssh_connection) field(payload, field_tag::ssh_connection, cut(c.ssh_connection));
    if (c.pwd) field(payload, field_tag::pwd, cut(c.pwd));
    std::string length;
    std::uint64_t n = c.command.size();
    for (int shift = 56; shift >= 0; shift -= 8)
        length += char((n >> shift) & 0xFF);
    field(payload, field_tag::command_length, length);
    field(payload, field_tag::command, std::string_view(c.command).substr(0, room));
    std::string out = "ADL1";
    put32(out, std::uint32_t(payload.size()));
    return out + payload;
}

std::optional<request_header> decode_request_header(std::string_view header) {
    if (header.size() != request_header_size || !header.starts_with("ADL1")) return std::nullopt;
    auto n = std::uint32_t(get_be(header.substr(4)));
    if (n > max_request_payload) return std::nullopt;
    return request_header{request_kind::command, n};
}

std::optional<claimed_info> decode_request(std::string_view payload, std::size_t max_command,
                                           bool cut) {
    claimed_info c;
    bool command = false, field_cut = false;
    auto kept = [&field_cut](std::string_view v) {
        field_cut = field_cut || v.size() > max_claimed_field;
        return std::string(v.substr(0, max_claimed_field));
    };
    std::optional<std::uint64_t> length;
    while (!payload.empty()) {
        if (payload.size() < 5) return std::nullopt;
        auto tag = field_tag(payload[0]);
        auto n = get_be(payload.substr(1, 4));
        // Only the command, the last field, may go past a payload the
        // server read in part.
        if (payload.size() - 5 < n && cut && tag == field_tag::command) n = payload.size() - 5;
        if (payload.size() - 5 < n) return std::nullopt;
        std::string_view value = payload.substr(5, n);
        payload.remove_prefix(5 + n);
        switch (tag) {
        case field_tag::command:
            command = true;
            c.command = std::string(value);
            break;
        case field_tag::ssh_tty:
            c.ssh_tty = kept(value);
            break;
        case field_tag::ssh_connection:
            c.ssh_connection = kept(value);
            break;
        case field_tag::pwd:
            c.pwd = kept(value);
            break;
        case field_tag::command_length:
            if (n != 8) return std::nullopt;
            length = get_be(value);
            break;
        default:
            return std::nullopt;
        }
    }
    if (!command) return std::nullopt;
    c.command_length = std::max<std::uint64_t>(length.value_or(0), c.command.size());
    if (c.command.size() > max_command) c.command.resize(max_command);
    c.truncated = c.command.size() < c.command_length || field_cut;
    return c;
}

} // namespace adist::collector
