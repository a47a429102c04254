// Address strings of auditdistd.conf (see address.hpp): scheme, family, host
// and port. Pure string work plus inet_pton; no name resolution here. Used by
// the config parser, the receiver's listeners and the sender's connector.
#include "common/address.hpp"

#include <algorithm>
#include <arpa/inet.h>
#include <cctype>
#include <netinet/in.h>

namespace adist::common {
namespace {

struct host_port {
    std::string_view host;
    std::optional<std::string_view> port;
    bool ipv6_syntax = false; // bracketed, or a bare literal with several ':'
};

bool fail(std::string* error, std::string message) {
    if (error) *error = std::move(message);
    return false;
}

// Cut very long values so that an error message stays one readable line.
std::string quoted(std::string_view s) {
    if (s.size() > 300) return "\"" + std::string(s.substr(0, 64)) + "...\"";
    return "\"" + std::string(s) + "\"";
}

std::string lower(std::string_view s) {
    std::string out(s);
    std::transform(out.begin(), out.end(), out.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return out;
}

// Consumes "scheme://" if present; a bare address means tcp (as in FreeBSD).
bool take_scheme(std::string_view& text, endpoint_spec& spec, std::string* error) {
    spec.scheme = scheme::tcp;
    auto pos = text.find("://");
    if (pos == std::string_view::npos) return true;
    auto name = lower(text.substr(0, pos));
    if (name == "tls") {
        spec.scheme = scheme::tls;
    } else if (name == "tcp4") {
        spec.family = family::v4;
    } else if (name == "tcp6") {
        spec.family = family::v6;
    } else if (name != "tcp") {
        return fail(error, "unknown scheme " + quoted(text.substr(0, pos)));
    }
    text.remove_prefix(pos + 3);
    return true;
}

bool split_host_port(std::string_view rest, host_port& out, std::string* error) {
    if (!rest.empty() && rest.front() == '[') {
        auto close = rest.find(']');
        if (close == std::string_view::npos) return fail(error, "missing \"]\"");
        out.host = rest.substr(1, close - 1);
        out.ipv6_syntax = true;
        auto after = rest.substr(close + 1);
        if (after.empty()) return true;
        if (after.front() != ':') return fail(error, "unexpected characters after \"]\"");
        out.port = after.substr(1);
        return true;
    }
    auto colons = std::count(rest.begin(), rest.end(), ':');
    if (colons > 1) { // bare IPv6 literal: no port possible without brackets
        out.host = rest;
        out.ipv6_syntax = true;
    } else if (colons == 1) {
        auto pos = rest.find(':');
        out.host = rest.substr(0, pos);
        out.port = rest.substr(pos + 1);
    } else {
        out.host = rest;
    }
    return true;
}

bool parse_port(std::string_view text, std::uint16_t& port, std::string* error) {
    bool digits =
        !text.empty() && text.size() <= 5 &&
        std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
    unsigned value = 0;
    for (char c : digits ? text : std::string_view{})
        value = value * 10 + unsigned(c - '0');
    if (!digits || value < 1 || value > 65535)
        return fail(error, "invalid port " + quoted(text) + " (expected 1 to 65535)");
    port = static_cast<std::uint16_t>(value);
    return true;
}

bool valid_ipv6(std::string_view host) {
    auto pct = host.find('%');
    auto addr = std::string(host.substr(0, pct));
    if (pct != std::string_view::npos) { // scope id, e.g. fe80::1%em0
        auto scope = host.substr(pct + 1);
        if (scope.empty() || !std::all_of(scope.begin(), scope.end(), [](unsigned char c) {
                return std::isalnum(c) || c == '_' || c == '-' || c == '.';
            }))
            return false;
    }
    in6_addr out{};
    return inet_pton(AF_INET6, addr.c_str(), &out) == 1;
}

bool valid_host_name(std::string_view host) {
    return host.size() <= 253 && std::all_of(host.begin(), host.end(), [](unsigned char c) {
               return std::isalnum(c) || c == '-' || c == '.' || c == '_';
           });
}

// Derives the family from the literal and checks it against tcp4:// / tcp6://.
bool classify_host(const host_port& hp, endpoint_spec& spec, std::string* error) {
    family literal = family::any;
    if (hp.ipv6_syntax) {
        if (!valid_ipv6(hp.host)) return fail(error, "invalid IPv6 address " + quoted(hp.host));
        literal = family::v6;
    } else if (!hp.host.empty() && std::all_of(hp.host.begin(), hp.host.end(), [](char c) {
                   return (c >= '0' && c <= '9') || c == '.';
               })) {
        in_addr out{};
        if (inet_pton(AF_INET, std::string(hp.host).c_str(), &out) != 1)
            return fail(error, "invalid IPv4 address " + quoted(hp.host));
        literal = family::v4;
    } else if (!valid_host_name(hp.host)) {
        return fail(error, "invalid host name " + quoted(hp.host));
    }
    if (spec.family != family::any && literal != family::any && spec.family != literal)
        return fail(error, spec.family == family::v4 ? "tcp4:// with an IPv6 address"
                                                     : "tcp6:// with an IPv4 address");
    if (literal != family::any) spec.family = literal;
    spec.host = std::string(hp.host);
    return true;
}

bool is_ip_literal(const std::string& host) {
    in_addr v4{};
    return inet_pton(AF_INET, host.c_str(), &v4) == 1 || valid_ipv6(host);
}

} // namespace

std::string endpoint_spec::to_string() const {
    std::string out = "tcp://";
    if (scheme == scheme::tls) {
        out = "tls://";
    } else if (family != family::any && !is_ip_literal(host)) {
        out = family == family::v4 ? "tcp4://" : "tcp6://"; // keep the forced family
    }
    if (host.find(':') != std::string::npos) {
        out += "[" + host + "]";
    } else {
        out += host;
    }
    return out + ":" + std::to_string(port);
}

std::optional<endpoint_spec> parse_address(std::string_view text, std::string* error) {
    if (text.empty()) {
        fail(error, "empty address");
        return std::nullopt;
    }
    endpoint_spec spec;
    host_port hp;
    if (!take_scheme(text, spec, error) || !split_host_port(text, hp, error) ||
        !classify_host(hp, spec, error))
        return std::nullopt;
    if (hp.port) {
        if (!parse_port(*hp.port, spec.port, error)) return std::nullopt;
        spec.port_given = true;
    }
    return spec;
}

} // namespace adist::common
