// Running SHA-256 (see digest.hpp), on OpenSSL 3's EVP interface.
#include "proto/digest.hpp"

#include <openssl/evp.h>
#include <stdexcept>

namespace adist::proto {

void sha256_stream::free_ctx::operator()(evp_md_ctx_st* ctx) const {
    EVP_MD_CTX_free(ctx);
}

sha256_stream::sha256_stream() : ctx_(EVP_MD_CTX_new()) {
    // Only fails on allocation failure or a broken provider setup.
    if (!ctx_ || EVP_DigestInit_ex(ctx_.get(), EVP_sha256(), nullptr) != 1) {
        throw std::runtime_error("EVP_DigestInit_ex(SHA-256) failed");
    }
}

sha256_stream::~sha256_stream() = default;
sha256_stream::sha256_stream(sha256_stream&&) noexcept = default;
sha256_stream& sha256_stream::operator=(sha256_stream&&) noexcept = default;

void sha256_stream::update(std::span<const std::byte> bytes) {
    if (bytes.empty()) return;
    if (EVP_DigestUpdate(ctx_.get(), bytes.data(), bytes.size()) != 1) {
        throw std::runtime_error("EVP_DigestUpdate(SHA-256) failed");
    }
    size_ += bytes.size();
}

file_digest sha256_stream::current() const {
    std::unique_ptr<EVP_MD_CTX, free_ctx> copy(EVP_MD_CTX_new());
    file_digest d;
    d.size = size_;
    unsigned int n = 0;
    if (!copy || EVP_MD_CTX_copy_ex(copy.get(), ctx_.get()) != 1 ||
        EVP_DigestFinal_ex(copy.get(), d.sha256.data(), &n) != 1 || n != d.sha256.size()) {
        throw std::runtime_error("EVP_DigestFinal_ex(SHA-256) failed");
    }
    return d;
}

} // namespace adist::proto
