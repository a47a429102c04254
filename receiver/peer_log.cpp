// The receiver's log of unauthenticated peers (part of class receiver,
// receiver.hpp): lines limited per address and in all, and the counts of
// dropped lines written by a timer within their minute, for these and for
// the per-host limits' refusals. Run on the receiver's event loop.
#include "receiver/receiver.hpp"

#include <algorithm>

#include "common/log.hpp"

namespace adist::receiver {

namespace {
void log_suppressed(const std::string& key, unsigned count) {
    if (count == 0) return;
    if (key.empty()) { // keys evicted to make room
        log::warning(count, " more lines about unauthenticated connections were not logged");
        return;
    }
    log::warning(count, " more lines about unauthenticated connections from ", key,
                 " were not logged in the last minute");
}
} // namespace

// Writes the counts of dropped lines when they fall due, so a flood that
// stops is still reported within its minute, not at the next line.
asio::awaitable<void> receiver::report_suppressed() {
    while (!stopping_) {
        co_await peer_log_timer_.async_wait(asio::as_tuple(asio::use_awaitable));
        if (stopping_) break;
        auto now = common::log_limiter::clock::now();
        for (auto& r : peer_log_.due(now)) log_suppressed(r.key, r.suppressed);
        auto next = peer_log_.next_due();
        for (auto& h : hosts_) { // the per-host limits' refusals (session_limits.cpp)
            for (auto& r : h->limit_log.due(now)) {
                log::warning("[", h->config.name, "] ", r.suppressed,
                             " more refusals for the host's limits were not logged");
            }
            next = std::min(next, h->limit_log.next_due());
        }
        peer_log_timer_.expires_at(next);
    }
}

void receiver::report_suppressed_at(common::log_limiter::clock::time_point at) {
    if (at < peer_log_timer_.expiry()) peer_log_timer_.expires_at(at);
}

void receiver::log_peer(const std::string& address, bool warning, const std::string& line) {
    auto v = peer_log_.note(address, common::log_limiter::clock::now());
    log_suppressed(address, v.suppressed);
    if (v.report_at < peer_log_timer_.expiry()) peer_log_timer_.expires_at(v.report_at);
    if (!v.log) return;
    if (warning) {
        log::warning(line);
    } else {
        log::info(line);
    }
}

} // namespace adist::receiver
