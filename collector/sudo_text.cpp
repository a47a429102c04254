// CRC-32, base64 and the record seal of sudo session records (sudo_text.hpp). Pure.
#include "collector/sudo_text.hpp"

#include <array>

namespace adist::collector {
namespace {

constexpr std::array<std::uint32_t, 256> crc_table() {
    std::array<std::uint32_t, 256> t{};
    for (std::uint32_t i = 0; i < 256; ++i) {
        std::uint32_t c = i;
        for (int k = 0; k < 8; ++k)
            c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
        t[i] = c;
    }
    return t;
}
constexpr auto table = crc_table();
constexpr char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

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
    std::uint32_t c = 0xFFFFFFFFu;
    for (unsigned char b : s)
        c = table[(c ^ b) & 0xFF] ^ (c >> 8);
    return c ^ 0xFFFFFFFFu;
}

std::string base64_encode(std::string_view bytes) {
    std::string out;
    out.reserve((bytes.size() + 2) / 3 * 4);
    std::size_t i = 0;
    for (; i + 3 <= bytes.size(); i += 3) {
        std::uint32_t v = std::uint32_t(static_cast<unsigned char>(bytes[i])) << 16 |
                          std::uint32_t(static_cast<unsigned char>(bytes[i + 1])) << 8 |
                          static_cast<unsigned char>(bytes[i + 2]);
        for (int shift = 18; shift >= 0; shift -= 6)
            out += alphabet[(v >> shift) & 63];
    }
    std::size_t left = bytes.size() - i;
    if (left > 0) {
        std::uint32_t v = std::uint32_t(static_cast<unsigned char>(bytes[i])) << 16;
        if (left == 2) v |= std::uint32_t(static_cast<unsigned char>(bytes[i + 1])) << 8;
        out += alphabet[(v >> 18) & 63];
        out += alphabet[(v >> 12) & 63];
        out += left == 2 ? alphabet[(v >> 6) & 63] : '=';
        out += '=';
    }
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
