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

TEST_CASE("log_limiter: memory is bounded, and a flood of keys silences no key") {
    log_limiter l(1, 60s, 8);
    auto t = log_limiter::clock::time_point{} + 1000s;
    for (int i = 0; i < 5000; ++i) REQUIRE(l.note("k" + std::to_string(i), t).log);
    REQUIRE(l.keys() == 8);
    // Before: once 4096 keys were in their window, a new key was never logged.
    REQUIRE(l.note("10.0.0.9", t + 1s).log);
    REQUIRE(l.keys() == 8);
}

TEST_CASE("log_limiter: the least recently used key is evicted") {
    log_limiter l(1, 60s, 3);
    auto t = log_limiter::clock::time_point{} + 1000s;
    REQUIRE(l.note("a", t).log);
    REQUIRE(l.note("b", t).log);
    REQUIRE(l.note("c", t).log);
    REQUIRE_FALSE(l.note("a", t + 1s).log); // a is now the most recent
    REQUIRE(l.note("d", t + 2s).log);       // evicts b, the least recent
    REQUIRE_FALSE(l.note("a", t + 3s).log); // a kept its window
    REQUIRE(l.note("b", t + 4s).log);       // b starts afresh
}

TEST_CASE("log_limiter: a count falls due when the window ends, without another line") {
    log_limiter l(2, 60s);
    auto t = log_limiter::clock::time_point{} + 1000s;
    REQUIRE(l.next_due() == log_limiter::clock::time_point::max());
    REQUIRE(l.note("x", t).log);
    REQUIRE(l.note("x", t + 1s).log);
    auto first_drop = l.note("x", t + 2s);
    REQUIRE_FALSE(first_drop.log);
    REQUIRE(first_drop.report_at == t + 60s);
    REQUIRE(l.note("x", t + 3s).report_at == log_limiter::clock::time_point::max());
    REQUIRE_FALSE(l.note("x", t + 4s).log);
    REQUIRE(l.next_due() == t + 60s);
    REQUIRE(l.due(t + 59s).empty());
    auto due = l.due(t + 60s);
    REQUIRE(due.size() == 1);
    REQUIRE(due[0].key == "x");
    REQUIRE(due[0].suppressed == 3);
    REQUIRE(l.due(t + 200s).empty()); // reported once
    REQUIRE(l.next_due() == log_limiter::clock::time_point::max());
    auto next = l.note("x", t + 61s); // a new window, nothing left to report
    REQUIRE(next.log);
    REQUIRE(next.suppressed == 0);
}

TEST_CASE("log_limiter: the drops of an evicted key are still reported") {
    log_limiter l(1, 60s, 1);
    auto t = log_limiter::clock::time_point{} + 1000s;
    REQUIRE(l.note("a", t).log);
    REQUIRE_FALSE(l.note("a", t + 1s).log);
    auto evicting = l.note("b", t + 2s); // evicts a and its drop
    REQUIRE(evicting.log);
    REQUIRE(evicting.report_at == t + 2s); // the caller's timer must fire now
    REQUIRE(l.next_due() == t + 2s);
    auto due = l.due(t + 2s);
    REQUIRE(due.size() == 1);
    REQUIRE(due[0].key.empty());
    REQUIRE(due[0].suppressed == 1);
}
