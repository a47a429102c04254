// Resumable SHA-256 (see sha256_state.hpp). The only user of OpenSSL's
// deprecated low-level SHA-256 in the project.
#define OPENSSL_SUPPRESS_DEPRECATED
#include "proto/sha256_state.hpp"

#include <openssl/sha.h>

#include <cstring>
#include <type_traits>

namespace adist::proto {

namespace {
constexpr std::uint64_t max_size = std::uint64_t{1} << 61; // SHA-256's 2^64 bits
}

struct sha256_state_layout_check {
    static_assert(sizeof(SHA256_CTX) == 112 && SHA_LBLOCK == 16 && SHA256_CBLOCK == 64,
                  "SHA256_CTX is not the layout sha256_state mirrors");
};

#define ADIST_CTX(c) reinterpret_cast<SHA256_CTX*>(&(c))
#define ADIST_CCTX(c) reinterpret_cast<const SHA256_CTX*>(&(c))

sha256_state::sha256_state() {
    static_assert(sizeof(raw_ctx) == sizeof(SHA256_CTX));
    SHA256_Init(ADIST_CTX(ctx_));
}

void sha256_state::update(std::span<const std::byte> bytes) {
    if (bytes.empty()) return;
    SHA256_Update(ADIST_CTX(ctx_), bytes.data(), bytes.size());
    size_ += bytes.size();
}

file_digest sha256_state::current() const {
    SHA256_CTX copy;
    std::memcpy(&copy, ADIST_CCTX(ctx_), sizeof copy);
    file_digest d;
    d.size = size_;
    SHA256_Final(reinterpret_cast<unsigned char*>(d.sha256.data()), &copy);
    return d;
}

sha256_midstate sha256_state::midstate() const {
    sha256_midstate m;
    m.size = size_;
    for (std::size_t i = 0; i < 8; ++i) {
        for (std::size_t b = 0; b < 4; ++b) {
            m.chain[4 * i + b] = static_cast<std::byte>(ctx_.h[i] >> (24 - 8 * b));
        }
    }
    // OpenSSL keeps the unfinished block as bytes, in order, in data[].
    std::memcpy(m.partial.data(), ctx_.data, size_ % 64);
    return m;
}

std::optional<sha256_state> sha256_state::resume(const sha256_midstate& m) {
    if (m.size >= max_size) return std::nullopt;
    std::size_t num = m.size % 64;
    for (std::size_t i = num; i < m.partial.size(); ++i) {
        if (m.partial[i] != std::byte{0}) return std::nullopt;
    }
    sha256_state s;
    for (std::size_t i = 0; i < 8; ++i) {
        std::uint32_t w = 0;
        for (std::size_t b = 0; b < 4; ++b) w = (w << 8) | std::to_integer<std::uint32_t>(m.chain[4 * i + b]);
        s.ctx_.h[i] = w;
    }
    std::uint64_t bits = m.size * 8;
    s.ctx_.nl = static_cast<std::uint32_t>(bits);
    s.ctx_.nh = static_cast<std::uint32_t>(bits >> 32);
    std::memset(s.ctx_.data, 0, sizeof s.ctx_.data);
    std::memcpy(s.ctx_.data, m.partial.data(), num);
    s.ctx_.num = static_cast<unsigned int>(num);
    s.size_ = m.size;
    return s;
}

} // namespace adist::proto
