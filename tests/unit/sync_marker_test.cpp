// Unit tests for receiver/sync_marker: the marker's line round-trips, odd
// contents are refused, and its name can never be a trail name.
#include "proto/trail_name.hpp"
#include "receiver/sync_marker.hpp"

#include <catch2/catch.hpp>

using namespace adist::receiver;

TEST_CASE("sync marker lines round-trip") {
    sync_marker m{"20261204150000.not_terminated", 1048576};
    auto text = encode_sync_marker(m);
    REQUIRE(text == "20261204150000.not_terminated 1048576\n");
    REQUIRE(text.size() < 60); // fits in an ext4 inode with inline data
    auto back = parse_sync_marker(text);
    REQUIRE(back);
    REQUIRE(back->trail == m.trail);
    REQUIRE(back->synced == m.synced);
    auto unknown = parse_sync_marker(encode_sync_marker({"20261204150000.not_terminated", {}}));
    REQUIRE(unknown);
    REQUIRE_FALSE(unknown->synced);
    REQUIRE(describe(m) == "20261204150000.not_terminated: 1048576 bytes known synced");
}

TEST_CASE("sync marker parsing refuses what it did not write") {
    for (auto bad : {"", "20261204150000.not_terminated 12", "x 12x\n", " 12\n", "x -1\n",
                     "x 99999999999999999999999\n", "x \n"}) {
        INFO(bad);
        REQUIRE_FALSE(parse_sync_marker(bad));
    }
}

TEST_CASE("the sync marker's name is never a trail name") {
    REQUIRE_FALSE(adist::proto::is_valid_trail_name(sync_marker_name));
}
