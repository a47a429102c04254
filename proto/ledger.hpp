// The receiver's per-host ledger (docs/protocol.md, "Ledger"): one fixed-size
// entry per group commit of a trail, chained by the SHA-256 of the entry
// before, each carrying the trail's size so far, the SHA-256 of its whole
// prefix and the SHA-256 state there (so a restart takes the running digest
// up again without reading the file). The encoder, the decoder (hostile
// input: fuzzed) and the chain walker that `auditdistd verify` and the
// supervisor use. Pure; OpenSSL crypto only.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "proto/frame_codec.hpp"
#include "proto/sha256_state.hpp"

namespace adist::proto {

inline constexpr std::size_t ledger_entry_size = 264;
inline constexpr std::size_t ledger_name_field = 32;
// Beside a host directory, never inside it (the newest-trail scan reads
// that one): <parent>/.auditdistd-ledger/<host directory's name>/.
inline constexpr std::string_view ledger_root_name = ".auditdistd-ledger";
inline constexpr std::string_view ledger_file_name = "ledger";
inline constexpr std::string_view ledger_heads_name = "heads";
std::string ledger_root(const std::string& host_dir);
std::string ledger_directory(const std::string& host_dir);

enum class ledger_kind : std::uint8_t {
    commit = 1,    // a group commit: bytes [offset, offset + length) of trail are synced
    recovered = 2, // bytes found past the last entry at a restart (written, never acknowledged)
    adopted = 3,   // a trail stored before the ledger existed, taken whole
    close = 4,     // trail closed (renamed from `from`): its final size and digest
    rename = 5,    // an OPEN renamed `from` to trail, which stays open for appends
};
std::string_view to_string(ledger_kind k);
std::string to_hex(const sha256_digest& d);

struct ledger_entry {
    ledger_kind kind = ledger_kind::commit;
    std::uint64_t seq = 0;  // 0, 1, 2, ... with no gap
    std::int64_t time = 0;  // receiver clock, seconds since the epoch
    std::string trail;      // a valid trail name
    std::string from;       // close, rename: the name before (== trail if none); else ""
    std::uint64_t offset = 0;
    std::uint64_t length = 0;
    sha256_digest prefix{}; // SHA-256 of the trail's bytes [0, offset + length)
    sha256_midstate state;  // the SHA-256 state there (state.size == offset + length)
    sha256_digest prev{};   // ledger_hash of the entry before (zero for entry 0)

    std::uint64_t end() const { return offset + length; }
};

std::array<std::byte, ledger_entry_size> encode_ledger_entry(const ledger_entry& e);
// nullopt and *why when `bytes` is not exactly one well-formed entry: magic,
// version, kind, zero padding, names, no overflow, a state consistent with
// the size and with the prefix digest.
std::optional<ledger_entry> decode_ledger_entry(std::span<const std::byte> bytes, std::string* why);
// SHA-256 of an entry's encoding: what the next entry's prev and a signed head name.
sha256_digest ledger_hash(std::span<const std::byte> encoded);

// Walks a ledger from its first entry, entry by entry, checking the chain
// (seq, prev), and per trail that coverage is continuous from byte 0, that a
// closed trail gets no more bytes and that a close names the digest reached.
class ledger_walker {
public:
    struct trail_state {
        std::uint64_t end = 0;
        sha256_digest prefix{};
        bool closed = false;
        std::uint64_t recovered = 0; // bytes that came in recovered entries
        bool adopted = false;
    };
    // "" when the entry continues the ledger, else what is wrong (the walk
    // should stop there: later entries cannot be trusted).
    std::string feed(std::span<const std::byte> encoded);
    std::uint64_t count() const { return count_; }
    const sha256_digest& head() const { return head_; }
    const sha256_digest& genesis() const { return genesis_; }
    const std::map<std::string, trail_state>& trails() const { return trails_; }
    // The hash of entry `seq` (kept for every entry: 32 bytes each).
    std::optional<sha256_digest> hash_at(std::uint64_t seq) const;

private:
    std::string apply(const ledger_entry& e);
    std::uint64_t count_ = 0;
    sha256_digest head_{};
    sha256_digest genesis_{};
    std::vector<sha256_digest> hashes_;
    std::map<std::string, trail_state> trails_;
};

} // namespace adist::proto
