// Unit tests for the `status_group` statement: parsed in the global section
// only, resolved by load_config (an unknown group is an error at its line).
#include "common/config.hpp"

#include <catch2/catch.hpp>
#include <cstdio>
#include <fstream>
#include <unistd.h>

using namespace adist::common;

namespace {
config_result parse(const std::string& text) {
    return parse_config(text, "t.conf", "me");
}

// Writes `text` to a temporary file and loads it; the file is removed.
config_result load(const std::string& text, std::string& path_out) {
    char path[] = "/tmp/adist_status_group_test_XXXXXX";
    int fd = mkstemp(path);
    REQUIRE(fd >= 0);
    close(fd);
    std::ofstream(path) << text;
    auto result = load_config(path);
    std::remove(path);
    path_out = path;
    return result;
}
} // namespace

TEST_CASE("status_group: parsed with its line, not looked up by the parser") {
    auto result = parse("name a\nstatus_group \"no-such-group-adist\"\n");
    REQUIRE(std::holds_alternative<config>(result));
    const auto& cfg = std::get<config>(result);
    CHECK(cfg.status_group == "no-such-group-adist");
    CHECK(cfg.status_group_line == 2);
    CHECK_FALSE(cfg.status_gid);
    CHECK(std::get<config>(parse("name a\n")).status_group.empty());
}

TEST_CASE("status_group: empty, repeated or inside a section is an error") {
    auto e = std::get<config_error>(parse("status_group \"\"\n"));
    CHECK(e.to_string() == "t.conf:1: status_group is empty");
    e = std::get<config_error>(parse("status_group a\nstatus_group b\n"));
    CHECK(e.line == 2);
    e = std::get<config_error>(parse("sender {\n status_group a\n}\n"));
    CHECK(e.to_string() == "t.conf:2: \"status_group\" is not allowed in the sender section");
}

TEST_CASE("status_group: load_config resolves the group, an unknown one is file:line") {
    std::string path;
    auto result = load("name a\nstatus_group root\n", path);
    REQUIRE(std::holds_alternative<config>(result));
    REQUIRE(std::get<config>(result).status_gid == 0u);
    result = load("name a\n\nstatus_group \"no-such-group-adist\"\n", path);
    REQUIRE(std::holds_alternative<config_error>(result));
    CHECK(std::get<config_error>(result).to_string() ==
          path + ":3: status_group: no group named \"no-such-group-adist\"");
}
