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

#include "proto/fingerprint.hpp"
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
    bad_head_reply,     // a HEAD reply's presence byte or padding (head_frame.hpp)
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
// In protocol `version` 1 a CLOSE carries the name, then close_digest_size
// bytes (see encode_close), and HEAD (no payload) exists.
request_result decode_request(std::span<const std::byte> in, int version = 0);

// Decodes one 11-byte reply from the front of `in` (digest_mismatch only in
// version 1).
reply_result decode_reply(std::span<const std::byte> in, int version = 0);

// Version 1: what a CLOSE says the whole file is, for the receiver to compare
// with what it stored: the size (8 bytes, little endian) and the SHA-256.
struct file_digest {
    std::uint64_t size = 0;
    sha256_digest sha256{};
    bool operator==(const file_digest&) const = default;
};
inline constexpr std::size_t close_digest_size = 8 + 32;

// Appends a version 1 CLOSE: name + NUL + the file's size and SHA-256.
void encode_close(std::vector<std::byte>& out, std::uint64_t seq, std::string_view name,
                  const file_digest& digest);

// The digest of a version 1 CLOSE that decode_request(..., 1) accepted.
file_digest payload_digest(const request& r);

// Appends a little-endian request header for a payload of `payload_size`
// bytes to `out` (the caller appends the payload itself).
void encode_request_header(std::vector<std::byte>& out, command cmd, std::uint64_t seq,
                           std::uint32_t payload_size);

// Appends a whole OPEN/CLOSE request carrying `name` + NUL.
void encode_name_request(std::vector<std::byte>& out, command cmd, std::uint64_t seq,
                         std::string_view name);

// Appends an 11-byte little-endian reply.
void encode_reply(std::vector<std::byte>& out, const reply& r);

// The name carried by an OPEN/CLOSE request (without the terminating NUL;
// a version 1 CLOSE's digest is not part of it).
std::string_view payload_name(const request& r);

} // namespace adist::proto
