// The `tls_min_version` statement of sender and receiver hosts: its value,
// its whole-config check and the warnings of -n (see tls_version.hpp for
// what it allows). Kept apart from the other statements: it is the one
// place where a host may weaken TLS, for FreeBSD's auditdistd.
#include "common/config_parser.hpp"

namespace adist::common {
namespace config_detail {

bool parser::tls_min_version_value(const token& key, tls_version& out, int& line) {
    std::string text;
    if (!string_value(key, text)) return false;
    auto v = parse_tls_version(text);
    if (!v)
        return fail(key.line, "tls_min_version must be \"1.0\", \"1.1\", \"1.2\" or \"1.3\" (got " +
                                  quoted(text) + ")");
    out = *v;
    line = key.line;
    return true;
}

// Like a fingerprint, a TLS setting on a plain-tcp remote protects nothing.
std::optional<config_error> check_tls_settings(const config& cfg, std::string_view file) {
    for (const auto& h : cfg.senders) {
        if (h.tls_min_version_line != 0 && h.remote.scheme != scheme::tls) {
            return config_error{std::string(file), h.tls_min_version_line,
                                "host " + quoted(h.name) +
                                    ": tls_min_version given but remote is not tls://"};
        }
    }
    return std::nullopt;
}

} // namespace config_detail

namespace {
template <typename Host>
void warn_legacy(const Host& h, std::string_view role, std::string_view file,
                 std::vector<config_error>& out) {
    if (!is_legacy(h.tls_min_version)) return;
    auto v = std::string(to_string(h.tls_min_version));
    out.push_back({h.file.empty() ? std::string(file) : h.file, h.tls_min_version_line,
                   std::string(role) + " host \"" + h.name + "\": tls_min_version \"" + v +
                       "\" allows TLS " + v +
                       " for this host (an obsolete protocol, OpenSSL security level 0 on its "
                       "connections only); needed for FreeBSD's auditdistd, which speaks TLS 1.0 "
                       "only"});
}
} // namespace

std::vector<config_error> tls_warnings(const config& cfg, std::string_view file) {
    std::vector<config_error> out;
    for (const auto& h : cfg.senders)
        warn_legacy(h, "sender", file, out);
    for (const auto& h : cfg.receivers)
        warn_legacy(h, "receiver", file, out);
    return out;
}

} // namespace adist::common
