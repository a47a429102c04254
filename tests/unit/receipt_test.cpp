// Receipts (docs/protocol.md, "Receipts"): the HEAD request and reply
// (proto/head_frame), the sender's decider (sender/receipt_decider: does a
// signed head extend the receipt kept? is it forged?), when it asks, and
// the receipt file (sender/receipt_keeper).
#include "common/fd.hpp"
#include "common/guard_channel.hpp"
#include "proto/head_frame.hpp"
#include "proto/ledger.hpp"
#include "sender/receipt_decider.hpp"
#include "sender/receipt_keeper.hpp"
#include "temp_dir.hpp"

#include <fcntl.h>
#include <linux/fs.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <stdlib.h>

using namespace adist::proto;
using namespace adist::sender;

namespace {
struct signer {
    std::array<std::uint8_t, 32> seed = *new_ed25519_seed();
    ed25519_public pub = *ed25519_public_of(seed);
    ledger_head head(std::uint64_t seq, std::uint8_t entry_byte, std::uint8_t genesis_byte = 7) {
        ledger_head h;
        h.seq = seq;
        h.time = 1764900000 + static_cast<std::int64_t>(seq);
        h.entry.fill(entry_byte);
        h.genesis.fill(genesis_byte);
        REQUIRE(sign_ledger_head(h, seed));
        return h;
    }
};

signed_head_bytes bytes_of(const ledger_head& h) {
    auto e = encode_ledger_head(h);
    signed_head_bytes out{};
    std::copy(e.begin(), e.end(), out.begin());
    return out;
}

std::vector<std::byte> head_reply_bytes(std::uint64_t seq, const std::optional<signed_head_bytes>& h) {
    std::vector<std::byte> out;
    encode_head_reply(out, seq, h);
    return out;
}
} // namespace

TEST_CASE("head_frame: HEAD is a version 1 request without payload") {
    std::vector<std::byte> out;
    encode_head_request(out, 42);
    REQUIRE(out.size() == request_header_size);
    CHECK(out[1] == std::byte{6});
    auto r = decode_request(out, 1);
    auto* d = std::get_if<decoded<request>>(&r);
    REQUIRE(d != nullptr);
    CHECK(d->frame.cmd == command::head);
    CHECK(d->frame.seq == 42);
    CHECK(d->consumed == request_header_size);
    // Version 0 is FreeBSD's: command 6 does not exist there.
    auto v0 = decode_request(out, 0);
    REQUIRE(std::holds_alternative<decode_error>(v0));
    CHECK(std::get<decode_error>(v0) == decode_error::unknown_command);
    // With a payload it is a protocol violation.
    std::vector<std::byte> with_payload;
    encode_request_header(with_payload, command::head, 1, 1);
    with_payload.push_back(std::byte{0});
    auto p = decode_request(with_payload, 1);
    REQUIRE(std::holds_alternative<decode_error>(p));
    CHECK(std::get<decode_error>(p) == decode_error::unexpected_payload);
}

