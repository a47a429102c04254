// Log flood control (see rate_limit.hpp).
#include "common/rate_limit.hpp"

#include <algorithm>

namespace adist::common {

log_limiter::verdict log_limiter::note(const std::string& key, clock::time_point now) {
    verdict v;
    auto found = index_.find(key);
    if (found == index_.end()) {
        if (index_.size() >= max_keys_) { // evict the least recently used key
            auto& old = lru_.back();
            if (old.dropped > 0) {
                evicted_dropped_ += old.dropped;
                evicted_at_ = std::min(evicted_at_, now);
                v.report_at = now; // due at once: its window is gone
            }
            index_.erase(old.key);
            lru_.pop_back();
        }
        lru_.push_front(entry{key, now, 0, 0});
        found = index_.emplace(key, lru_.begin()).first;
    } else {
        lru_.splice(lru_.begin(), lru_, found->second); // now the most recent
    }
    auto& e = *found->second;
    if (now - e.start >= window_) {
        v.suppressed = e.dropped;
        e = entry{key, now, 0, 0};
    }
    if (e.count < burst_) {
        ++e.count;
        v.log = true;
    } else if (e.dropped++ == 0) {
        v.report_at = std::min(v.report_at, e.start + window_);
    }
    return v;
}

std::vector<log_limiter::report> log_limiter::due(clock::time_point now) {
    std::vector<report> out;
    if (evicted_dropped_ > 0) {
        out.push_back({"", evicted_dropped_});
        evicted_dropped_ = 0;
        evicted_at_ = clock::time_point::max();
    }
    for (auto& e : lru_) {
        if (e.dropped == 0 || now - e.start < window_) continue;
        out.push_back({e.key, e.dropped});
        // A fresh window that has logged nothing: the key's next line logs.
        e.start = now;
        e.count = 0;
        e.dropped = 0;
    }
    return out;
}

log_limiter::clock::time_point log_limiter::next_due() const {
    auto next = evicted_at_;
    for (const auto& e : lru_) {
        if (e.dropped > 0) next = std::min(next, e.start + window_);
    }
    return next;
}

} // namespace adist::common
