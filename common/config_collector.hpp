// The `collector { }` section of auditdistd.conf(5): the command-history
// collector's socket, directories, rotation, sync, heartbeat, tamper, copy,
// rate limit, record size and user. Parsed by config_collector.cpp; run by the
// collector role (collector/) and `auditdistd log`.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace adist::common {

inline constexpr std::string_view default_collector_socket = "/run/auditdistd/collect.sock";
inline constexpr std::string_view default_collector_directory = "/var/audit/commands";
// The sudo section's: a socket only root reaches (the plugin runs in sudo).
inline constexpr std::string_view default_sudo_socket = "/run/auditdistd/sudo.sock";
inline constexpr std::string_view default_sudo_directory = "/var/audit/sudo";
// The collector process's own user when the daemon starts as root (`user`):
// the package creates it; never the daemon's (-u) user, never root.
inline constexpr std::string_view default_collector_user = "auditdistd-collector";

enum class collector_rotate { daily, size };
enum class collector_tamper { continue_new_file, abort };
enum class collector_replicate { none, syslog, journal };

struct collector_config {
    std::string socket{default_collector_socket};       // absolute path
    std::string directory{default_collector_directory}; // absolute; trail files
    std::string dist;                                   // absolute; default <directory>/dist
    collector_rotate rotate = collector_rotate::daily;
    std::uint64_t rotate_size = 0; // bytes, with rotate size N (>= 4096)
    unsigned sync_records = 100;   // fdatasync after this many records (>= 1)
    unsigned sync_interval = 1;    // ... or this many seconds (>= 1)
    unsigned heartbeat = 3600;     // seconds between heartbeat records (>= 1)
    collector_tamper on_tamper = collector_tamper::continue_new_file;
    collector_replicate replicate = collector_replicate::none;
    unsigned rate_limit = 50;         // records per uid per second (0: no limit)
    unsigned max_record_size = 16384; // bytes of command text kept (>= 256)
    std::string user{default_collector_user}; // the collector process's user (started as root)
    int line = 0;                     // line of the `collector` keyword
    bool operator==(const collector_config&) const = default;
};

} // namespace adist::common
