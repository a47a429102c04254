// log::printable and log::exception_text: what a log line may say of a
// peer's string or of an exception.
#include "common/log.hpp"

#include <catch2/catch.hpp>
#include <stdexcept>

using namespace adist;

TEST_CASE("log::exception_text: what(), or a plain word for what is not a std::exception") {
    CHECK(log::exception_text(std::make_exception_ptr(std::runtime_error("disk on fire"))) ==
          "disk on fire");
    CHECK(log::exception_text(std::make_exception_ptr(std::bad_alloc())) ==
          std::bad_alloc().what());
    // A thrown int must not escape: the callers are completion handlers
    // whose escape would stop the event loop.
    CHECK(log::exception_text(std::make_exception_ptr(42)) == "unknown exception");
    CHECK(log::exception_text(nullptr) == "no exception");
}

TEST_CASE("log::printable: control bytes and backslashes escaped, long strings cut") {
    CHECK(log::printable("web1") == "web1");
    CHECK(log::printable(std::string_view("a\nb\\c\x01", 6)) == "a\\x0ab\\x5cc\\x01");
    CHECK(log::printable(std::string(70, 'x'), 64) == std::string(64, 'x') + "...");
}
