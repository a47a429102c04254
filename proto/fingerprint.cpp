// Receiver certificate fingerprints (see fingerprint.hpp): parsing the pinned
// "SHA256=AA:BB:..." form, printing it, and SHA-256 via OpenSSL 3 EVP. Used by
// the config parser and the sender's TLS verification.
#include "proto/fingerprint.hpp"

#include <openssl/evp.h>
#include <stdexcept>
#include <strings.h>

namespace adist::proto {
namespace {

constexpr std::string_view prefix = "SHA256=";
// The "95 characters" of the docs are the pairs and colons; 102 with the prefix.
constexpr std::size_t text_length = prefix.size() + 32 * 3 - 1;

int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

} // namespace

std::optional<sha256_digest> parse_fingerprint(std::string_view text) {
    if (text.size() != text_length) return std::nullopt;
    if (strncasecmp(text.data(), prefix.data(), prefix.size()) != 0) return std::nullopt;
    text.remove_prefix(prefix.size());
    sha256_digest digest{};
    for (std::size_t i = 0; i < digest.size(); ++i) {
        auto pair = text.substr(i * 3, 2);
        int hi = hex_value(pair[0]);
        int lo = hex_value(pair[1]);
        if (hi < 0 || lo < 0) return std::nullopt;
        if (i + 1 < digest.size() && text[i * 3 + 2] != ':') return std::nullopt;
        digest[i] = static_cast<std::uint8_t>(hi * 16 + lo);
    }
    return digest;
}

std::string format_fingerprint(const sha256_digest& digest) {
    static constexpr char hex[] = "0123456789ABCDEF";
    std::string out(prefix);
    out.reserve(text_length);
    for (std::size_t i = 0; i < digest.size(); ++i) {
        if (i != 0) out += ':';
        out += hex[digest[i] >> 4];
        out += hex[digest[i] & 0x0f];
    }
    return out;
}

sha256_digest sha256(std::span<const std::uint8_t> bytes) {
    sha256_digest digest{};
    unsigned int size = 0;
    // EVP_Digest only fails on allocation failure or a broken provider setup.
    if (EVP_Digest(bytes.data(), bytes.size(), digest.data(), &size, EVP_sha256(), nullptr) != 1 ||
        size != digest.size())
        throw std::runtime_error("EVP_Digest(SHA-256) failed");
    return digest;
}

} // namespace adist::proto
