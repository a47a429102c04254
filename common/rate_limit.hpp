// Log flood control: at most `burst` lines per key (e.g. a peer address)
// per window; the rest are counted, and the count is due when the window
// ends (the caller's timer asks due(), so it is written even if the key
// never logs again). Bounded in memory: the least recently used key makes
// room for a new one. Pure: the caller passes the time.
#pragma once

#include <chrono>
#include <cstddef>
#include <list>
#include <string>
#include <unordered_map>
#include <vector>

namespace adist::common {

class log_limiter {
public:
    using clock = std::chrono::steady_clock;
    log_limiter(unsigned burst, clock::duration window, std::size_t max_keys = 4096)
        : burst_(burst), window_(window), max_keys_(max_keys < 1 ? 1 : max_keys) {}

    struct verdict {
        bool log = false;          // log this line
        unsigned suppressed = 0;   // lines of this key dropped in its previous window
        // This call dropped the first line of the key's window, or evicted
        // a key with dropped lines: a count falls due at this time (call
        // due() then); max() otherwise.
        clock::time_point report_at = clock::time_point::max();
    };
    verdict note(const std::string& key, clock::time_point now);

    struct report {
        std::string key;     // "" for keys evicted to make room (their sum)
        unsigned suppressed; // lines dropped and not yet reported
    };
    // The counts now due (windows that ended with lines dropped, and the
    // drops of evicted keys); each is reported once.
    std::vector<report> due(clock::time_point now);
    // When the next count falls due; max() when none is pending.
    clock::time_point next_due() const;
    std::size_t keys() const { return index_.size(); }

private:
    struct entry {
        std::string key;
        clock::time_point start;
        unsigned count = 0;
        unsigned dropped = 0;
    };
    using lru_list = std::list<entry>; // most recently used first

    unsigned burst_;
    clock::duration window_;
    std::size_t max_keys_;
    lru_list lru_;
    std::unordered_map<std::string, lru_list::iterator> index_;
    unsigned evicted_dropped_ = 0;
    clock::time_point evicted_at_ = clock::time_point::max();
};

} // namespace adist::common
