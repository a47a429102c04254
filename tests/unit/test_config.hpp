// Shared by the unit tests that need a parsed configuration: a valid pinned
// fingerprint and parse-or-fail.
#pragma once

#include <catch2/catch.hpp>
#include <string>

#include "common/config.hpp"

namespace adist::test {

inline const std::string fp =
    "SHA256=8F:0A:FC:8A:3D:09:80:AF:D9:AA:38:CC:8A:86:53:E6:8F:B6:1C:55:30:14:"
    "D7:F9:AA:8B:3E:73:CD:F5:76:2B";

// Parses `text` (default name "myhost"); fails the test with the error.
inline common::config parse(const std::string& text) {
    auto result = common::parse_config(text, "test.conf", "myhost");
    if (auto* e = std::get_if<common::config_error>(&result)) FAIL(e->to_string());
    return std::get<common::config>(result);
}

} // namespace adist::test
