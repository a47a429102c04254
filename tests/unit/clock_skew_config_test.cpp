// Unit tests for the receiver's `max_clock_skew` statement (common/config):
// its default, accepted range, and errors with their line.
#include "common/config.hpp"

#include <catch2/catch.hpp>

using namespace adist::common;

namespace {
config_result parse_receiver(const std::string& statement) {
    return parse_config("receiver {\n" + statement +
                            "\n host web1 {\n  remote 192.0.2.1\n"
                            "  password pw\n }\n}\n",
                        "test.conf", "myhost");
}
} // namespace

TEST_CASE("max_clock_skew: default one day, 0 to ten years") {
    auto plain = parse_receiver("");
    REQUIRE(std::holds_alternative<config>(plain));
    REQUIRE(std::get<config>(plain).max_clock_skew == 86400);
    for (auto [text, value] :
         {std::pair{"0", 0L}, {"3600", 3600L}, {"\"315360000\"", 315360000L}}) {
        INFO(text);
        auto r = parse_receiver(std::string(" max_clock_skew ") + text);
        REQUIRE(std::holds_alternative<config>(r));
        REQUIRE(std::get<config>(r).max_clock_skew == value);
    }
}

TEST_CASE("max_clock_skew: errors name the line") {
    for (auto text : {"-1", "315360001", "1e3", "abc", "9999999999", "\"\""}) {
        INFO(text);
        auto r = parse_receiver(std::string(" max_clock_skew ") + text);
        REQUIRE(std::holds_alternative<config_error>(r));
        auto e = std::get<config_error>(r);
        REQUIRE(e.line == 2);
        REQUIRE(e.message == "max_clock_skew must be a number of seconds from 0 to 315360000");
    }
    // Only in the receiver section.
    auto global = parse_config("max_clock_skew 60\n", "test.conf", "myhost");
    REQUIRE(std::holds_alternative<config_error>(global));
    auto sender = parse_config("sender {\n max_clock_skew 60\n}\n", "test.conf", "myhost");
    REQUIRE(std::holds_alternative<config_error>(sender));
    REQUIRE(std::get<config_error>(sender).line == 2);
}
