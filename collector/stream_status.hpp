// What `auditdistd status` shows of the collector's two streams (commands
// from `auditdistd log`, sessions from the sudo plugin): counted by each
// role on its thread, answered as JSON on the collector's own status socket
// (the collector process serves it; the worker knows nothing of the
// collector). The status client takes that answer as untrusted: it checks
// it field by field (parse_collector_json) and renders it itself, in the
// format asked for, next to the worker's answer. Pure: time is passed in.
#pragma once

#include "collector/record_file.hpp"
#include "common/config_collector.hpp"
#include "common/status.hpp"
#include "common/status_check.hpp"

#include <chrono>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace adist::collector {

using common::wall_time;

struct stream_status {
    std::string stream;    // "commands" or "sudo"
    std::string socket;    // where its clients connect
    std::string directory; // where its files are
    std::string file;      // the open file, "" when none
    // False once the stream cannot write: it cannot open or reopen its
    // files, or on_tamper abort stopped it. The daemon then stops too, so a
    // monitor sees this only in the moment before. (A failed write starts a
    // new file with the next record: that shows as last_error.)
    bool writing = false;
    std::uint64_t records = 0; // records written since the start, of every kind
    std::uint64_t bytes = 0;   // bytes written since the start
    // Commands acknowledged to their client as written; sudo: sessions opened.
    std::uint64_t accepted = 0;
    // Commands refused over the per-uid rate limit (each is counted in a
    // `suppressed` record too).
    std::uint64_t suppressed = 0;
    std::uint64_t tampers = 0; // tamper alerts since the start
    std::optional<wall_time> last_record;
    std::string last_error;
    std::optional<wall_time> last_error_at;
    // The last tamper alert ("" none): it stays until the daemon restarts.
    std::string tamper_alert;
};

// What a role counts for its status, on its own thread.
// Any thread: the collector counts on its two round threads, and a failed
// background sync is told from the event loop.
class stream_tally {
  public:
    explicit stream_tally(std::string stream) { s_.stream = std::move(stream); }
    void accepted() {
        std::lock_guard lock(m_);
        ++s_.accepted;
    }
    void suppressed() {
        std::lock_guard lock(m_);
        ++s_.suppressed;
    }
    void written(wall_time t) {
        std::lock_guard lock(m_);
        s_.last_record = t;
    }
    void error(const std::string& what, wall_time t) {
        std::lock_guard lock(m_);
        s_.last_error = what;
        s_.last_error_at = t;
    }
    void tampered(const std::string& problem, wall_time t) {
        std::lock_guard lock(m_);
        ++s_.tampers;
        s_.tamper_alert = problem;
        s_.last_error = "tampered with: " + problem;
        s_.last_error_at = t;
    }
    // The counts, with what `file` (nullptr: none) and the role know.
    stream_status snapshot(const common::collector_config& cfg, const record_file* file,
                           bool writing) const;

  private:
    mutable std::mutex m_;
    stream_status s_;
};

// {"collector":[{"stream":..., ...}]}; times as RFC 3339 UTC strings.
std::string render_collector_json(const std::vector<stream_status>& streams);
// Its inverse, strict: that object with that list (at most max_streams),
// each entry with every field of its type (a string at most
// max_status_text bytes without control characters, the stream's name a
// lowercase word), or nullopt.
inline constexpr std::size_t max_streams = 8;
inline constexpr std::size_t max_status_text = 4096;
std::optional<std::vector<stream_status>> parse_collector_json(const std::string& text);
// One block per stream, as `auditdistd status` prints the hosts.
std::string render_collector_text(const std::vector<stream_status>& streams, wall_time now);
// auditdistd_collector_* families, label stream (escaped as the format
// says): none shares a name with the worker's, so the two together are one
// valid exposition.
std::string render_collector_prometheus(const std::vector<stream_status>& streams);

// CRITICAL: a stream that cannot write. WARNING: a tamper alert since the
// start, or an error within the last `max_lag`. UNKNOWN: no stream.
// Otherwise OK. The line is "AUDITDISTD <code> - collector: ...".
common::check_result decide_collector_check(const std::vector<stream_status>& streams,
                                            wall_time now, std::chrono::seconds max_lag);

// The collector's status socket: the answer to one request line, "status
// json" (the only one: the client renders the rest).
std::string respond_collector_status(const std::string& request,
                                     const std::vector<stream_status>& streams);

} // namespace adist::collector
