// Unit tests for common/rate_limit: log flood control.
#include "common/rate_limit.hpp"

#include <catch2/catch.hpp>

using adist::common::log_limiter;
using namespace std::chrono_literals;

TEST_CASE("log_limiter: a burst per key and window, then a count of what was dropped") {
    log_limiter l(3, 60s);
    auto t = log_limiter::clock::time_point{} + 1000s;
    for (int i = 0; i < 3; ++i) REQUIRE(l.note("10.0.0.1", t).log);
    for (int i = 0; i < 97; ++i) REQUIRE_FALSE(l.note("10.0.0.1", t + 1s).log);
    REQUIRE(l.note("10.0.0.2", t + 2s).log); // another key has its own budget
    auto v = l.note("10.0.0.1", t + 61s);     // the next window reports the drops
    REQUIRE(v.log);
    REQUIRE(v.suppressed == 97);
    REQUIRE(l.note("10.0.0.1", t + 62s).suppressed == 0);
}

TEST_CASE("log_limiter: memory is bounded by max_keys") {
    log_limiter l(1, 60s, 8);
    auto t = log_limiter::clock::time_point{} + 1000s;
    int logged = 0;
    for (int i = 0; i < 1000; ++i) logged += l.note("k" + std::to_string(i), t).log ? 1 : 0;
    REQUIRE(logged == 8);
    // Once their windows end quietly, old keys make room again.
    REQUIRE(l.note("new", t + 61s).log);
}
