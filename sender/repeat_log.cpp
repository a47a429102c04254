// Repeated lines about lasting conditions (see repeat_log.hpp).
#include "sender/repeat_log.hpp"

#include <algorithm>

namespace adist::sender {

bool repeat_log::due(const std::string& key, time_point now, std::string why) {
    auto it = last_.find(key);
    if (it != last_.end()) {
        if (!why.empty()) it->second.why = std::move(why);
        if (now - it->second.last < period_) return false;
        it->second.last = now;
        return true;
    }
    if (last_.size() >= max_entries) {
        auto oldest = std::min_element(last_.begin(), last_.end(),
                                       [](auto& a, auto& b) { return a.second.last < b.second.last; });
        last_.erase(oldest);
    }
    last_.emplace(key, entry{now, std::move(why)});
    return true;
}

std::optional<repeat_log::time_point> repeat_log::next(const std::string& key) const {
    auto it = last_.find(key);
    if (it == last_.end()) return std::nullopt;
    return it->second.last + period_;
}

const std::string* repeat_log::why(const std::string& key) const {
    auto it = last_.find(key);
    return it == last_.end() || it->second.why.empty() ? nullptr : &it->second.why;
}

} // namespace adist::sender
