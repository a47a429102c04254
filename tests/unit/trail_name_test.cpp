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

TEST_CASE("a trail's start is what all its names share") {
    REQUIRE(trail_start("20240101000000.not_terminated") == "20240101000000.");
    REQUIRE(trail_start("20240101000000.20240101010000") ==
            trail_start("20240101000000.crash_recovery"));
    // Trails compare in the order they started, whatever their ends.
    REQUIRE(trail_start("20240101000000.20240102000000") <
            trail_start("20240101000001.20240101000001"));
    REQUIRE(trail_start("short") == "short"); // never past the end
}

TEST_CASE("trail names must carry real UTC times") {
    for (const char* bad :
         {"20261399999999.not_terminated", "20261301000000.not_terminated", // month 13
          "20260001000000.not_terminated", "20260100000000.not_terminated", // month 0, day 0
          "20260132000000.not_terminated", "20260431000000.not_terminated", // Jan 32, Apr 31
          "20230229000000.not_terminated", "21000229000000.crash_recovery", // not leap years
          "20260101240000.not_terminated", "20260101006000.not_terminated", // hour 24, min 60
          "20260101000060.not_terminated", "19691231235959.not_terminated", // sec 60, pre-1970
          "20260101000000.20261399999999", "20260101000000.20251231235959", // bad end, end < start
          "99999999999999.99999999999999"}) {
        INFO(bad);
        REQUIRE(classify_trail_name(bad) == trail_kind::invalid);
    }
    for (const char* good : {"20240229235959.not_terminated", "20000229000000.crash_recovery",
                             "19700101000000.19700101000000", "99991231235959.not_terminated",
                             "20261231235959.20270101000000"}) {
        INFO(good);
        REQUIRE(classify_trail_name(good) != trail_kind::invalid);
    }
}

TEST_CASE("trail start times are seconds since the epoch") {
    REQUIRE(parse_trail_time("19700101000000") == 0);
    REQUIRE(parse_trail_time("20000301000000") == 951868800);
    REQUIRE(parse_trail_time("20240229235959") == 1709251199);
    REQUIRE(parse_trail_time("20261204152206") == 1796397726);
    REQUIRE(parse_trail_time("99991231235959") == 253402300799);
    REQUIRE_FALSE(parse_trail_time("2026120415220").has_value());
    REQUIRE(trail_start_time("20240101000000.20240101010000") == 1704067200);
    REQUIRE_FALSE(trail_start_time("20241301000000.not_terminated").has_value());
}
