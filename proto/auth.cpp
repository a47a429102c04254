// HMAC and comparison helpers for the mutual password proof (see auth.hpp).
#include "proto/auth.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <stdexcept>

namespace adist::proto {

hmac_value compute_hmac(std::string_view password, std::span<const std::byte> message) {
    hmac_value out{};
    unsigned int len = 0;
    // HMAC() with an empty key is well defined; the config forbids empty passwords.
    static const unsigned char empty_key = 0;
    const void* key = password.empty() ? static_cast<const void*>(&empty_key)
                                      : static_cast<const void*>(password.data());
    if (HMAC(EVP_sha256(), key, static_cast<int>(password.size()),
             reinterpret_cast<const unsigned char*>(message.data()), message.size(),
             reinterpret_cast<unsigned char*>(out.data()), &len) == nullptr ||
        len != out.size()) {
        throw std::runtime_error("HMAC-SHA256 computation failed");
    }
    return out;
}

bool constant_time_equal(std::span<const std::byte> a, std::span<const std::byte> b) {
    if (a.size() != b.size()) return false;
    return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

challenge random_challenge() {
    challenge c{};
    if (RAND_bytes(reinterpret_cast<unsigned char*>(c.data()), static_cast<int>(c.size())) != 1) {
        throw std::runtime_error("the random number generator failed");
    }
    return c;
}

} // namespace adist::proto
