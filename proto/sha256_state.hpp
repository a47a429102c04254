// A SHA-256 whose state can be written down and taken up again: the
// receiver keeps a trail's running digest across restarts in its ledger
// (proto/ledger.hpp) instead of reading the file again. OpenSSL 3's EVP
// interface does not expose the state, so this one file uses OpenSSL's
// low-level SHA256_CTX (deprecated in 3.0, still built, same code and
// speed as EVP's SHA-256). Pure; copying a state is copying 112 bytes.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>

#include "proto/frame_codec.hpp"

namespace adist::proto {

// The written-down form: the eight chaining words after the last whole
// 64-byte block (big endian), the total length in bytes, and the bytes of
// the unfinished block (size % 64 of them, the rest zero).
struct sha256_midstate {
    std::array<std::byte, 32> chain{};
    std::uint64_t size = 0;
    std::array<std::byte, 64> partial{};
    bool operator==(const sha256_midstate&) const = default;
};

class sha256_state {
public:
    sha256_state();
    // nullopt when `m` is not a state SHA-256 can be in (a partial block
    // with bytes beyond size % 64, or a length beyond 2^61 bytes).
    static std::optional<sha256_state> resume(const sha256_midstate& m);

    void update(std::span<const std::byte> bytes);
    std::uint64_t size() const { return size_; }
    // Size and SHA-256 of everything so far (the state goes on).
    file_digest current() const;
    sha256_midstate midstate() const;

private:
    // SHA256_CTX's layout, kept here so that this header needs no OpenSSL
    // (static_assert'ed against the real one in sha256_state.cpp).
    struct raw_ctx {
        std::uint32_t h[8];
        std::uint32_t nl, nh;
        std::uint32_t data[16];
        unsigned int num, md_len;
    };
    raw_ctx ctx_{};
    std::uint64_t size_ = 0;
};

} // namespace adist::proto