TEST_CASE("head_frame: the reply round-trips with and without a head; bad bytes are refused") {
    signer s;
    auto h = bytes_of(s.head(9, 0xab));
    for (const auto& head : {std::optional<signed_head_bytes>(h), std::optional<signed_head_bytes>()}) {
        auto bytes = head_reply_bytes(77, head);
        REQUIRE(bytes.size() == head_reply_size);
        for (std::size_t n = 0; n < bytes.size(); ++n) {
            auto partial = decode_head_reply(std::span(bytes).first(n));
            REQUIRE(std::holds_alternative<need_more>(partial));
            CHECK(std::get<need_more>(partial).bytes > n);
        }
        bytes.push_back(std::byte{0x55}); // the next reply's first byte: not consumed
        auto r = decode_head_reply(bytes);
        auto* d = std::get_if<decoded<head_reply>>(&r);
        REQUIRE(d != nullptr);
        CHECK(d->consumed == head_reply_size);
        CHECK(d->frame.seq == 77);
        CHECK(d->frame.error == reply_error::ok);
        CHECK(d->frame.head == head);
    }
    auto bad_presence = head_reply_bytes(1, h);
    bad_presence[reply_size] = std::byte{2};
    CHECK(std::get<decode_error>(decode_head_reply(bad_presence)) == decode_error::bad_head_reply);
    auto stray = head_reply_bytes(1, std::nullopt);
    stray[reply_size + 40] = std::byte{1}; // "no head" with bytes after it
    CHECK(std::get<decode_error>(decode_head_reply(stray)) == decode_error::bad_head_reply);
    // An error reply is the 11 bytes alone.
    std::vector<std::byte> err;
    encode_reply(err, reply{5, reply_error::write});
    auto e = decode_head_reply(err);
    auto* d = std::get_if<decoded<head_reply>>(&e);
    REQUIRE(d != nullptr);
    CHECK(d->consumed == reply_size);
    CHECK(d->frame.error == reply_error::write);
    CHECK_FALSE(d->frame.head);
    err[0] = std::byte{9};
    CHECK(std::get<decode_error>(decode_head_reply(err)) == decode_error::bad_byte_order);
}

TEST_CASE("receipt_decider: a head is kept when it extends the receipt, an alert otherwise") {
    signer s, other;
    auto h5 = s.head(5, 0x11);
    auto kept = std::optional<ledger_head>(h5);
    CHECK(decide_receipt(bytes_of(h5), std::nullopt, s.pub).verdict == receipt_verdict::first);
    CHECK(decide_receipt(bytes_of(s.head(8, 0x22)), kept, s.pub).verdict == receipt_verdict::extends);
    auto same = decide_receipt(bytes_of(h5), kept, s.pub);
    CHECK(same.verdict == receipt_verdict::same);
    CHECK_FALSE(same.keep());
    CHECK_FALSE(same.alert());
    struct { ledger_head head; receipt_verdict verdict; const char* says; } alerts[] = {
        {s.head(4, 0x11), receipt_verdict::shorter, "went back"},
        {s.head(5, 0x12), receipt_verdict::rewritten, "rewritten"},
        {s.head(9, 0x33, 8), receipt_verdict::other_ledger, "replaced"},
        {other.head(9, 0x33), receipt_verdict::forged, "does not verify"},
    };
    for (const auto& a : alerts) {
        auto d = decide_receipt(bytes_of(a.head), kept, s.pub);
        CHECK(d.verdict == a.verdict);
        CHECK(d.alert());
        CHECK_FALSE(d.keep());
        CHECK(d.why.find(a.says) != std::string::npos);
    }
    // Forged even without a receipt, and one flipped bit of a good head.
    auto flipped = bytes_of(s.head(6, 0x44));
    flipped[30] ^= std::byte{1};
    CHECK(decide_receipt(flipped, std::nullopt, s.pub).verdict == receipt_verdict::forged);
    auto garbage = flipped;
    garbage[0] = std::byte{'X'};
    CHECK(decide_receipt(garbage, kept, s.pub).verdict == receipt_verdict::malformed);
    CHECK(decide_no_head(std::nullopt).verdict == receipt_verdict::none);
    CHECK_FALSE(decide_no_head(std::nullopt).alert());
    CHECK(decide_no_head(kept).verdict == receipt_verdict::vanished);
    CHECK(decide_no_head(kept).alert());
}

TEST_CASE("receipt_decider: HEAD is asked at a connection, after a CLOSE ack, then once per interval") {
    using namespace std::chrono_literals;
    head_timing t{60s, 1s};
    auto t0 = std::chrono::steady_clock::time_point{} + 1000s;
    std::optional<std::chrono::steady_clock::time_point> next;
    CHECK(head_request_due(t0, std::nullopt, false, false, t));
    CHECK_FALSE(head_request_due(t0, std::nullopt, false, true, t)); // one in flight
    CHECK_FALSE(head_request_due(t0 + 30s, t0, false, false, t, &next));
    REQUIRE(next);
    CHECK(*next == t0 + 60s);
    CHECK(head_request_due(t0 + 60s, t0, false, false, t));
    CHECK_FALSE(head_request_due(t0 + 500ms, t0, true, false, t, &next));
    CHECK(*next == t0 + 1s);
    CHECK(head_request_due(t0 + 1s, t0, true, false, t));
    CHECK_FALSE(head_request_due(t0 + 90s, t0, true, true, t, &next)); // in flight: never
    CHECK_FALSE(next);
}

