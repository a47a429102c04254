// HEAD request and reply (see head_frame.hpp).
#include "proto/head_frame.hpp"

#include <algorithm>

namespace adist::proto {

void encode_head_request(std::vector<std::byte>& out, std::uint64_t seq) {
    encode_request_header(out, command::head, seq, 0);
}

void encode_head_reply(std::vector<std::byte>& out, std::uint64_t seq,
                       const std::optional<signed_head_bytes>& head) {
    encode_reply(out, reply{seq, reply_error::ok});
    out.push_back(std::byte{head ? std::uint8_t{1} : std::uint8_t{0}});
    if (head) {
        out.insert(out.end(), head->begin(), head->end());
    } else {
        out.insert(out.end(), ledger_head_size, std::byte{0});
    }
}

head_reply_result decode_head_reply(std::span<const std::byte> in) {
    auto first = decode_reply(in, 1);
    if (auto* more = std::get_if<need_more>(&first)) return *more;
    if (auto* err = std::get_if<decode_error>(&first)) return *err;
    const auto& r = std::get<decoded<reply>>(first);
    head_reply out{r.frame.seq, r.frame.error, std::nullopt};
    if (r.frame.error != reply_error::ok) return decoded<head_reply>{out, reply_size};
    if (in.size() < head_reply_size) return need_more{head_reply_size};
    auto presence = in[reply_size];
    auto body = in.subspan(reply_size + 1, ledger_head_size);
    if (presence == std::byte{1}) {
        out.head.emplace();
        std::copy(body.begin(), body.end(), out.head->begin());
    } else if (presence != std::byte{0} ||
               std::any_of(body.begin(), body.end(), [](std::byte b) { return b != std::byte{0}; })) {
        return decode_error::bad_head_reply;
    }
    return decoded<head_reply>{out, head_reply_size};
}

} // namespace adist::proto
