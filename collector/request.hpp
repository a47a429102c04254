// What `auditdistd log` sends the collector and what it answers: a 8-byte
// header ("ADL1", payload length) and tagged fields, then one reply byte.
// Pure codec, shared by the client (daemon/log_client.cpp) and the server
// (collector/server.cpp); the sudo I/O plugin would use new tags.
#pragma once

#include "collector/record.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace adist::collector {

inline constexpr std::size_t request_header_size = 8;
inline constexpr std::uint32_t max_request_payload = 1u << 20; // the client cuts longer commands

enum class field_tag : std::uint8_t {
    command = 1,
    ssh_tty = 2,
    ssh_connection = 3,
    pwd = 4,
    command_length = 5, // 8 bytes: the command's length before the client cut it
};

// The reply byte.
enum class reply : char {
    written = 'W',    // in the file (write() returned), not yet necessarily synced
    suppressed = 'S', // over the uid's rate limit: counted in a suppressed record
    failed = 'F',     // the collector could not write it
};

// The whole request for `c` (command cut to fit max_request_payload).
std::string encode_request(const claimed_info& c);

// What a request carries, from its header's magic: "ADL1" a command line.
// A second kind of record (the sudo I/O plugin) adds a magic and a value
// here, its fields to field_tag and a handler to collector_role::serve().
enum class request_kind { command };

struct request_header {
    request_kind kind;
    std::uint32_t length; // of the payload
};

// The kind and payload length of a header, or nullopt (unknown magic, too long).
std::optional<request_header> decode_request_header(std::string_view header);

// The fields of a payload, or nullopt (truncated field, unknown tag, no
// command). `max_command` cuts the command and marks it truncated. `cut`:
// the payload is only the start of a longer one (the server reads no more
// than it keeps), so the command field may end early.
std::optional<claimed_info> decode_request(std::string_view payload, std::size_t max_command,
                                           bool cut = false);

// The claimed fields other than the command (ssh_tty, ssh_connection, pwd)
// are kept up to this many bytes each: our client cuts them there, and the
// server cuts what another client sends (marked `truncated`).
inline constexpr std::size_t max_claimed_field = 1024;

// How much of a payload the server reads for a command kept up to
// `max_command` bytes (the other fields are cut at 1 KiB each by the client).
inline std::size_t kept_payload(std::size_t max_command) {
    return max_command + 4096 + 64;
}

} // namespace adist::collector
