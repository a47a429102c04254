// Lines about a condition that lasts (a trail that cannot be sent, a refusal
// that comes back on every connection): due the first time, then again once
// per period while it lasts, not once per process and not on every retry.
// Kept by the uplink across connections; bounded. Pure: time is a parameter.
#pragma once

#include <chrono>
#include <cstddef>
#include <map>
#include <optional>
#include <string>

namespace adist::sender {

class repeat_log {
public:
    using time_point = std::chrono::steady_clock::time_point;
    static constexpr std::size_t max_entries = 1024;

    explicit repeat_log(std::chrono::milliseconds period) : period_(period) {}

    // True when a line about `key` is due at `now`: the first time, or a
    // period after it was last due. A non-empty `why` is kept for the
    // repeated lines (see why()). Once full, the entry due longest ago is
    // forgotten to make room (its next line may then come early, never late).
    bool due(const std::string& key, time_point now, std::string why = {});
    // When the next line about `key` is due; nullopt if it was never due.
    std::optional<time_point> next(const std::string& key) const;
    // The reason kept for `key`, or nullptr.
    const std::string* why(const std::string& key) const;
    void forget(const std::string& key) { last_.erase(key); }
    std::chrono::milliseconds period() const { return period_; }

private:
    std::chrono::milliseconds period_;
    struct entry {
        time_point last;
        std::string why;
    };
    std::map<std::string, entry> last_;
};

} // namespace adist::sender
