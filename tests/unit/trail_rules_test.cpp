// Unit tests for receiver/trail_rules: every receiver rule, case by case.
#include <catch2/catch.hpp>

#include "receiver/trail_rules.hpp"

using namespace adist::receiver;
using adist::proto::reply_error;

namespace {
const std::string nt = "20240101000000.not_terminated";
const std::string done = "20240101000000.20240101010000";
const std::string crash = "20240101000000.crash_recovery";
const std::string newer = "20240102000000.not_terminated";
const std::string older = "20231231000000.20240101000000";
// The receiver's clock in these tests: 2024-01-02 00:00 UTC, one day of skew.
const trail_clock day2{1704153600, 86400};
} // namespace

TEST_CASE("OPEN in an empty directory creates") {
    REQUIRE(decide_open("", nt, day2).action == open_action::create);
}

TEST_CASE("OPEN of the newest reopens it for append") {
    REQUIRE(decide_open(nt, nt, day2).action == open_action::reopen);
    REQUIRE(decide_open(done, done, day2).action == open_action::reopen);
}

TEST_CASE("OPEN of a newer name creates it") {
    REQUIRE(decide_open(nt, newer, day2).action == open_action::create);
    REQUIRE(decide_open(done, newer, day2).action == open_action::create);
}

TEST_CASE("OPEN of an older name is OPEN_OLD") {
    auto d = decide_open(nt, older, day2);
    REQUIRE(d.action == open_action::reject);
    REQUIRE(d.error == reply_error::open_old);
}

TEST_CASE("OPEN of the final name of the open-ended newest renames it") {
    REQUIRE(decide_open(nt, done, day2).action == open_action::rename_then_append);
    REQUIRE(decide_open(nt, crash, day2).action == open_action::rename_then_append);
}

TEST_CASE("the same trail may not be stored under a second name") {
    // X.not_terminated sorts after X.end, so a plain order check would create it.
    auto d = decide_open(done, nt, day2);
    REQUIRE(d.action == open_action::reject);
    REQUIRE(d.error == reply_error::open_old);
    REQUIRE(decide_open(crash, done, day2).action == open_action::reject);
    REQUIRE(decide_open(done, "20240101000000.20240101020000", day2).action == open_action::reject);
}

TEST_CASE("OPEN of an invalid name is INVALID_NAME") {
    for (const char* bad : {"", "x", "../20240101000000.20240101010", "20240101000000.not_terminat/x"}) {
        auto d = decide_open(nt, bad, day2);
        REQUIRE(d.action == open_action::reject);
        REQUIRE(d.error == reply_error::invalid_name);
    }
}

TEST_CASE("APPEND needs an open file") {
    REQUIRE(decide_append({nt, ""}) == reply_error::wrong_order);
    REQUIRE(decide_append({nt, nt}) == reply_error::ok);
}

TEST_CASE("CLOSE rules") {
    REQUIRE(decide_close({nt, ""}, nt).error == reply_error::wrong_order);
    REQUIRE(decide_close({nt, nt}, nt).action == close_action::close);
    REQUIRE(decide_close({nt, nt}, done).action == close_action::rename_then_close);
    REQUIRE(decide_close({nt, nt}, crash).action == close_action::rename_then_close);
    REQUIRE(decide_close({done, done}, "20240101000000.20240101020000").error == reply_error::rename);
    REQUIRE(decide_close({nt, nt}, newer).error == reply_error::rename);
    REQUIRE(decide_close({nt, nt}, "bogus").error == reply_error::invalid_name);
}

TEST_CASE("ERROR needs an open file") {
    REQUIRE(decide_error({nt, ""}) == reply_error::wrong_order);
    REQUIRE(decide_error({nt, nt}) == reply_error::ok);
}

TEST_CASE("state after OPEN and CLOSE") {
    auto v = after_open({"", ""}, nt);
    REQUIRE(v.newest == nt);
    REQUIRE(v.open_name == nt);
    v = after_close(v, done);
    REQUIRE(v.newest == done);
    REQUIRE(v.open_name.empty());
}

TEST_CASE("OPEN refuses a trail starting more than the allowed skew after the clock") {
    // 2024-01-03 00:00:00 is exactly one day ahead: allowed; one second more is not.
    REQUIRE(decide_open(done, "20240103000000.not_terminated", day2).action == open_action::create);
    auto late = decide_open(done, "20240103000001.not_terminated", day2);
    REQUIRE(late.action == open_action::reject);
    REQUIRE(late.error == reply_error::invalid_name);
    auto far = decide_open("", "99991231235959.not_terminated", day2);
    REQUIRE(far.action == open_action::reject);
    REQUIRE(far.error == reply_error::invalid_name);
    // The same name is fine once the clock has caught up.
    trail_clock later{day2.now + 86400, 86400};
    REQUIRE(decide_open(done, "20240103000001.not_terminated", later).action == open_action::create);
    // A zero skew allows exactly now and nothing after it.
    trail_clock strict{day2.now, 0};
    REQUIRE(decide_open(done, "20240102000000.not_terminated", strict).action == open_action::create);
    REQUIRE(decide_open(done, "20240102000001.not_terminated", strict).action == open_action::reject);
}

TEST_CASE("OPEN refuses names with impossible times") {
    for (auto name : {"20241399999999.not_terminated", "20240230000000.not_terminated",
                      "20240101000000.20231231000000", "20240101246000.crash_recovery"}) {
        auto d = decide_open(done, name, day2);
        REQUIRE(d.action == open_action::reject);
        REQUIRE(d.error == reply_error::invalid_name);
    }
}

TEST_CASE("starts_too_late only judges valid names") {
    REQUIRE(starts_too_late("99991231235959.not_terminated", day2));
    REQUIRE_FALSE(starts_too_late("20240102000000.not_terminated", day2));
    REQUIRE_FALSE(starts_too_late("99991399999999.not_terminated", day2)); // invalid, not late
    REQUIRE_FALSE(starts_too_late("x", day2));
}
