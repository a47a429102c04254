// The session's side of the per-host limits (host_limits.hpp): measuring the
// host directory when it connects, and applying the decider before each OPEN
// and APPEND. Part of class session (session.hpp); run by the receiver.
#include "receiver/session.hpp"

#include "common/log.hpp"
#include "proto/trail_name.hpp"
#include "receiver/host_limits.hpp"
#include "receiver/receiver.hpp"

namespace adist::receiver {
using proto::reply_error;

// The bytes the host stores, for max_host_bytes: measured at each
// connection (the session then adds what it accepts). A directory that
// cannot be listed completely refuses the session rather than count zero.
asio::awaitable<bool> session::measure_usage() {
    if (slot_->config.limits.max_host_bytes == 0) co_return true;
    auto* store = slot_->store.get();
    auto measure = [store] {
        int fd = store->held_dir_fd();
        return fd < 0 ? bytes_or_errno{0, errno} : measure_host_bytes(fd);
    };
    auto m = co_await common::offload(owner_.pool(), measure);
    if (m.error != 0) {
        log::error(prefix_, "refused: cannot measure ", store->path(),
                   " for max_host_bytes: ", common::errno_text(m.error));
        slot_->error("cannot measure the host directory: " + common::errno_text(m.error));
        co_return false;
    }
    slot_->usage.bytes = m.bytes;
    co_return true;
}

bool session::within_limits(const proto::request& req) {
    const auto& limits = slot_->config.limits;
    auto verdict = limit_refusal::none;
    std::string name;
    if (req.cmd == proto::command::open) {
        name = proto::payload_name(req);
        // Only an OPEN that creates a file counts: not a reopen of the newest
        // (a resume), nor one the rules refuse anyway.
        bool creates = proto::is_valid_trail_name(name) && name > slot_->store->view().newest;
        if (!creates) return true;
        verdict = decide_open(slot_->files, limits, slot_->usage, std::chrono::steady_clock::now());
        if (verdict == limit_refusal::none) slot_->usage.bytes += file_overhead;
    } else if (req.cmd == proto::command::append) {
        verdict = decide_append(limits, slot_->usage, req.payload.size());
    }
    if (verdict == limit_refusal::none) return true;
    ++slot_->limit_refusals;
    ++slot_->counters.refusals[std::string(to_string(verdict))];
    std::string what =
        verdict == limit_refusal::files_per_minute
            ? "more than " + std::to_string(limits.max_files_burst) + " files at once or " +
                  std::to_string(limits.max_files_per_minute) + " a minute"
            : std::to_string(slot_->usage.bytes) + " bytes stored of " +
                  std::to_string(limits.max_host_bytes);
    std::string line = std::string(to_string(req.cmd)) + (name.empty() ? "" : " ") +
                       log::printable(name) + " refused: host over " +
                       std::string(to_string(verdict)) + " (" + what + "); " +
                       std::to_string(slot_->limit_refusals) + " refusals since start";
    slot_->error(line);
    auto v = slot_->limit_log.note("limit", common::log_limiter::clock::now());
    owner_.report_suppressed_at(v.report_at);
    if (v.suppressed > 0) {
        log::warning(prefix_, v.suppressed, " more refusals for the host's limits were not logged");
    }
    if (v.log) log::warning(prefix_, line);
    // The codes the sender already treats as a failed OPEN / APPEND: it
    // logs, closes and reconnects with backoff.
    queue(req.seq, req.cmd == proto::command::open ? reply_error::create : reply_error::write,
          false);
    return false;
}

} // namespace adist::receiver
