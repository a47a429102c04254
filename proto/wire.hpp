// Protocol constants and message types shared by both roles: version 0 is
// FreeBSD auditdistd's wire format, version 1 ours on top of it (see
// docs/protocol.md). Pure data.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace adist::proto {

inline constexpr int protocol_version = 0;     // FreeBSD's, the lowest we speak
inline constexpr int max_protocol_version = 1; // what we offer and answer
inline constexpr std::size_t welcome_size = 8;     // "ADIST00\0"
inline constexpr std::size_t name_field_size = 256; // NUL padded
inline constexpr std::size_t challenge_size = 32;
inline constexpr std::size_t hmac_size = 32;
inline constexpr std::size_t request_header_size = 14;
inline constexpr std::size_t reply_size = 11;
inline constexpr std::uint32_t max_payload = 65536;

enum class byte_order : std::uint8_t { little = 1, big = 2 };

enum class command : std::uint8_t {
    open = 1,
    append = 2,
    close = 3,
    keepalive = 4,
    error = 5,
    // Version 1 only: the newest signed ledger head (proto/head_frame.hpp).
    head = 6,
};

// Reply error codes (ADIST_ERROR_* in FreeBSD).
enum class reply_error : std::uint16_t {
    ok = 0,
    wrong_order = 1,
    invalid_name = 2,
    open_old = 3,
    create = 4,
    open = 5,
    read = 6,
    write = 7,
    rename = 8,
    // Version 1 only: the CLOSE's size or SHA-256 differs from what is stored.
    digest_mismatch = 9,
};

std::string_view to_string(command c);
std::string_view to_string(reply_error e);

} // namespace adist::proto
