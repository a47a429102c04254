// A signed ledger head: the root supervisor's Ed25519 signature over "this
// ledger (named by its first entry's hash) had entry `seq` with this hash at
// this time". Appended to the heads file beside the ledger; `auditdistd
// verify` checks each against the ledger. Fixed size; the decoder takes
// hostile bytes (fuzzed). Pure; OpenSSL crypto only.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>

#include "proto/frame_codec.hpp"

namespace adist::proto {

inline constexpr std::size_t ledger_head_size = 152;
using ed25519_public = std::array<std::uint8_t, 32>;
using ed25519_signature = std::array<std::uint8_t, 64>;

struct ledger_head {
    std::uint64_t seq = 0;     // the entry signed for (the ledger then had seq + 1 entries)
    std::int64_t time = 0;     // supervisor clock, seconds since the epoch
    sha256_digest entry{};     // ledger_hash of entry seq
    sha256_digest genesis{};   // ledger_hash of entry 0: which ledger
    ed25519_signature signature{};
};

// The bytes the signature covers: a context string, then the head's fields.
std::array<std::byte, 88> ledger_head_message(const ledger_head& h);
std::array<std::byte, ledger_head_size> encode_ledger_head(const ledger_head& h);
std::optional<ledger_head> decode_ledger_head(std::span<const std::byte> bytes, std::string* why);

// Ed25519 over ledger_head_message (OpenSSL EVP). `private_key` is the raw
// 32-byte seed. Returns false when OpenSSL fails.
bool sign_ledger_head(ledger_head& h, std::span<const std::uint8_t, 32> private_key);
bool verify_ledger_head(const ledger_head& h, const ed25519_public& key);
// The public key of a seed; a new random seed.
std::optional<ed25519_public> ed25519_public_of(std::span<const std::uint8_t, 32> private_key);
std::optional<std::array<std::uint8_t, 32>> new_ed25519_seed();
// "ed25519:" + 64 hex digits, and back.
std::string format_ledger_key(const ed25519_public& key);
std::optional<ed25519_public> parse_ledger_key(std::string_view text);

} // namespace adist::proto
