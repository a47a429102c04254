// sender::repeat_log: a lasting condition is logged the first time, then
// once per period, per key; bounded.
#include <catch2/catch.hpp>

#include "sender/repeat_log.hpp"

using adist::sender::repeat_log;
using namespace std::chrono_literals;

TEST_CASE("repeat_log: first time, then once per period", "[repeat_log]") {
    repeat_log r(600s);
    repeat_log::time_point t0{1000s};
    CHECK(r.due("older:A", t0));
    CHECK_FALSE(r.due("older:A", t0));
    CHECK_FALSE(r.due("older:A", t0 + 599s));
    CHECK(r.next("older:A") == t0 + 600s);
    CHECK(r.due("older:A", t0 + 600s));
    CHECK_FALSE(r.due("older:A", t0 + 601s));
    CHECK(r.next("older:A") == t0 + 1200s);
}

TEST_CASE("repeat_log: keys are independent, and a forgotten key is due again", "[repeat_log]") {
    repeat_log r(10s);
    repeat_log::time_point t0{5s};
    CHECK(r.due("a", t0));
    CHECK(r.due("b", t0 + 1s));
    CHECK_FALSE(r.due("a", t0 + 2s));
    CHECK_FALSE(r.next("c"));
    r.forget("a");
    CHECK(r.due("a", t0 + 3s));
}

TEST_CASE("repeat_log: bounded, evicting the entry due longest ago", "[repeat_log]") {
    repeat_log r(100s);
    repeat_log::time_point t0{0s};
    for (std::size_t i = 0; i < repeat_log::max_entries; ++i) {
        CHECK(r.due("k" + std::to_string(i), t0 + std::chrono::seconds(i)));
    }
    CHECK(r.due("new", t0 + 2000s)); // full: k0 goes
    CHECK_FALSE(r.next("k0"));
    CHECK(r.next("k1"));
    CHECK_FALSE(r.due("k1", t0 + 50s));
}

TEST_CASE("repeat_log: keeps the latest reason given", "[repeat_log]") {
    repeat_log r(10s);
    repeat_log::time_point t0{0s};
    CHECK(r.why("x") == nullptr);
    CHECK(r.due("x", t0));
    CHECK(r.why("x") == nullptr);
    CHECK_FALSE(r.due("x", t0 + 1s, "not a regular file"));
    REQUIRE(r.why("x") != nullptr);
    CHECK(*r.why("x") == "not a regular file");
}
