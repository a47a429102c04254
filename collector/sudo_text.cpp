// CRC-32, base64 and the record seal of sudo session records (sudo_text.hpp). Pure.
// The CRC and the encoding are zlib's and OpenSSL's: both sit on the path
// of every sudo buffer, which waits for its record (a byte-at-a-time CRC
// and encoder cost a 4 KiB buffer about 20 us there).
#include "collector/sudo_text.hpp"

#include <algorithm>
#include <openssl/evp.h>
#include <zlib.h>

namespace adist::collector {
namespace {

int sextet(char c) {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
}

std::string hex8(std::uint32_t v) {
    std::string s(8, '0');
    for (int i = 7; i >= 0; --i, v >>= 4)
        s[std::size_t(i)] = "0123456789abcdef"[v & 0xF];
    return s;
}

} // namespace

std::uint32_t crc32(std::string_view s) {
    return std::uint32_t(::crc32_z(0, reinterpret_cast<const Bytef*>(s.data()), s.size()));
}

void append_base64(std::string& out, std::string_view bytes) {
    // EVP_EncodeBlock takes an int length: whole groups of 3 bytes at a
    // time, 48 KiB at most (only the last chunk may be padded).
    constexpr std::size_t chunk = 3 * 16384;
    std::size_t at = out.size();
    out.resize(at + (bytes.size() + 2) / 3 * 4 + 1);  // + EVP's closing NUL
    for (std::size_t i = 0; i < bytes.size(); i += chunk) {
        std::size_t n = std::min(chunk, bytes.size() - i);
        at += std::size_t(::EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data() + at),
                                            reinterpret_cast<const unsigned char*>(bytes.data() + i),
                                            int(n)));
    }
    out.resize(at);
}

std::string base64_encode(std::string_view bytes) {
    std::string out;
    append_base64(out, bytes);
    return out;
}

std::optional<std::string> base64_decode(std::string_view text) {
    if (text.size() % 4 != 0) return std::nullopt;
    std::string out;
    out.reserve(text.size() / 4 * 3);
    for (std::size_t i = 0; i < text.size(); i += 4) {
        bool last = i + 4 == text.size();
        int pad = last ? (text[i + 3] == '=') + (text[i + 2] == '=' && text[i + 3] == '=') : 0;
        std::uint32_t v = 0;
        for (int k = 0; k < 4; ++k) {
            int s = k >= 4 - pad ? 0 : sextet(text[i + std::size_t(k)]);
            if (s < 0) return std::nullopt;
            v = v << 6 | std::uint32_t(s);
        }
        out += char(v >> 16);
        if (pad < 2) out += char((v >> 8) & 0xFF);
        if (pad < 1) out += char(v & 0xFF);
    }
    return out;
}

void seal_record(std::string& line) {
    std::uint32_t c = crc32(line);
    line += crc_field;
    line += hex8(c);
    line += "\"}\n";
}

bool record_sealed(std::string_view line) {
    // ...,"crc32":"xxxxxxxx"}
    constexpr std::size_t tail = crc_field.size() + 8 + 2;
    if (line.size() < tail) return false;
    std::string_view body = line.substr(0, line.size() - tail);
    std::string_view field = line.substr(body.size());
    if (!field.starts_with(crc_field) || !field.ends_with("\"}")) return false;
    return field.substr(crc_field.size(), 8) == hex8(crc32(body));
}

} // namespace adist::collector
