// Byte helpers of the sudo session records: CRC-32 (the checksum each
// record ends with) and base64 (how I/O bytes sit in a JSON line). Pure;
// used by the collector's encoder and by `auditdistd sudo-extract`.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace adist::collector {

// CRC-32 of `s` (IEEE 802.3: reflected polynomial 0xEDB88320, as zlib's crc32).
std::uint32_t crc32(std::string_view s);

// Standard base64 (RFC 4648, '+' '/', padded), appended to `out` or returned.
void append_base64(std::string& out, std::string_view bytes);
std::string base64_encode(std::string_view bytes);
// The bytes, or nullopt when `text` is not padded base64.
std::optional<std::string> base64_decode(std::string_view text);

// The checksum field that ends every sudo record: `,"crc32":"xxxxxxxx"`,
// the CRC-32 of every byte of the line before it.
inline constexpr std::string_view crc_field = ",\"crc32\":\"";
// Appends the field and "}\n" to a record line.
void seal_record(std::string& line);
// Whether a line (without its newline) ends with a crc32 field matching the
// bytes before it.
bool record_sealed(std::string_view line);

} // namespace adist::collector
