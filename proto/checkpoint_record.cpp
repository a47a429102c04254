// The sender's digest checkpoint record (see checkpoint_record.hpp).
#include "proto/checkpoint_record.hpp"

#include <algorithm>
#include <cstring>

#include "proto/fingerprint.hpp"
#include "proto/le64.hpp"

namespace adist::proto {

namespace {
constexpr std::array<std::byte, 4> magic{std::byte{'A'}, std::byte{'D'}, std::byte{'C'}, std::byte{'K'}};
constexpr std::size_t body_size = 128;

sha256_digest body_digest(const std::byte* p) {
    return sha256(std::span(reinterpret_cast<const std::uint8_t*>(p), body_size));
}
} // namespace

std::array<std::byte, checkpoint_record_size> encode_checkpoint_record(const checkpoint_record& r) {
    std::array<std::byte, checkpoint_record_size> out{};
    std::copy(magic.begin(), magic.end(), out.begin());
    out[4] = std::byte{1};
    put_le64(&out[8], r.dev);
    put_le64(&out[16], r.ino);
    std::copy(r.state.chain.begin(), r.state.chain.end(), out.begin() + 24);
    put_le64(&out[56], r.state.size);
    std::copy(r.state.partial.begin(), r.state.partial.end(), out.begin() + 64);
    auto d = body_digest(out.data());
    std::memcpy(&out[body_size], d.data(), d.size());
    return out;
}

std::optional<checkpoint_record> decode_checkpoint_record(std::span<const std::byte> b,
                                                          std::string* why) {
    if (b.size() != checkpoint_record_size) {
        *why = "it has " + std::to_string(b.size()) + " bytes, not " +
               std::to_string(checkpoint_record_size);
        return std::nullopt;
    }
    if (!std::equal(magic.begin(), magic.end(), b.begin()) || b[4] != std::byte{1} ||
        b[5] != std::byte{0} || b[6] != std::byte{0} || b[7] != std::byte{0}) {
        *why = "not a version 1 checkpoint record";
        return std::nullopt;
    }
    auto d = body_digest(b.data());
    if (std::memcmp(d.data(), &b[body_size], d.size()) != 0) {
        *why = "its checksum does not match (a torn or changed write)";
        return std::nullopt;
    }
    checkpoint_record r;
    r.dev = get_le64(&b[8]);
    r.ino = get_le64(&b[16]);
    std::copy(b.begin() + 24, b.begin() + 56, r.state.chain.begin());
    r.state.size = get_le64(&b[56]);
    std::copy(b.begin() + 64, b.begin() + 128, r.state.partial.begin());
    if (!sha256_state::resume(r.state)) {
        *why = "its SHA-256 state is not one SHA-256 can be in";
        return std::nullopt;
    }
    return r;
}

} // namespace adist::proto
