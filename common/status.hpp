// `auditdistd status`: what the running daemon reports per host, and its
// two renderings (a table for people, JSON for monitoring). Pure.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace adist::common {

using wall_time = std::chrono::system_clock::time_point;

struct host_status {
    std::string role;   // "sender" or "receiver"
    std::string host;   // the configured host name
    std::string remote; // sender: the receiver's address; receiver: the peer (or the configured address)
    bool connected = false;
    std::optional<wall_time> since; // connected since, or disconnected since
    std::string file;               // current trail file, "" when none
    std::uint64_t offset = 0;       // sender: bytes of `file` sent; receiver: bytes stored
    std::optional<std::uint64_t> unacked; // sender: bytes in the dist directory not yet acknowledged
    std::optional<wall_time> last_ack;
    std::string last_error;
    std::optional<wall_time> last_error_at;
    // Receiver: why every session of this host is refused until an operator
    // acts (a recorded fdatasync failure), "" when it is not.
    std::string refused;
};

// {"hosts":[{"role":..., "host":..., ...}]}; times as RFC 3339 UTC strings,
// absent values as null.
std::string render_status_json(const std::vector<host_status>& hosts);
// One block per host, for a terminal.
std::string render_status_text(const std::vector<host_status>& hosts, wall_time now);

// "2026-11-21T22:00:01Z"
std::string format_wall_time(wall_time t);
// "1.5 GiB", "12.0 KiB", "512 B"
std::string format_bytes(std::uint64_t n);

} // namespace adist::common
