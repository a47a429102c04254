// JSON-lines encoding of the collector's records (record.hpp). Pure; the
// field order is fixed so that record_seq() can read a line back.
#include "collector/record.hpp"

#include <charconv>

namespace adist::collector {
namespace {

const char hex[] = "0123456789abcdef";

// Length of the valid UTF-8 sequence at s[i] (no overlongs, no surrogates,
// at most U+10FFFF), or 0.
std::size_t utf8_length(std::string_view s, std::size_t i) {
    auto b = [&](std::size_t k) { return static_cast<unsigned char>(s[i + k]); };
    auto cont = [&](std::size_t k) { return i + k < s.size() && (b(k) & 0xC0) == 0x80; };
    unsigned char c = b(0);
    if (c < 0x80) return 1;
    if (c >= 0xC2 && c <= 0xDF) return cont(1) ? 2 : 0;
    if (c >= 0xE0 && c <= 0xEF) {
        if (!cont(1) || !cont(2)) return 0;
        if (c == 0xE0 && b(1) < 0xA0) return 0;  // overlong
        if (c == 0xED && b(1) >= 0xA0) return 0; // surrogate
        return 3;
    }
    if (c >= 0xF0 && c <= 0xF4) {
        if (!cont(1) || !cont(2) || !cont(3)) return 0;
        if (c == 0xF0 && b(1) < 0x90) return 0;  // overlong
        if (c == 0xF4 && b(1) >= 0x90) return 0; // beyond U+10FFFF
        return 4;
    }
    return 0;
}

void add_u(std::string& out, unsigned v) {
    out += "\\u";
    for (int shift = 12; shift >= 0; shift -= 4)
        out += hex[(v >> shift) & 0xF];
}

// Builds one record: {"type":"..","seq":N,"time_ns":..,"host":..,"boot_id":..
class object {
  public:
    object(std::string_view type, const record_base& b) {
        out_ = "{\"type\":\"";
        out_ += type;
        out_ += "\",\"seq\":" + std::to_string(b.seq) + ",\"time_ns\":" + std::to_string(b.time_ns);
        str("host", b.host);
        str("boot_id", b.boot_id);
    }
    object& key(std::string_view k) {
        if (out_.back() != '{') out_ += ',';
        out_ += '"';
        out_ += k;
        out_ += "\":";
        return *this;
    }
    bool str(std::string_view k, std::string_view v) { return append_json_string(key(k).out_, v); }
    void opt(std::string_view k, const std::optional<std::string>& v) {
        if (v)
            str(k, *v);
        else
            key(k).out_ += "null";
    }
    template <typename T> void num(std::string_view k, T v) { key(k).out_ += std::to_string(v); }
    template <typename T> void opt_num(std::string_view k, const std::optional<T>& v) {
        if (v)
            num(k, *v);
        else
            key(k).out_ += "null";
    }
    void boolean(std::string_view k, bool v) { key(k).out_ += v ? "true" : "false"; }
    void open(std::string_view k) { key(k).out_ += '{'; }
    void open_array(std::string_view k) { key(k).out_ += '['; }
    void open_element() {
        if (out_.back() != '[') out_ += ',';
        out_ += '{';
    }
    void close() { out_ += '}'; }
    void close_array() { out_ += ']'; }
    std::string done() { return out_ + "}\n"; }

