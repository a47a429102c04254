// Version 1's HEAD request and its reply (docs/protocol.md, "Receipts"): the
// sender asks the receiver for the newest signed head of the host's ledger
// and keeps it as a receipt. The request is a 14-byte request header with
// command 6 and no payload (decode_request accepts it in version 1 only).
// The reply is an 11-byte reply; when its error is 0, one byte follows (0: no
// signed head yet, 1: a head follows) and then 152 bytes: the signed head as
// the supervisor wrote it (proto/ledger_head.hpp), or zeros. An error reply
// is the 11 bytes alone, as for every other request. Fixed sizes, so the
// reader needs no length field. The decoder takes hostile bytes (fuzzed).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <variant>
#include <vector>

#include "proto/frame_codec.hpp"
#include "proto/ledger_head.hpp"

namespace adist::proto {

using signed_head_bytes = std::array<std::byte, ledger_head_size>;
inline constexpr std::size_t head_reply_size = reply_size + 1 + ledger_head_size; // 164

struct head_reply {
    std::uint64_t seq = 0;
    reply_error error = reply_error::ok;
    std::optional<signed_head_bytes> head; // none: the receiver has no signed head yet
};
using head_reply_result = std::variant<decoded<head_reply>, need_more, decode_error>;

// Appends a HEAD request (header only).
void encode_head_request(std::vector<std::byte>& out, std::uint64_t seq);
// Appends the reply to a HEAD request that succeeded (error 0).
void encode_head_reply(std::vector<std::byte>& out, std::uint64_t seq,
                       const std::optional<signed_head_bytes>& head);
// Decodes the reply to a HEAD request from the front of `in`: 164 bytes, or
// 11 when the reply carries an error. A presence byte other than 0 or 1, or
// non-zero bytes after a 0, is bad_head_reply. Whether the head itself is
// well formed and signed is the sender's decision (receipt_decider).
head_reply_result decode_head_reply(std::span<const std::byte> in);

} // namespace adist::proto
