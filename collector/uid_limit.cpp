// The collector's per-uid token buckets (uid_limit.hpp). Pure.
#include "collector/uid_limit.hpp"

#include <algorithm>

namespace adist::collector {

bool uid_limit::allow(std::uint32_t uid, clock::time_point now) {
    if (rate_ == 0) return true;
    auto it = buckets_.find(uid);
    if (it == buckets_.end()) {
        if (buckets_.size() >= max_uids_) trim(now);
        it = buckets_.emplace(uid, bucket{double(rate_), now, 0}).first;
    }
    bucket& b = it->second;
    double elapsed = std::chrono::duration<double>(now - b.last).count();
    b.tokens = std::min<double>(rate_, b.tokens + std::max(0.0, elapsed) * rate_);
    b.last = now;
    if (b.tokens >= 1.0) {
        b.tokens -= 1.0;
        return true;
    }
    ++b.suppressed;
    return false;
}

void uid_limit::refused(std::uint32_t uid, clock::time_point now) {
    auto it = buckets_.find(uid);
    if (it == buckets_.end()) {
        if (buckets_.size() >= max_uids_) trim(now);
        it = buckets_.emplace(uid, bucket{double(rate_), now, 0}).first;
    }
    ++it->second.suppressed;
}

std::vector<uid_limit::count> uid_limit::take_counts() {
    std::vector<count> out;
    for (auto& [uid, b] : buckets_) {
        if (b.suppressed == 0) continue;
        out.push_back({uid, b.suppressed});
        b.suppressed = 0;
    }
    std::sort(out.begin(), out.end(), [](const count& a, const count& b) { return a.uid < b.uid; });
    return out;
}

// Drops buckets that are full again and have nothing to report (they
// behave as new ones would). Counts are never dropped; with every bucket
// busy the table grows past max_uids (bounded by the number of uids).
void uid_limit::trim(clock::time_point now) {
    for (auto it = buckets_.begin(); it != buckets_.end();) {
        double elapsed = std::chrono::duration<double>(now - it->second.last).count();
        bool full = it->second.tokens + elapsed * rate_ >= rate_;
        if (full && it->second.suppressed == 0)
            it = buckets_.erase(it);
        else
            ++it;
    }
}

} // namespace adist::collector
