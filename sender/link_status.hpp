// What `auditdistd status` shows for one uplink, kept by the uplink and its
// transfers, and the sender's lag: bytes in the dist directory that the
// receiver has not acknowledged yet.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "common/status.hpp"

namespace adist::sender {

struct link_status {
    bool connected = false;
    std::optional<common::wall_time> since; // connected since, or disconnected since
    std::string file;                 // trail being sent, "" when none
    std::uint64_t sent_offset = 0;
    std::string acked_file;           // trail acknowledged up to acked_offset ("" when none)
    std::uint64_t acked_offset = 0;
    std::string last_closed;          // last trail the receiver acknowledged whole
    std::uint64_t acked_total = 0;    // bytes acknowledged since start (progress lines)
    std::optional<common::wall_time> last_data_ack; // OPEN, APPEND or CLOSE acknowledged
    std::optional<common::wall_time> waiting_since; // first data sent after the last data ack
    std::optional<common::wall_time> last_heard;    // any reply, keepalives included
    common::host_counters counters;
    std::string last_error;
    std::optional<common::wall_time> last_error_at;
    // Progress lines during a long catch-up.
    std::chrono::steady_clock::time_point progress_mark{};
    std::uint64_t progress_bytes = 0;
    std::chrono::steady_clock::time_point progress_last_ack{};

    void error(std::string what) {
        last_error = std::move(what);
        last_error_at = std::chrono::system_clock::now();
    }
};

// Bytes of the trails in `dir_fd` not yet acknowledged: the acknowledged
// trail's remainder and every other trail in the directory, including those
// that cannot be sent (older than the receiver's newest, refused, unreadable):
// they are not on the receiver either. The trail acknowledged whole last is
// left out (its link is on its way out), and so are the trails for which
// `kept_for_others` (when given) is true: fan-out, this receiver has them and
// their links wait for another receiver.
std::uint64_t unacked_bytes(int dir_fd, const std::string& dir_path, const link_status& s,
                            const std::function<bool(const std::string&)>& kept_for_others = {});

} // namespace adist::sender
