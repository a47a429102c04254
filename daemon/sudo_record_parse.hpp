// One line of the sudo stream, parsed (Boost.JSON) and its CRC-32 checked:
// the record, its I/O bytes and, for an open, the session's start. Used by
// `auditdistd sudo-extract` (sudo_extract.cpp).
#pragma once

#include "daemon/sudo_iolog.hpp"

#include <string>
#include <string_view>
#include <variant>

namespace adist::daemon {

struct parsed_record {
    extract_record r;
    std::string bytes;      // io: the decoded data
    bool withheld = false;  // io: echo was off, no bytes
    iolog_info open;        // open
    std::uint64_t lines = 0, cols = 0, signal = 0; // winsize, suspend
    std::int64_t exit_status = 0, error = 0;       // close
    std::string text;       // lost: reason; tamper: problem
};

// The record on `line` (without its newline), or why it cannot be used.
std::variant<parsed_record, std::string> parse_sudo_record(std::string_view line);

} // namespace adist::daemon
