// `auditdistd status`: what the running daemon reports per host, and its
// two renderings (a table for people, JSON for monitoring). Pure.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace boost::json {
class value;
}

namespace adist::common {

using wall_time = std::chrono::system_clock::time_point;

// Counted since the daemon started, per host, on the event loop only (the
// receiver's sync pool returns its timings to the loop): plain integers.
struct host_counters {
    std::uint64_t bytes = 0;       // sender: acknowledged; receiver: stored and synced
    std::uint64_t files = 0;       // sender: trails acknowledged whole; receiver: trails closed
    std::uint64_t connections = 0; // sessions that passed the handshake
    std::map<std::string, std::uint64_t> handshake_failures; // by reason
    std::map<std::string, std::uint64_t> refusals;           // by reason
    std::uint64_t fsyncs = 0;      // receiver: fdatasync calls
    std::uint64_t fsync_ns = 0;    // receiver: their total duration
    // Sender, optional receiver of a shared dist directory: trails whose
    // links were removed before it got them (gaps it skipped).
    std::uint64_t missed_files = 0;
};

struct host_status {
    std::string role;   // "sender" or "receiver"
    std::string host;   // the configured host name
    std::string remote; // sender: the receiver's address; receiver: the peer (or the configured address)
    bool connected = false;
    std::optional<wall_time> since; // connected since, or disconnected since
    std::string file;               // current trail file, "" when none
    std::uint64_t offset = 0;       // sender: bytes of `file` sent; receiver: bytes stored
    std::optional<std::uint64_t> unacked; // sender: bytes in the dist directory not yet acknowledged
    // Data acknowledged: the sender got an OPEN/APPEND/CLOSE ack; the
    // receiver acked stored and synced data. Keepalives do not count.
    std::optional<wall_time> last_data_ack;
    // Sender: when it sent the first data after the last data ack, that is
    // when data it had caught up with began to wait again.
    std::optional<wall_time> waiting_since;
    // Any frame or reply from the peer, keepalives included.
    std::optional<wall_time> last_heard;
    std::string last_error;
    std::optional<wall_time> last_error_at;
    // Receiver: why every session of this host is refused until an operator
    // acts (a recorded fdatasync failure), "" when it is not.
    std::string refused;
    // Sender: data waiting and no data acknowledged for the daemon's max lag
    // (see status_check.hpp); set when the status is collected.
    bool stalled = false;
    // Sender: why this receiver lags past its host's max_lag_bytes (bytes in
    // the dist directory it has not acknowledged, and for an optional one
    // bytes removed before it got them), "" when it does not.
    std::string lagging;
    // Sender with ledger_key: the newest receipt kept ("" none), and why a
    // signed head was refused or receipts cannot be kept ("" when neither;
    // an alert stays until the daemon restarts).
    std::string receipt;
    std::string receipt_alert;
    host_counters counters;
};

// {"hosts":[{"role":..., "host":..., ...}]}; times as RFC 3339 UTC strings,
// absent values as null. "last_ack" repeats "last_data_ack" (older monitors).
std::string render_status_json(const std::vector<host_status>& hosts);
// One block per host, for a terminal.
std::string render_status_text(const std::vector<host_status>& hosts, wall_time now);
// The Prometheus text exposition format: HELP and TYPE lines, auditdistd_*
// names, labels role and host, counters ending in _total.
std::string render_status_prometheus(const std::vector<host_status>& hosts);

// "2026-11-21T22:00:01Z"
std::string format_wall_time(wall_time t);
// That form in status JSON, or null when there is no time.
boost::json::value time_or_null(const std::optional<wall_time>& t);
// Its inverse: exactly that form (a UTC second from 1970 to 2200), or nullopt.
std::optional<wall_time> parse_wall_time(std::string_view text);
// "1.5 GiB", "12.0 KiB", "512 B"
std::string format_bytes(std::uint64_t n);
// "2026-11-21T22:00:01Z (3 s ago)", minutes past 2 min, hours past 2 h.
std::string format_ago(wall_time t, wall_time now);

} // namespace adist::common