  private:
    std::string out_;
};

} // namespace

bool append_json_string(std::string& out, std::string_view s) {
    bool clean = true;
    out += '"';
    for (std::size_t i = 0; i < s.size();) {
        auto c = static_cast<unsigned char>(s[i]);
        std::size_t n = utf8_length(s, i);
        if (n == 0) {
            add_u(out, 0xDC00 | c);
            clean = false;
            ++i;
            continue;
        }
        if (c == '"' || c == '\\') {
            out += '\\';
            out += char(c);
        } else if (c == '\n') {
            out += "\\n";
        } else if (c == '\t') {
            out += "\\t";
        } else if (c < 0x20 || c == 0x7F) {
            add_u(out, c);
        } else if (n == 2 && c == 0xC2 && static_cast<unsigned char>(s[i + 1]) < 0xA0) {
            add_u(out, static_cast<unsigned char>(s[i + 1])); // C1 controls
        } else {
            out.append(s.substr(i, n));
        }
        i += n;
    }
    out += '"';
    return clean;
}

std::string encode_header(const record_base& b, std::uint64_t first_seq,
                          std::string_view previous) {
    object o("header", b);
    o.num("first_seq", first_seq);
    o.str("previous_file", previous);
    o.num("format", 1);
    return o.done();
}

std::string encode_command(const record_base& b, const trusted_info& t, const claimed_info& c) {
    object o("command", b);
    o.open("trusted");
    o.num("pid", t.pid);
    o.num("uid", t.uid);
    o.opt("user", t.user.empty() ? std::nullopt : std::optional(t.user));
    o.num("gid", t.gid);
    o.opt("group", t.group.empty() ? std::nullopt : std::optional(t.group));
    o.opt("tty", t.tty);
    o.opt_num("session", t.session);
    o.opt_num("loginuid", t.loginuid);
    o.opt_num("audit_session", t.audit_session);
    o.opt("exe", t.exe);
    o.open_array("parents");
    for (const auto& p : t.parents) {
        o.open_element();
        o.num("pid", p.pid);
        o.num("uid", p.uid);
        o.str("comm", p.comm);
        o.close();
    }
    o.close_array();
    o.boolean("verified", t.verified);
    o.close();
    o.open("claimed");
    bool clean = o.str("command", c.command);
    o.opt("ssh_tty", c.ssh_tty);
    o.opt("ssh_connection", c.ssh_connection);
    o.opt("pwd", c.pwd);
    o.boolean("truncated", c.truncated);
    o.num("command_length", c.command_length);
    o.boolean("invalid_utf8", !clean);
    o.close();
    return o.done();
}

std::string encode_heartbeat(const record_base& b) {
    return object("heartbeat", b).done();
}

std::string encode_tamper(const record_base& b, std::string_view file, std::string_view problem) {
    object o("tamper", b);
    o.str("file", file);
    o.str("problem", problem);
    return o.done();
}

std::string encode_suppressed(const record_base& b, std::uint32_t uid, std::string_view user,
                              std::uint64_t count) {
    object o("suppressed", b);
    o.num("uid", uid);
    o.str("user", user);
    o.num("count", count);
    return o.done();
}

std::string encode_recovery(const record_base& b, std::string_view file, bool partial_line) {
    object o("recovery", b);
    o.str("file", file);
    o.boolean("partial_line", partial_line);
    return o.done();
}

std::optional<std::uint64_t> record_seq(std::string_view line) {
    if (!line.starts_with("{\"type\":\"")) return std::nullopt;
    auto pos = line.find("\",\"seq\":");
    if (pos == std::string_view::npos) return std::nullopt;
    // The type is one of ours: letters only, so the first "," after it is ours.
    for (std::size_t i = 9; i < pos; ++i)
        if (line[i] < 'a' || line[i] > 'z') return std::nullopt;
    line.remove_prefix(pos + 8);
    std::uint64_t seq = 0;
    auto [end, ec] = std::from_chars(line.data(), line.data() + line.size(), seq);
    if (ec != std::errc() || end == line.data() || end == line.data() + line.size() || *end != ',')
        return std::nullopt;
    return seq;
}

bool restamp_seq(std::string& line, std::uint64_t seq) {
    auto old = record_seq(line);
    if (!old) return false;
    auto pos = line.find("\",\"seq\":") + 8;
    auto end = line.find(',', pos); // record_seq saw digits, then ','
    line.replace(pos, end - pos, std::to_string(seq));
    return true;
}

} // namespace adist::collector
