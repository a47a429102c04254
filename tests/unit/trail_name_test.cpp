// Unit tests for proto/trail_name: all 29 characters are checked.
#include <catch2/catch.hpp>

#include "proto/trail_name.hpp"

using namespace adist::proto;

TEST_CASE("valid trail names and their kinds") {
    REQUIRE(classify_trail_name("20240101000000.20240101010000") == trail_kind::terminated);
    REQUIRE(classify_trail_name("20240101000000.not_terminated") == trail_kind::not_terminated);
    REQUIRE(classify_trail_name("20240101000000.crash_recovery") == trail_kind::crash_recovery);
}

TEST_CASE("invalid trail names, including the two characters FreeBSD forgets") {
    for (const char* bad : {"", "20240101000000", "20240101000000.2024010101000",
                            "20240101000000.202401010100000", "2024010100000a.20240101010000",
                            "20240101000000-20240101010000", "20240101000000.not_terminatex",
                            "20240101000000.not_terminat/x", "20240101000000.20240101010/x",
                            "20240101000000.crash_recoverx", "../../../../etc/passwd.0000000",
                            "20240101000000.2024010101000 "}) {
        INFO(bad);
        REQUIRE(classify_trail_name(bad) == trail_kind::invalid);
    }
}

TEST_CASE("same trail and valid renames") {
    REQUIRE(same_trail("20240101000000.not_terminated", "20240101000000.20240101010000"));
    REQUIRE_FALSE(same_trail("20240101000000.not_terminated", "20240101000001.not_terminated"));
    REQUIRE(is_valid_rename("20240101000000.not_terminated", "20240101000000.20240101010000"));
    REQUIRE(is_valid_rename("20240101000000.not_terminated", "20240101000000.crash_recovery"));
    REQUIRE_FALSE(is_valid_rename("20240101000000.20240101010000", "20240101000000.20240101020000"));
    REQUIRE_FALSE(is_valid_rename("20240101000000.not_terminated", "20240101000001.20240101010000"));
    REQUIRE_FALSE(is_valid_rename("20240101000000.crash_recovery", "20240101000000.20240101010000"));
    REQUIRE_FALSE(is_valid_rename("20240101000000.not_terminated", "20240101000000.not_terminated"));
}
