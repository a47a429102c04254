// Unit tests for the collector section of auditdistd.conf (common/config_collector.cpp):
// defaults, every statement, and file:line errors.
#include "common/config.hpp"
#include "common/reload.hpp"

#include <catch2/catch.hpp>

using namespace adist::common;

namespace {
config_result parse(const std::string& text) {
    return parse_config(text, "t.conf", "me");
}
std::string error_of(const std::string& text) {
    auto r = parse(text);
    REQUIRE(std::holds_alternative<config_error>(r));
    return std::get<config_error>(r).to_string();
}
} // namespace

TEST_CASE("collector: defaults, dist under the directory") {
    auto r = parse("collector {\n}\n");
    REQUIRE(std::holds_alternative<config>(r));
    const auto& c = std::get<config>(r).collector;
    REQUIRE(c);
    CHECK(c->socket == "/run/auditdistd/collect.sock");
    CHECK(c->directory == "/var/audit/commands");
    CHECK(c->dist == "/var/audit/commands/dist");
    CHECK(c->rotate == collector_rotate::daily);
    CHECK(c->sync_records == 100);
    CHECK(c->sync_interval == 1);
    CHECK(c->heartbeat == 3600);
    CHECK(c->on_tamper == collector_tamper::continue_new_file);
    CHECK(c->replicate == collector_replicate::none);
    CHECK(c->line == 1);
    CHECK_FALSE(std::get<config>(parse("name a\n")).collector);
}

TEST_CASE("collector: every statement") {
    auto r =
        parse("collector {\n socket \"/run/x.sock\"\n directory /srv/cmd/\n dist /srv/dist\n"
              " rotate size 1M\n sync_records 10\n sync_interval 2\n heartbeat 60\n"
              " on_tamper abort\n replicate journal\n rate_limit 7\n max_record_size 4096\n}\n");
    REQUIRE(std::holds_alternative<config>(r));
    const auto& c = *std::get<config>(r).collector;
    CHECK(c.socket == "/run/x.sock");
    CHECK(c.directory == "/srv/cmd");
    CHECK(c.dist == "/srv/dist");
    CHECK(c.rotate == collector_rotate::size);
    CHECK(c.rotate_size == 1048576);
    CHECK(c.sync_records == 10);
    CHECK(c.sync_interval == 2);
    CHECK(c.heartbeat == 60);
    CHECK(c.on_tamper == collector_tamper::abort);
    CHECK(c.replicate == collector_replicate::journal);
    CHECK(c.rate_limit == 7);
    CHECK(c.max_record_size == 4096);
    // The dist default follows a directory given after it is read.
    CHECK(std::get<config>(parse("collector { directory /a }")).collector->dist == "/a/dist");
}

TEST_CASE("collector: errors name their line") {
    CHECK(error_of("collector {\n\n bogus 1\n}") ==
          "t.conf:3: \"bogus\" is not allowed in the collector section");
    CHECK(error_of("collector {\n socket relative\n}") ==
          "t.conf:2: socket must be an absolute path");
    CHECK(error_of("collector {\n rotate weekly\n}") ==
          "t.conf:2: rotate must be \"daily\" or \"size N\"");
    CHECK(error_of("collector {\n rotate size 10\n}").starts_with("t.conf:2: rotate size must be"));
    CHECK(error_of("collector {\n sync_records 0\n}") ==
          "t.conf:2: sync_records must be a number of records from 1 to 1000000");
    CHECK(error_of("collector {\n heartbeat x\n}").starts_with("t.conf:2: heartbeat must be"));
    CHECK(error_of("collector {\n on_tamper ignore\n}") ==
          "t.conf:2: on_tamper must be \"continue\" or \"abort\"");
    CHECK(error_of("collector {\n replicate kafka\n}").starts_with("t.conf:2: replicate must be"));
    CHECK(error_of("collector {\n max_record_size 10\n}").starts_with("t.conf:2: max_record_size"));
    CHECK(error_of("collector {\n heartbeat 5\n heartbeat 6\n}") ==
          "t.conf:3: \"heartbeat\" is given twice in the collector section");
    CHECK(error_of("collector {\n directory /a/../b\n}") ==
          "t.conf:2: directory must not contain \"..\"");
    CHECK(error_of("collector {\n directory /a\n dist /a\n}") ==
          "t.conf:1: collector: dist must be another directory than directory");
    CHECK(error_of("collector {\n}\ncollector {\n}") ==
          "t.conf:3: \"collector\" is given twice in the global section");
    CHECK(error_of("collector {\n sync_records 5\n") ==
          "t.conf:1: collector section is not closed (missing \"}\")");
    CHECK(error_of("sender {\n socket /x\n}").starts_with("t.conf:2:"));
}

TEST_CASE("collector: a reload may change policies, not the socket or directories") {
    auto base = std::get<config>(parse("collector {\n directory /a\n}\n"));
    auto same =
        std::get<config>(parse("collector {\n directory /a\n rate_limit 9\n heartbeat 5\n}\n"));
    CHECK(plan_reload(base, same).needs_restart.empty());
    CHECK(plan_reload(base, same).sections_changed == std::vector<std::string>{"collector"});
    CHECK(plan_reload(base, same).summary() == "sections changed: collector");
    // The same settings further down the file change nothing.
    auto lower = std::get<config>(parse("name a\n\ncollector {\n directory /a\n}\n"));
    CHECK(plan_reload(base, lower).sections_changed.empty());
    auto sudo = std::get<config>(parse("sudo {\n directory /s\n}\n"));
    auto sudo_rotated = std::get<config>(parse("sudo {\n directory /s\n rotate size 16K\n}\n"));
    CHECK(plan_reload(sudo, sudo_rotated).sections_changed == std::vector<std::string>{"sudo"});
    CHECK(!plan_reload(sudo, sudo_rotated).empty());
    auto moved = std::get<config>(parse("collector {\n directory /b\n}\n"));
    CHECK(plan_reload(base, moved).needs_restart ==
          std::vector<std::string>{"the collector's socket, directory, dist or user"});
    auto none = std::get<config>(parse("name a\n"));
    CHECK(plan_reload(base, none).needs_restart ==
          std::vector<std::string>{"the collector section removed"});
    CHECK(plan_reload(none, base).needs_restart ==
          std::vector<std::string>{"a collector section added"});
}
