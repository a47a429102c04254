// The per-uid rate limit of the collector: a token bucket per uid (rate per
// second, burst of one second's worth), so one user's flood is cut without
// delaying anyone else; what it refuses is counted per uid and handed out
// once for a `suppressed` record. Pure: the caller passes the time.
#pragma once

#include <chrono>
#include <cstdint>
#include <unordered_map>
#include <vector>

namespace adist::collector {

class uid_limit {
  public:
    using clock = std::chrono::steady_clock;
    // rate 0: no limit. At most max_uids buckets (full ones are dropped first).
    explicit uid_limit(unsigned rate, std::size_t max_uids = 65536)
        : rate_(rate), max_uids_(max_uids) {}

    // May this uid's record be written now? A refusal is counted.
    bool allow(std::uint32_t uid, clock::time_point now);
    // A request of this uid refused for another reason (its share of the
    // connections is taken): counted as a refusal is, with or without a rate.
    void refused(std::uint32_t uid, clock::time_point now);

    struct count {
        std::uint32_t uid;
        std::uint64_t suppressed;
    };
    // The counts not yet reported, each once.
    std::vector<count> take_counts();

    void set_rate(unsigned rate) { rate_ = rate; }

  private:
    struct bucket {
        double tokens = 0;
        clock::time_point last{};
        std::uint64_t suppressed = 0;
    };
    void trim(clock::time_point now);

    unsigned rate_;
    std::size_t max_uids_;
    std::unordered_map<std::uint32_t, bucket> buckets_;
};

} // namespace adist::collector
