// Log flood control: at most `burst` lines per key (e.g. a peer address)
// per window; the rest are counted and reported in one line when the key
// next logs after its window ended. Bounded in memory. Pure: the caller
// passes the time.
#pragma once

#include <chrono>
#include <cstddef>
#include <string>
#include <unordered_map>

namespace adist::common {

class log_limiter {
public:
    using clock = std::chrono::steady_clock;
    log_limiter(unsigned burst, clock::duration window, std::size_t max_keys = 4096)
        : burst_(burst), window_(window), max_keys_(max_keys) {}

    struct verdict {
        bool log = false;          // log this line
        unsigned suppressed = 0;   // lines of this key dropped in its previous window
    };
    verdict note(const std::string& key, clock::time_point now);

private:
    struct entry {
        clock::time_point start;
        unsigned count = 0;
        unsigned dropped = 0;
    };
    void prune(clock::time_point now);

    unsigned burst_;
    clock::duration window_;
    std::size_t max_keys_;
    std::unordered_map<std::string, entry> keys_;
};

} // namespace adist::common
