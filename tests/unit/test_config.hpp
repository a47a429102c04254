// Shared by the unit tests that need a parsed configuration: a valid pinned
// fingerprint and parse-or-fail.
#pragma once

#include "common/config.hpp"

#include <catch2/catch.hpp>
#include <string>

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

// The error `text` is refused with; fails the test when it is accepted.
inline common::config_error parse_error(const std::string& text) {
    auto result = common::parse_config(text, "test.conf", "myhost");
    auto* e = std::get_if<common::config_error>(&result);
    if (e == nullptr) FAIL("accepted:\n" << text);
    return *e;
}

// A sender `host` block with a remote, the pinned fingerprint, a password
// and `extra` statements.
inline std::string sender_host(const std::string& name, const std::string& extra = "") {
    return " host " + name + " {\n  remote tls://10.0.0.1\n  fingerprint " + fp +
           "\n  password p\n" + extra + " }\n";
}

} // namespace adist::test
