// Data-phase frame codec (see frame_codec.hpp). Pure byte manipulation; the
// receiver session and the sender uplink call it, the fuzzer drives it.
#include "proto/frame_codec.hpp"

#include <cstring>

namespace adist::proto {
namespace {

std::uint64_t load(std::span<const std::byte> in, std::size_t off, std::size_t width,
                   byte_order order) {
    std::uint64_t v = 0;
    for (std::size_t i = 0; i < width; ++i) {
        std::size_t idx = order == byte_order::little ? off + width - 1 - i : off + i;
        v = (v << 8) | std::to_integer<std::uint64_t>(in[idx]);
    }
    return v;
}

void store_le(std::vector<std::byte>& out, std::uint64_t v, std::size_t width) {
    for (std::size_t i = 0; i < width; ++i) out.push_back(std::byte((v >> (8 * i)) & 0xff));
}

bool valid_order(std::byte b) {
    return b == std::byte(byte_order::little) || b == std::byte(byte_order::big);
}

bool carries_name(command c) { return c == command::open || c == command::close; }

// "name\0": at least one byte before the NUL, the NUL last, no other NUL.
bool is_name_payload(std::span<const std::byte> p) {
    if (p.size() < 2 || p.back() != std::byte{0}) return false;
    return std::memchr(p.data(), 0, p.size() - 1) == nullptr;
}

} // namespace

std::string_view to_string(command c) {
    switch (c) {
    case command::open: return "OPEN";
    case command::append: return "APPEND";
    case command::close: return "CLOSE";
    case command::keepalive: return "KEEPALIVE";
    case command::error: return "ERROR";
    case command::head: return "HEAD";
    }
    return "UNKNOWN";
}

std::string_view to_string(reply_error e) {
    switch (e) {
    case reply_error::ok: return "ok";
    case reply_error::wrong_order: return "wrong order";
    case reply_error::invalid_name: return "invalid name";
    case reply_error::open_old: return "attempt to open an old trail file";
    case reply_error::create: return "cannot create trail file";
    case reply_error::open: return "cannot open trail file";
    case reply_error::read: return "sender cannot read trail file";
    case reply_error::write: return "cannot write trail file";
    case reply_error::rename: return "cannot rename trail file";
    case reply_error::digest_mismatch:
        return "the file's size or SHA-256 differs from what the receiver stored";
    }
    return "unknown error";
}

std::string_view to_string(decode_error e) {
    switch (e) {
    case decode_error::bad_byte_order: return "invalid byte-order marker";
    case decode_error::unknown_command: return "unknown command";
    case decode_error::payload_too_large: return "payload larger than 65536 bytes";
    case decode_error::empty_payload: return "empty payload for OPEN/APPEND/CLOSE";
    case decode_error::unexpected_payload: return "payload on KEEPALIVE/ERROR";
    case decode_error::bad_name: return "malformed name payload";
    case decode_error::unknown_error_code: return "unknown reply error code";
    case decode_error::bad_head_reply: return "malformed HEAD reply";
    }
    return "unknown decode error";
}

request_result decode_request(std::span<const std::byte> in, int version) {
    if (in.empty()) return need_more{request_header_size};
    if (!valid_order(in[0])) return decode_error::bad_byte_order;
    if (in.size() < 2) return need_more{request_header_size};
    auto raw_cmd = std::to_integer<std::uint8_t>(in[1]);
    auto last_cmd = version >= 1 ? command::head : command::error;
    if (raw_cmd < 1 || raw_cmd > static_cast<std::uint8_t>(last_cmd)) return decode_error::unknown_command;
    if (in.size() < request_header_size) return need_more{request_header_size};

    auto order = static_cast<byte_order>(in[0]);
    request r;
    r.cmd = static_cast<command>(raw_cmd);
    r.seq = load(in, 2, 8, order);
    auto size = load(in, 10, 4, order);
    if (size > max_payload) return decode_error::payload_too_large;
    bool wants_payload = r.cmd == command::open || r.cmd == command::append ||
                         r.cmd == command::close;
    if (wants_payload && size == 0) return decode_error::empty_payload;
    if (!wants_payload && size != 0) return decode_error::unexpected_payload;
    std::size_t total = request_header_size + size;
    if (in.size() < total) return need_more{total};
    r.payload = in.subspan(request_header_size, size);
    auto name = r.payload;
    if (version >= 1 && r.cmd == command::close) {
        if (name.size() < close_digest_size) return decode_error::bad_name;
        name = name.first(name.size() - close_digest_size);
    }
    if (carries_name(r.cmd) && !is_name_payload(name)) return decode_error::bad_name;
    return decoded<request>{r, total};
}

reply_result decode_reply(std::span<const std::byte> in, int version) {
    if (in.empty()) return need_more{reply_size};
    if (!valid_order(in[0])) return decode_error::bad_byte_order;
    if (in.size() < reply_size) return need_more{reply_size};
    auto order = static_cast<byte_order>(in[0]);
    reply r;
    r.seq = load(in, 1, 8, order);
    auto code = load(in, 9, 2, order);
    auto last = version >= 1 ? reply_error::digest_mismatch : reply_error::rename;
    if (code > static_cast<std::uint16_t>(last)) {
        return decode_error::unknown_error_code;
    }
    r.error = static_cast<reply_error>(code);
    return decoded<reply>{r, reply_size};
}

void encode_request_header(std::vector<std::byte>& out, command cmd, std::uint64_t seq,
                           std::uint32_t payload_size) {
    out.push_back(std::byte(byte_order::little));
    out.push_back(std::byte(cmd));
    store_le(out, seq, 8);
    store_le(out, payload_size, 4);
}

void encode_name_request(std::vector<std::byte>& out, command cmd, std::uint64_t seq,
                         std::string_view name) {
    encode_request_header(out, cmd, seq, static_cast<std::uint32_t>(name.size() + 1));
    auto* p = reinterpret_cast<const std::byte*>(name.data());
    out.insert(out.end(), p, p + name.size());
    out.push_back(std::byte{0});
}

void encode_reply(std::vector<std::byte>& out, const reply& r) {
    out.push_back(std::byte(byte_order::little));
    store_le(out, r.seq, 8);
    store_le(out, static_cast<std::uint16_t>(r.error), 2);
}

std::string_view payload_name(const request& r) {
    if (r.payload.empty()) return {};
    // Up to the (only) NUL: a version 1 CLOSE has its digest after it.
    auto* p = reinterpret_cast<const char*>(r.payload.data());
    return {p, ::strnlen(p, r.payload.size())};
}

void encode_close(std::vector<std::byte>& out, std::uint64_t seq, std::string_view name,
                  const file_digest& digest) {
    encode_request_header(out, command::close, seq,
                          static_cast<std::uint32_t>(name.size() + 1 + close_digest_size));
    auto* p = reinterpret_cast<const std::byte*>(name.data());
    out.insert(out.end(), p, p + name.size());
    out.push_back(std::byte{0});
    store_le(out, digest.size, 8);
    for (auto b : digest.sha256) out.push_back(std::byte(b));
}

file_digest payload_digest(const request& r) {
    file_digest d;
    if (r.payload.size() < close_digest_size) return d;
    auto tail = r.payload.last(close_digest_size);
    d.size = load(tail, 0, 8, byte_order::little);
    for (std::size_t i = 0; i < d.sha256.size(); ++i) d.sha256[i] = std::to_integer<std::uint8_t>(tail[8 + i]);
    return d;
}

} // namespace adist::proto
