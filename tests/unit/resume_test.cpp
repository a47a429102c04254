// Unit tests for sender/resume: where a sender picks up after the handshake.
#include <catch2/catch.hpp>

#include "sender/resume.hpp"

using namespace adist::sender;

namespace {
const std::string a_done = "20240101000000.20240101010000";
const std::string b_nt = "20240101010000.not_terminated";
const std::string b_done = "20240101010000.20240101020000";
const std::string c_nt = "20240101020000.not_terminated";
} // namespace

TEST_CASE("nothing on the receiver: send everything in order") {
    auto p = plan_resume({a_done, b_nt}, "");
    REQUIRE(p.older.empty());
    REQUIRE_FALSE(p.continuation);
    REQUIRE(p.pending == std::vector<std::string>{a_done, b_nt});
}

TEST_CASE("files older than the receiver's newest are set apart, never sent") {
    auto p = plan_resume({a_done, b_nt, c_nt}, b_nt);
    REQUIRE(p.older == std::vector<std::string>{a_done});
    REQUIRE(p.continuation == b_nt);
    REQUIRE(p.pending == std::vector<std::string>{c_nt});
}

TEST_CASE("a file renamed while disconnected continues under its new name") {
    auto p = plan_resume({b_done}, b_nt);
    REQUIRE(p.continuation == b_done);
    REQUIRE(p.pending.empty());
}

TEST_CASE("the receiver's newest is gone locally: only newer files are sent") {
    auto p = plan_resume({a_done, c_nt}, b_done);
    REQUIRE(p.older == std::vector<std::string>{a_done});
    REQUIRE_FALSE(p.continuation);
    REQUIRE(p.pending == std::vector<std::string>{c_nt});
}

TEST_CASE("the same trail in a form the receiver cannot continue is a conflict") {
    auto p = plan_resume({b_nt}, b_done);
    REQUIRE(p.conflicts == std::vector<std::string>{b_nt});
    REQUIRE_FALSE(p.continuation);
}

TEST_CASE("next_trail skips names of trails already done") {
    REQUIRE(next_trail({a_done, b_nt, c_nt}, "") == a_done);
    REQUIRE(next_trail({a_done, b_nt, c_nt}, a_done) == b_nt);
    REQUIRE(next_trail({a_done, b_done, c_nt}, b_nt) == c_nt); // b renamed: same trail
    REQUIRE_FALSE(next_trail({a_done}, c_nt));
}

TEST_CASE("older_trails: trails before the last one sent, not the same trail renamed") {
    REQUIRE(older_trails({a_done, b_nt, c_nt}, "").empty());
    REQUIRE(older_trails({a_done, b_nt, c_nt}, b_done) == std::vector<std::string>{a_done});
    REQUIRE(older_trails({a_done, b_done, c_nt}, c_nt) == std::vector<std::string>{a_done, b_done});
    REQUIRE(older_trails({b_nt}, b_done).empty());
}

TEST_CASE("an unopenable trail is retried with doubling delays, then given up") {
    using std::chrono::milliseconds;
    REQUIRE_FALSE(open_retry_delay(0));
    REQUIRE(open_retry_delay(1) == milliseconds(1000));
    REQUIRE(open_retry_delay(2) == milliseconds(2000));
    REQUIRE(open_retry_delay(5) == milliseconds(16000));
    REQUIRE_FALSE(open_retry_delay(6));
    REQUIRE_FALSE(open_retry_delay(1000));
    milliseconds total{0};
    for (unsigned f = 1; auto d = open_retry_delay(f); ++f) total += *d;
    REQUIRE(total == milliseconds(31000)); // the grace period docs/faults.md states
}
