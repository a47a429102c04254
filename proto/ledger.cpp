// Ledger entries and the chain walk (see ledger.hpp).
#include "proto/ledger.hpp"

#include <openssl/evp.h>

#include <cstring>
#include <stdexcept>

#include "proto/trail_name.hpp"
#include "proto/le64.hpp"

namespace adist::proto {

namespace {
constexpr std::array<char, 4> magic = {'A', 'D', 'L', 'G'};
constexpr std::uint8_t format_version = 1;
// Field offsets in an entry (all integers little endian).
constexpr std::size_t at_kind = 5, at_seq = 8, at_time = 16, at_trail = 24, at_from = 56,
                      at_offset = 88, at_length = 96, at_prefix = 104, at_chain = 136,
                      at_partial = 168, at_prev = 232;

void put_name(std::byte* p, std::string_view name) {
    std::memcpy(p, name.data(), std::min(name.size(), ledger_name_field));
}
// The name in a field: printable up to the first NUL, zeros after it.
std::optional<std::string> get_name(const std::byte* p) {
    std::size_t n = 0;
    while (n < ledger_name_field && p[n] != std::byte{0}) ++n;
    for (std::size_t i = n; i < ledger_name_field; ++i)
        if (p[i] != std::byte{0}) return std::nullopt;
    return std::string(reinterpret_cast<const char*>(p), n);
}
bool all_zero(const std::byte* p, std::size_t n) {
    for (std::size_t i = 0; i < n; ++i)
        if (p[i] != std::byte{0}) return false;
    return true;
}
std::string hex(const sha256_digest& d) {
    static constexpr char digits[] = "0123456789abcdef";
    std::string s;
    for (auto b : d) {
        unsigned v = b;
        s += digits[v >> 4];
        s += digits[v & 15];
    }
    return s;
}
bool renames(ledger_kind k) { return k == ledger_kind::close || k == ledger_kind::rename; }
bool same_start(std::string_view a, std::string_view b) { return a.substr(0, 14) == b.substr(0, 14); }
} // namespace

std::string ledger_root(const std::string& host_dir) {
    auto slash = host_dir.find_last_of('/');
    std::string parent = slash == std::string::npos || slash == 0 ? "/" : host_dir.substr(0, slash);
    if (parent.back() != '/') parent += '/';
    return parent + std::string(ledger_root_name);
}

std::string ledger_directory(const std::string& host_dir) {
    auto slash = host_dir.find_last_of('/');
    return ledger_root(host_dir) + "/" + host_dir.substr(slash == std::string::npos ? 0 : slash + 1);
}

std::string_view to_string(ledger_kind k) {
    switch (k) {
    case ledger_kind::commit: return "commit";
    case ledger_kind::recovered: return "recovered";
    case ledger_kind::adopted: return "adopted";
    case ledger_kind::close: return "close";
    case ledger_kind::rename: return "rename";
    }
    return "unknown";
}

std::array<std::byte, ledger_entry_size> encode_ledger_entry(const ledger_entry& e) {
    std::array<std::byte, ledger_entry_size> out{};
    std::memcpy(out.data(), magic.data(), magic.size());
    out[4] = std::byte{format_version};
    out[at_kind] = static_cast<std::byte>(e.kind);
    put_le64(&out[at_seq], e.seq);
    put_le64(&out[at_time], static_cast<std::uint64_t>(e.time));
    put_name(&out[at_trail], e.trail);
    put_name(&out[at_from], e.from);
    put_le64(&out[at_offset], e.offset);
    put_le64(&out[at_length], e.length);
    std::memcpy(&out[at_prefix], e.prefix.data(), 32);
    std::memcpy(&out[at_chain], e.state.chain.data(), 32);
    std::memcpy(&out[at_partial], e.state.partial.data(), 64);
    std::memcpy(&out[at_prev], e.prev.data(), 32);
    return out;
}

std::optional<ledger_entry> decode_ledger_entry(std::span<const std::byte> b, std::string* why) {
    auto bad = [why](std::string w) -> std::optional<ledger_entry> {
        *why = std::move(w);
        return std::nullopt;
    };
    if (b.size() != ledger_entry_size) return bad("not " + std::to_string(ledger_entry_size) + " bytes");
    if (std::memcmp(b.data(), magic.data(), magic.size()) != 0) return bad("no ledger entry magic");
    if (b[4] != std::byte{format_version}) return bad("unknown entry format version");
    auto kind = std::to_integer<std::uint8_t>(b[at_kind]);
    if (kind < 1 || kind > 5) return bad("unknown entry kind " + std::to_string(kind));
    if (!all_zero(&b[6], 2)) return bad("padding not zero");
    ledger_entry e;
    e.kind = static_cast<ledger_kind>(kind);
    e.seq = get_le64(&b[at_seq]);
    e.time = static_cast<std::int64_t>(get_le64(&b[at_time]));
    auto trail = get_name(&b[at_trail]);
    auto from = get_name(&b[at_from]);
    if (!trail || !is_valid_trail_name(*trail)) return bad("no valid trail name");
    if (!from || (renames(e.kind) ? !is_valid_trail_name(*from) : !from->empty()))
        return bad("bad previous name field");
    e.trail = *trail;
    e.from = *from;
    e.offset = get_le64(&b[at_offset]);
    e.length = get_le64(&b[at_length]);
    if (e.offset + e.length < e.offset) return bad("offset + length overflows");
    std::memcpy(e.prefix.data(), &b[at_prefix], 32);
    std::memcpy(e.state.chain.data(), &b[at_chain], 32);
    std::memcpy(e.state.partial.data(), &b[at_partial], 64);
    std::memcpy(e.prev.data(), &b[at_prev], 32);
    e.state.size = e.end();
    auto state = sha256_state::resume(e.state);
    if (!state) return bad("SHA-256 state impossible for the size");
    if (state->current().sha256 != e.prefix) return bad("prefix digest does not follow from the state");
    return e;
}

sha256_digest ledger_hash(std::span<const std::byte> encoded) {
    sha256_digest d{};
    unsigned int n = 0;
    if (EVP_Digest(encoded.data(), encoded.size(), reinterpret_cast<unsigned char*>(d.data()), &n,
                   EVP_sha256(), nullptr) != 1) {
        throw std::runtime_error("EVP_Digest(SHA-256) failed");
    }
    return d;
}

std::string ledger_walker::feed(std::span<const std::byte> encoded) {
    std::string why;
    auto e = decode_ledger_entry(encoded, &why);
    std::string where = "entry " + std::to_string(count_) + ": ";
    if (!e) return where + why;
    if (e->seq != count_) {
        return where + "numbered " + std::to_string(e->seq) + " (entries missing, repeated or reordered)";
    }
    if (e->prev != head_) return where + "does not follow the entry before it (hash chain broken)";
    if (auto problem = apply(*e); !problem.empty()) return where + problem;
    head_ = ledger_hash(encoded);
    if (count_ == 0) genesis_ = head_;
    hashes_.push_back(head_);
    ++count_;
    return {};
}

std::optional<sha256_digest> ledger_walker::hash_at(std::uint64_t seq) const {
    if (seq >= hashes_.size()) return std::nullopt;
    return hashes_[seq];
}

std::string ledger_walker::apply(const ledger_entry& e) {
    auto it = trails_.find(renames(e.kind) ? e.from : e.trail);
    if (renames(e.kind)) {
        std::uint64_t have = it == trails_.end() ? 0 : it->second.end;
        if (it != trails_.end() && it->second.closed && e.from == e.trail && have == e.end() &&
            it->second.prefix == e.prefix) {
            return {}; // closed again (a CLOSE repeated after a reconnect)
        }
        if (e.offset != 0 || e.length != have || (it != trails_.end() && it->second.closed))
            return e.from + " " + std::string(to_string(e.kind)) + " at " + std::to_string(e.end()) +
                   " bytes, the ledger covers " +
                   std::to_string(have);
        if (it != trails_.end() && it->second.prefix != e.prefix)
            return e.from + " closed with a digest other than its last entry's";
        if (!same_start(e.from, e.trail)) return "renamed " + e.from + " to another trail " + e.trail;
        trail_state s = it == trails_.end() ? trail_state{} : it->second;
        if (it != trails_.end()) trails_.erase(it);
        if (e.trail != e.from && trails_.count(e.trail) != 0) return e.trail + " already in the ledger";
        s.closed = e.kind == ledger_kind::close;
        s.end = e.end();
        s.prefix = e.prefix;
        trails_[e.trail] = s;
        return {};
    }
    if (e.kind == ledger_kind::adopted && (it != trails_.end() || e.offset != 0))
        return "adopts " + e.trail + " that the ledger already covers";
    std::uint64_t have = it == trails_.end() ? 0 : it->second.end;
    if (it != trails_.end() && it->second.closed) return "bytes added to " + e.trail + " after its close";
    if (e.offset != have) {
        return e.trail + " continues at " + std::to_string(e.offset) + " but the ledger covers " +
               std::to_string(have) + " (gap or overlap)";
    }
    auto& s = trails_[e.trail];
    s.end = e.end();
    s.prefix = e.prefix;
    if (e.kind == ledger_kind::recovered) s.recovered += e.length;
    if (e.kind == ledger_kind::adopted) s.adopted = true;
    return {};
}

std::string to_hex(const sha256_digest& d) { return hex(d); }

} // namespace adist::proto
