// Address strings of auditdistd.conf (listen, remote, source): parsing into a
// scheme, an address family, a host and a port. Used by the config validator,
// the receiver's listeners and peer matching, and the sender's connector.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace adist::common {

inline constexpr std::uint16_t default_port = 7878;

enum class scheme { tls, tcp };
enum class family { any, v4, v6 };

struct endpoint_spec {
    adist::common::scheme scheme = scheme::tls;
    adist::common::family family = family::any;
    std::string host; // IP literal (no brackets) or a host name; may be empty for source
    std::uint16_t port = default_port;
    bool port_given = false;

    // Canonical form, e.g. "tls://[::1]:7878" or "tcp://10.0.0.1:7878".
    std::string to_string() const;
};

// Parses "tls://host[:port]", "tcp://", "tcp4://", "tcp6://" or a bare
// "host[:port]" (bare means tcp). IPv6 literals go in brackets; a bare IPv6
// literal without brackets and without a port is accepted too ("::1").
// Returns nullopt and sets *error to a human-readable reason on failure.
std::optional<endpoint_spec> parse_address(std::string_view text, std::string* error);

} // namespace adist::common
