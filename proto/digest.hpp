// The running SHA-256 of a trail file's bytes, in order (OpenSSL's EVP):
// the size and digest of the prefix so far, at any moment, without ending
// the stream. The receiver's digests where no ledger state is at hand,
// and `verify`; the sender keeps a resumable proto/sha256_state instead
// (its checkpoint). Pure; OpenSSL crypto only.
#pragma once

#include <cstdint>
#include <memory>
#include <span>

#include "proto/frame_codec.hpp"

struct evp_md_ctx_st;

namespace adist::proto {

class sha256_stream {
public:
    sha256_stream();
    ~sha256_stream();
    sha256_stream(sha256_stream&&) noexcept;
    sha256_stream& operator=(sha256_stream&&) noexcept;

    void update(std::span<const std::byte> bytes);
    // Size and SHA-256 of everything given so far (the stream goes on).
    file_digest current() const;
    std::uint64_t size() const { return size_; }

private:
    struct free_ctx {
        void operator()(evp_md_ctx_st* ctx) const;
    };
    std::unique_ptr<evp_md_ctx_st, free_ctx> ctx_;
    std::uint64_t size_ = 0;
};

} // namespace adist::proto
