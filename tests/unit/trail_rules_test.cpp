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
} // namespace

TEST_CASE("OPEN in an empty directory creates") {
    REQUIRE(decide_open("", nt).action == open_action::create);
}

TEST_CASE("OPEN of the newest reopens it for append") {
    REQUIRE(decide_open(nt, nt).action == open_action::reopen);
    REQUIRE(decide_open(done, done).action == open_action::reopen);
}

TEST_CASE("OPEN of a newer name creates it") {
    REQUIRE(decide_open(nt, newer).action == open_action::create);
    REQUIRE(decide_open(done, newer).action == open_action::create);
}

TEST_CASE("OPEN of an older name is OPEN_OLD") {
    auto d = decide_open(nt, older);
    REQUIRE(d.action == open_action::reject);
    REQUIRE(d.error == reply_error::open_old);
}

TEST_CASE("OPEN of the final name of the open-ended newest renames it") {
    REQUIRE(decide_open(nt, done).action == open_action::rename_then_append);
    REQUIRE(decide_open(nt, crash).action == open_action::rename_then_append);
}

TEST_CASE("the same trail may not be stored under a second name") {
    // X.not_terminated sorts after X.end, so a plain order check would create it.
    auto d = decide_open(done, nt);
    REQUIRE(d.action == open_action::reject);
    REQUIRE(d.error == reply_error::open_old);
    REQUIRE(decide_open(crash, done).action == open_action::reject);
    REQUIRE(decide_open(done, "20240101000000.20240101020000").action == open_action::reject);
}

TEST_CASE("OPEN of an invalid name is INVALID_NAME") {
    for (const char* bad : {"", "x", "../20240101000000.20240101010", "20240101000000.not_terminat/x"}) {
        auto d = decide_open(nt, bad);
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
