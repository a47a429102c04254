// Signed ledger heads (see ledger_head.hpp).
#include "proto/ledger_head.hpp"
#include "proto/le64.hpp"

#include <openssl/evp.h>
#include <openssl/rand.h>

#include <cstring>
#include <memory>

namespace adist::proto {

namespace {
constexpr std::array<char, 4> magic = {'A', 'D', 'H', 'D'};
constexpr std::string_view context = "auditdistd ledger head 1";

struct pkey_free {
    void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
struct md_free {
    void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
};
using pkey_ptr = std::unique_ptr<EVP_PKEY, pkey_free>;
using md_ptr = std::unique_ptr<EVP_MD_CTX, md_free>;
} // namespace

// The fields, as in the encoding; prefixed with the context when signed.
std::array<std::byte, 88> ledger_head_message(const ledger_head& h) {
    std::array<std::byte, 88> out{};
    std::memcpy(out.data(), magic.data(), 4);
    out[4] = std::byte{1};
    put_le64(&out[8], h.seq);
    put_le64(&out[16], static_cast<std::uint64_t>(h.time));
    std::memcpy(&out[24], h.entry.data(), 32);
    std::memcpy(&out[56], h.genesis.data(), 32);
    return out;
}

std::array<std::byte, ledger_head_size> encode_ledger_head(const ledger_head& h) {
    std::array<std::byte, ledger_head_size> out{};
    auto m = ledger_head_message(h);
    std::memcpy(out.data(), m.data(), m.size());
    std::memcpy(&out[88], h.signature.data(), 64);
    return out;
}

std::optional<ledger_head> decode_ledger_head(std::span<const std::byte> b, std::string* why) {
    if (b.size() != ledger_head_size) {
        *why = "not " + std::to_string(ledger_head_size) + " bytes";
        return std::nullopt;
    }
    if (std::memcmp(b.data(), magic.data(), 4) != 0 || b[4] != std::byte{1} || b[5] != std::byte{0} ||
        b[6] != std::byte{0} || b[7] != std::byte{0}) {
        *why = "no signed head magic";
        return std::nullopt;
    }
    ledger_head h;
    h.seq = get_le64(&b[8]);
    h.time = static_cast<std::int64_t>(get_le64(&b[16]));
    std::memcpy(h.entry.data(), &b[24], 32);
    std::memcpy(h.genesis.data(), &b[56], 32);
    std::memcpy(h.signature.data(), &b[88], 64);
    return h;
}

namespace {
std::array<std::byte, context.size() + 88> signed_bytes(const ledger_head& h) {
    std::array<std::byte, context.size() + 88> out{};
    std::memcpy(out.data(), context.data(), context.size());
    auto m = ledger_head_message(h);
    std::memcpy(out.data() + context.size(), m.data(), m.size());
    return out;
}
} // namespace

bool sign_ledger_head(ledger_head& h, std::span<const std::uint8_t, 32> private_key) {
    pkey_ptr key(EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, nullptr, private_key.data(), 32));
    md_ptr ctx(EVP_MD_CTX_new());
    if (!key || !ctx || EVP_DigestSignInit(ctx.get(), nullptr, nullptr, nullptr, key.get()) != 1)
        return false;
    auto msg = signed_bytes(h);
    std::size_t len = h.signature.size();
    return EVP_DigestSign(ctx.get(), h.signature.data(), &len,
                          reinterpret_cast<const unsigned char*>(msg.data()), msg.size()) == 1 &&
           len == h.signature.size();
}

bool verify_ledger_head(const ledger_head& h, const ed25519_public& public_key) {
    pkey_ptr key(EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr, public_key.data(), 32));
    md_ptr ctx(EVP_MD_CTX_new());
    if (!key || !ctx || EVP_DigestVerifyInit(ctx.get(), nullptr, nullptr, nullptr, key.get()) != 1)
        return false;
    auto msg = signed_bytes(h);
    return EVP_DigestVerify(ctx.get(), h.signature.data(), h.signature.size(),
                            reinterpret_cast<const unsigned char*>(msg.data()), msg.size()) == 1;
}

std::optional<ed25519_public> ed25519_public_of(std::span<const std::uint8_t, 32> private_key) {
    pkey_ptr key(EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, nullptr, private_key.data(), 32));
    ed25519_public out{};
    std::size_t len = out.size();
    if (!key || EVP_PKEY_get_raw_public_key(key.get(), out.data(), &len) != 1 || len != out.size())
        return std::nullopt;
    return out;
}

std::optional<std::array<std::uint8_t, 32>> new_ed25519_seed() {
    std::array<std::uint8_t, 32> seed{};
    if (RAND_priv_bytes(seed.data(), static_cast<int>(seed.size())) != 1) return std::nullopt;
    return seed;
}

std::string format_ledger_key(const ed25519_public& key) {
    static constexpr char digits[] = "0123456789abcdef";
    std::string s = "ed25519:";
    for (unsigned v : key) {
        s += digits[v >> 4];
        s += digits[v & 15];
    }
    return s;
}

std::optional<ed25519_public> parse_ledger_key(std::string_view text) {
    while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.remove_suffix(1);
    constexpr std::string_view prefix = "ed25519:";
    if (text.size() != prefix.size() + 64 || text.substr(0, prefix.size()) != prefix) return std::nullopt;
    text.remove_prefix(prefix.size());
    ed25519_public key{};
    auto nibble = [](char c) -> int {
        if (c >= '0' && c <= '9') return c - '0';
        if (c >= 'a' && c <= 'f') return c - 'a' + 10;
        if (c >= 'A' && c <= 'F') return c - 'A' + 10;
        return -1;
    };
    for (std::size_t i = 0; i < key.size(); ++i) {
        int hi = nibble(text[2 * i]), lo = nibble(text[2 * i + 1]);
        if (hi < 0 || lo < 0) return std::nullopt;
        key[i] = static_cast<std::uint8_t>(hi * 16 + lo);
    }
    return key;
}

} // namespace adist::proto
