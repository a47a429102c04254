// The values of auditdistd.conf(5) statements (see config_parser.hpp): each
// checked where it is read, so that an error names its line.
#include "common/config_parser.hpp"

#include <algorithm>
#include <arpa/inet.h>

#include "proto/fingerprint.hpp"

namespace adist::common::config_detail {

// One spelling per directory, so that hosts are compared by their
// directory as strings only once each has one: repeated slashes and "."
// components go, a trailing slash goes; ".." is refused (it could leave the
// base directory, which root would then create). "" stands for "/" or for
// nothing at all; *dotdot is set when a ".." was seen.
std::string normalize_directory(const std::string& dir, bool* dotdot) {
    std::string out = !dir.empty() && dir.front() == '/' ? "/" : "";
    std::size_t pos = 0;
    while (pos <= dir.size()) {
        std::size_t end = std::min(dir.find('/', pos), dir.size());
        std::string_view part(dir.data() + pos, end - pos);
        if (part == "..") *dotdot = true;
        if (!part.empty() && part != ".") {
            if (!out.empty() && out.back() != '/') out += '/';
            out += part;
        }
        pos = end + 1;
    }
    return out == "/" ? std::string() : out;
}

bool parser::string_value(const token& key, std::string& out) {
    const token* t = value(key);
    if (t) out = t->text;
    return t != nullptr;
}

bool parser::path_value(const token& key, std::string& out, bool allow_none) {
    if (!string_value(key, out)) return false;
    if (out.empty() || (out.front() != '/' && !(allow_none && out == "none")))
        return fail(key.line, key.text + (allow_none ? " must be an absolute path or \"none\""
                                                     : " must be an absolute path"));
    return true;
}

bool parser::directory_value(const token& key, std::string& out, bool absolute) {
    if (!string_value(key, out)) return false;
    bool dotdot = false;
    out = normalize_directory(out, &dotdot);
    if (out.empty()) return fail(key.line, "directory must not be empty or \"/\"");
    if (absolute && out.front() != '/') return fail(key.line, "directory must be an absolute path");
    if (dotdot) return fail(key.line, "directory must not contain \"..\"");
    return true;
}

bool parser::address_value(const token& key, endpoint_spec& out, bool allow_empty_host) {
    std::string text;
    std::string error;
    if (!string_value(key, text)) return false;
    auto spec = parse_address(text, &error);
    if (!spec) return fail(key.line, key.text + ": " + error);
    if (!allow_empty_host && spec->host.empty())
        return fail(key.line, key.text + ": no host in address " + quoted(text));
    out = std::move(*spec);
    return true;
}

// `listen` and `source` are bound as given, never resolved (a name could
// resolve differently at each start): -n and startup agree. An empty host
// (a `source` with a port only) binds any address.
bool parser::bound_address_is_ip(const token& key, const endpoint_spec& spec) {
    if (spec.host.empty()) return true;
    unsigned char buf[sizeof(in6_addr)];
    if (::inet_pton(AF_INET, spec.host.c_str(), buf) == 1 ||
        ::inet_pton(AF_INET6, spec.host.c_str(), buf) == 1) {
        return true;
    }
    return fail(key.line, key.text + ": " + quoted(spec.host) +
                              " is not an IP address (give 0.0.0.0, [::] or the address to bind)");
}

// Never quotes the value: errors about a password must not reveal it.
bool parser::password_value(const token& key, std::string& out) {
    const token* t = value(key);
    if (!t) return false;
    if (t->text.empty()) return fail(key.line, "password is empty"); // FreeBSD accepts it
    if (t->text.size() > max_name_length)
        return fail(key.line, "password is longer than 255 bytes");
    if (t->kind == tok::word && t->glued_comment)
        return fail(key.line,
                    "\"#\" right after an unquoted password starts a comment; quote the password");
    out = t->text;
    return true;
}

bool parser::name_value(const token& key, std::string& out) {
    if (!string_value(key, out)) return false;
    if (out.empty()) return fail(key.line, "name is empty");
    if (out.size() > max_name_length) return fail(key.line, "name is longer than 255 bytes");
    return true;
}

// `auditd_log`: an absolute path to a file directly in a directory (the
// supervisor watches that directory), normalized like a directory.
bool parser::auditd_log_value(const token& key, std::string& out) {
    if (!string_value(key, out)) return false;
    bool dotdot = false;
    out = normalize_directory(out, &dotdot);
    if (out.empty() || out.front() != '/')
        return fail(key.line, "auditd_log must be an absolute path to auditd's log file");
    if (dotdot) return fail(key.line, "auditd_log must not contain \"..\"");
    if (out.rfind('/') == 0)
        return fail(key.line, "auditd_log must not be directly in \"/\" (give e.g. "
                              "/var/log/audit/audit.log)");
    return true;
}

bool parser::timeout_value(const token& key) {
    std::string text;
    if (!string_value(key, text)) return false;
    bool digits =
        !text.empty() && text.size() <= 6 &&
        std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
    int seconds = digits ? std::stoi(text) : 0;
    if (seconds < 1 || seconds > 86400)
        return fail(key.line, "timeout must be a number of seconds from 1 to 86400");
    cfg_.timeout = seconds;
    return true;
}

// min_protocol_version: 0 (FreeBSD's protocol allowed) or 1 (ours required).
bool parser::protocol_value(const token& key, std::optional<int>& out) {
    std::string text;
    if (!string_value(key, text)) return false;
    if (text != "0" && text != "1") return fail(key.line, "min_protocol_version must be 0 or 1");
    out = text[0] - '0';
    return true;
}

// Receiver: how far (seconds) a trail's start may lie after the receiver's clock.
bool parser::max_clock_skew_value(const token& key) {
    std::string text;
    if (!string_value(key, text)) return false;
    bool digits =
        !text.empty() && text.size() <= 9 &&
        std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
    long seconds = digits ? std::stol(text) : -1;
    if (seconds < 0 || seconds > max_clock_skew_limit)
        return fail(key.line, "max_clock_skew must be a number of seconds from 0 to 315360000");
    cfg_.max_clock_skew = seconds;
    return true;
}

bool parser::fingerprint_value(const token& key) {
    std::string text;
    if (!string_value(key, text)) return false;
    auto digest = proto::parse_fingerprint(text);
    if (!digest)
        return fail(key.line,
                    "invalid fingerprint (expected \"SHA256=\" and 32 hex pairs joined by \":\")");
    cfg_.senders.back().fingerprint = digest;
    return true;
}

bool parser::limit_value(const token& key, limit_overrides& out) {
    std::string text;
    if (!string_value(key, text)) return false;
    if (auto error = set_limit(key.text, text, out)) return fail(key.line, *error);
    return true;
}

} // namespace adist::common::config_detail
