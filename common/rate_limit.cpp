// Log flood control (see rate_limit.hpp).
#include "common/rate_limit.hpp"

namespace adist::common {

log_limiter::verdict log_limiter::note(const std::string& key, clock::time_point now) {
    auto it = keys_.find(key);
    if (it == keys_.end()) {
        if (keys_.size() >= max_keys_) prune(now);
        if (keys_.size() >= max_keys_) return {false, 0}; // a flood of keys: stay quiet
        it = keys_.emplace(key, entry{now, 0, 0}).first;
    }
    auto& e = it->second;
    verdict v;
    if (now - e.start >= window_) {
        v.suppressed = e.dropped;
        e = entry{now, 0, 0};
    }
    if (e.count < burst_) {
        ++e.count;
        v.log = true;
    } else {
        ++e.dropped;
    }
    return v;
}

// Forgets keys whose window ended with nothing dropped (nothing to report).
void log_limiter::prune(clock::time_point now) {
    for (auto it = keys_.begin(); it != keys_.end();) {
        if (now - it->second.start >= window_ && it->second.dropped == 0) {
            it = keys_.erase(it);
        } else {
            ++it;
        }
    }
}

} // namespace adist::common
