// The transfer's catch-up progress lines (see transfer.hpp): at most one per
// progress_interval, only while the sender is far behind.
#include "sender/transfer.hpp"

#include <chrono>
#include "common/log.hpp"

namespace adist::sender {
// At most one line per progress_interval, and only while far behind (more
// than a window's worth left): a sender that keeps up stays quiet.
void transfer::log_progress(std::uint64_t req_bytes) {
    auto& st = *dist_.status;
    auto now = std::chrono::steady_clock::now();
    auto elapsed = now - st.progress_mark;
    // First ack, or the first after a quiet spell: a new catch-up starts here,
    // so the idle time does not water the rate down.
    if (st.progress_mark == std::chrono::steady_clock::time_point{} ||
        now - st.progress_last_ack > options_.progress_interval) {
        st.progress_mark = now;
        st.progress_bytes = st.acked_total - req_bytes;
    }
    st.progress_last_ack = now;
    elapsed = now - st.progress_mark;
    if (elapsed < options_.progress_interval) return;
    auto bytes = st.acked_total - st.progress_bytes;
    st.progress_mark = now;
    st.progress_bytes = st.acked_total;
    auto left = unacked_bytes(dist_.dir_fd, dist_.dir_path, st);
    if (left <= options_.window) return;
    double secs = std::chrono::duration<double>(elapsed).count();
    log::info(prefix_, "catching up: ", common::format_bytes(bytes), " acknowledged in ",
              static_cast<long>(secs + 0.5), " s (",
              common::format_bytes(static_cast<std::uint64_t>(static_cast<double>(bytes) / secs)),
              "/s), ", common::format_bytes(left), " still to send");
}

} // namespace adist::sender