namespace {
// The file's attribute flags (FS_IOC_GETFLAGS), or -1.
int attribute_flags(const std::string& path) {
    adist::common::unique_fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    int flags = 0;
    return fd && adist::common::get_attribute_flags(fd.get(), &flags) == 0 ? flags : -1;
}

// Lifts append-only (the keeper sets it as root) so the tree can go.
void lift_append_only(const std::string& path) {
    adist::common::unique_fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    int flags = 0;
    if (fd && adist::common::get_attribute_flags(fd.get(), &flags) == 0)
        adist::common::set_attribute_flags(fd.get(), flags & ~FS_APPEND_FL);
}
} // namespace

TEST_CASE("receipt_keeper: receipts are appended durably, read back at a restart, never rewritten") {
    adist::test::temp_dir root("receipt");
    std::string path = root.path + "/receipts/web1/heads"; // directories made
    // The keeper makes the file append-only as root: lifted first, whatever
    // fails below, so that the directory can go.
    struct lift_at_end {
        std::string path;
        ~lift_at_end() { lift_append_only(path); }
    } lift{path};
    signer s;
    adist::sender::repeat_log repeats(std::chrono::milliseconds(600000));
    {
        receipt_keeper k(path, s.pub);
        REQUIRE(k.open());
        CHECK(k.summary().empty());
        // As root the file is append-only (where the file system has it).
        int flags = attribute_flags(path);
        if (::geteuid() == 0 && flags >= 0) CHECK((flags & FS_APPEND_FL) != 0);
        k.take(std::nullopt, "", repeats); // no head yet, nothing kept: fine
        CHECK(k.alert().empty());
        k.take(bytes_of(s.head(3, 0x31)), "", repeats);
        k.take(bytes_of(s.head(3, 0x31)), "", repeats); // the same: not again
        k.take(bytes_of(s.head(7, 0x71)), "", repeats);
        CHECK(std::filesystem::file_size(path) == 2 * ledger_head_size);
        CHECK(k.summary().rfind("entry 7, signed ", 0) == 0);
        CHECK(k.alert().empty());
    }
    receipt_keeper again(path, s.pub);
    REQUIRE(again.open());
    CHECK(again.summary().rfind("entry 7, signed ", 0) == 0);
    again.take(bytes_of(s.head(6, 0x61)), "", repeats); // went back: alert, not kept
    CHECK(again.alert().find("went back") != std::string::npos);
    again.take(std::nullopt, "", repeats); // heads removed on the receiver
    CHECK(again.alert().find("heads were removed") != std::string::npos);
    CHECK(std::filesystem::file_size(path) == 2 * ledger_head_size);
    // The file holds exactly the heads kept, as the receiver's heads file would.
    std::ifstream f(path, std::ios::binary);
    std::vector<char> all((std::istreambuf_iterator<char>(f)), {});
    std::string why;
    auto first = decode_ledger_head(std::as_bytes(std::span(all).first(ledger_head_size)), &why);
    REQUIRE(first);
    CHECK(first->seq == 3);
    CHECK(verify_ledger_head(*first, s.pub));
    // A partial record (a crash in the middle of a write): not appended to.
    { std::ofstream(path, std::ios::app | std::ios::binary) << "xx"; }
    receipt_keeper cut(path, s.pub);
    CHECK_FALSE(cut.open());
    CHECK(cut.problem().find("partial record") != std::string::npos);
}
