// Data-phase frame codec: sender requests (14-byte header + payload) and
// receiver replies (11 bytes). Sans-I/O: decode() takes the bytes received so
// far and returns a frame with the bytes consumed, a need-more count or an error.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "proto/wire.hpp"

namespace adist::proto {

struct request {
    command cmd = command::keepalive;
    std::uint64_t seq = 0;
    std::span<const std::byte> payload; // points into the caller's buffer
};

struct reply {
    std::uint64_t seq = 0;
    reply_error error = reply_error::ok;
};

// The decoder needs at least `bytes` bytes in total to make progress.
struct need_more {
    std::size_t bytes = 0;
};

enum class decode_error {
    bad_byte_order,
    unknown_command,
    payload_too_large,
    empty_payload,      // OPEN/APPEND/CLOSE without payload
    unexpected_payload, // KEEPALIVE/ERROR with payload
    bad_name,           // OPEN/CLOSE payload not "name\0" with a single NUL
    unknown_error_code,
};
std::string_view to_string(decode_error e);

template <typename Frame> struct decoded {
    Frame frame;
    std::size_t consumed = 0;
};

using request_result = std::variant<decoded<request>, need_more, decode_error>;
using reply_result = std::variant<decoded<reply>, need_more, decode_error>;

// Decodes one request from the front of `in`. Accepts both byte orders.
// OPEN/CLOSE payloads are checked to be a NUL-terminated string without an
// embedded NUL; trail-name validity is the receiver's decision, not the codec's.
request_result decode_request(std::span<const std::byte> in);

// Decodes one 11-byte reply from the front of `in`.
reply_result decode_reply(std::span<const std::byte> in);

// Appends a little-endian request header for a payload of `payload_size`
// bytes to `out` (the caller appends the payload itself).
void encode_request_header(std::vector<std::byte>& out, command cmd, std::uint64_t seq,
                           std::uint32_t payload_size);

// Appends a whole OPEN/CLOSE request carrying `name` + NUL.
void encode_name_request(std::vector<std::byte>& out, command cmd, std::uint64_t seq,
                         std::string_view name);

// Appends an 11-byte little-endian reply.
void encode_reply(std::vector<std::byte>& out, const reply& r);

// The name carried by an OPEN/CLOSE request (without the terminating NUL).
std::string_view payload_name(const request& r);

} // namespace adist::proto
