// Unit tests for the resumable SHA-256 (proto/sha256_state), the ledger's
// entries and chain walk (proto/ledger), signed heads (proto/ledger_head)
// and the receiver keeping a trail's digest across a restart without
// reading it back (receiver/trail_ledger through trail_store).
#include "proto/digest.hpp"
#include "proto/ledger.hpp"
#include "proto/ledger_head.hpp"
#include "proto/sha256_state.hpp"
#include "receiver/trail_store.hpp"
#include "temp_dir.hpp"

#include <catch2/catch.hpp>
#include <csignal>
#include <cstdlib>
#include <sys/resource.h>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <vector>

using namespace adist::proto;
using adist::proto::reply_error;

namespace {
std::vector<std::byte> bytes_of(std::size_t n, unsigned seed) {
    std::vector<std::byte> v(n);
    for (std::size_t i = 0; i < n; ++i) v[i] = static_cast<std::byte>((i * 131 + seed * 7) & 0xff);
    return v;
}

file_digest stream_digest(std::span<const std::byte> b) {
    sha256_stream s;
    s.update(b);
    return s.current();
}

const std::string trail_a = "20240101000000.not_terminated";
const std::string trail_a_end = "20240101000000.20240101010000";
const std::string trail_b = "20240101020000.not_terminated";

ledger_entry commit_entry(const std::string& trail, std::span<const std::byte> all, std::uint64_t from,
                          std::uint64_t to) {
    sha256_state s;
    s.update(all.first(to));
    ledger_entry e;
    e.trail = trail;
    e.offset = from;
    e.length = to - from;
    e.prefix = s.current().sha256;
    e.state = s.midstate();
    return e;
}

// Encodes entries as a ledger would be written: seq and prev filled in.
std::vector<std::array<std::byte, ledger_entry_size>> chain(std::vector<ledger_entry> entries) {
    std::vector<std::array<std::byte, ledger_entry_size>> out;
    sha256_digest prev{};
    for (std::size_t i = 0; i < entries.size(); ++i) {
        entries[i].seq = i;
        entries[i].prev = prev;
        out.push_back(encode_ledger_entry(entries[i]));
        prev = ledger_hash(out.back());
    }
    return out;
}

std::string proto_ledger_path(const std::string& host) {
    return ledger_directory(host) + "/" + std::string(ledger_file_name);
}

std::string walk(const std::vector<std::array<std::byte, ledger_entry_size>>& encoded) {
    ledger_walker w;
    for (const auto& e : encoded)
        if (auto problem = w.feed(e); !problem.empty()) return problem;
    return {};
}

// The host's ledger file as written, walked: every entry must chain.
ledger_walker walk_file(const std::string& host) {
    std::ifstream in(proto_ledger_path(host), std::ios::binary);
    std::vector<char> all((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    REQUIRE(all.size() % ledger_entry_size == 0);
    ledger_walker w;
    for (std::size_t off = 0; off < all.size(); off += ledger_entry_size) {
        CHECK(w.feed(std::as_bytes(std::span(all.data() + off, ledger_entry_size))) == "");
    }
    return w;
}

// A host directory in a fresh temporary directory, and its store with
// trail_a open (as a session that OPENed it).
struct host_with_trail {
    adist::test::temp_dir dir{"ledger"};
    std::string host = dir.path + "/web1";
    std::unique_ptr<adist::receiver::trail_store> store;
    host_with_trail() {
        std::string error;
        store = adist::receiver::trail_store::open(host, std::nullopt, &error);
        REQUIRE(store);
        REQUIRE(store->scan_newest().refusal.empty());
        REQUIRE(store->open(trail_a) == reply_error::ok);
    }
};

// Writes stop at `limit` bytes per file, as on a full disk (RLIMIT_FSIZE,
// SIGXFSZ ignored), until the end of the scope.
struct file_size_limit {
    rlimit saved{};
    void (*old_handler)(int) = nullptr;
    explicit file_size_limit(rlim_t limit) {
        REQUIRE(::getrlimit(RLIMIT_FSIZE, &saved) == 0);
        old_handler = std::signal(SIGXFSZ, SIG_IGN);
        rlimit l = saved;
        l.rlim_cur = limit;
        REQUIRE(::setrlimit(RLIMIT_FSIZE, &l) == 0);
    }
    ~file_size_limit() {
        ::setrlimit(RLIMIT_FSIZE, &saved);
        std::signal(SIGXFSZ, old_handler);
    }
    file_size_limit(const file_size_limit&) = delete;
    file_size_limit& operator=(const file_size_limit&) = delete;
};
} // namespace

TEST_CASE("sha256_state: a state written down and taken up again goes on like an unbroken one") {
    auto data = bytes_of(5000, 1);
    for (std::size_t cut : {0u, 1u, 55u, 63u, 64u, 65u, 127u, 128u, 1000u, 4999u}) {
        sha256_state first;
        first.update(std::span(data).first(cut));
        CHECK(first.current() == stream_digest(std::span(data).first(cut)));
        auto resumed = sha256_state::resume(first.midstate());
        REQUIRE(resumed);
        resumed->update(std::span(data).subspan(cut));
        CHECK(resumed->current() == stream_digest(data));
        CHECK(resumed->size() == data.size());
    }
}

TEST_CASE("sha256_state: impossible states are refused") {
    sha256_state s;
    s.update(bytes_of(70, 2));
    auto m = s.midstate();
    m.partial[10] = std::byte{1}; // 70 % 64 = 6 bytes only
    CHECK_FALSE(sha256_state::resume(m));
    m = s.midstate();
    m.size = std::uint64_t{1} << 62;
    CHECK_FALSE(sha256_state::resume(m));
}

TEST_CASE("ledger: an entry round-trips; damaged entries are refused with a reason") {
    auto data = bytes_of(300, 3);
    auto e = commit_entry(trail_a, data, 100, 300);
    e.seq = 7;
    e.time = 1700000000;
    auto enc = encode_ledger_entry(e);
    std::string why;
    auto back = decode_ledger_entry(enc, &why);
    REQUIRE(back);
    CHECK(back->trail == trail_a);
    CHECK(back->offset == 100);
    CHECK(back->length == 200);
    CHECK(back->seq == 7);
    CHECK(back->prefix == e.prefix);
    CHECK(encode_ledger_entry(*back) == enc);

    auto bad = enc;
    bad[0] = std::byte{'X'};
    CHECK_FALSE(decode_ledger_entry(bad, &why));
    bad = enc;
    bad[104] ^= std::byte{1}; // the prefix digest no longer follows from the state
    CHECK_FALSE(decode_ledger_entry(bad, &why));
    CHECK(why.find("prefix") != std::string::npos);
    bad = enc;
    bad[24] = std::byte{'/'}; // not a trail name
    CHECK_FALSE(decode_ledger_entry(bad, &why));
    CHECK_FALSE(decode_ledger_entry(std::span(enc).first(100), &why));
}

TEST_CASE("ledger: a continuous history walks; gaps, reordering, edits and growth after close do not") {
    auto a = bytes_of(1000, 4);
    auto b = bytes_of(200, 5);
    auto close = commit_entry(trail_a_end, a, 0, 1000);
    close.kind = ledger_kind::close;
    close.from = trail_a;
    std::vector<ledger_entry> good = {commit_entry(trail_a, a, 0, 400), commit_entry(trail_a, a, 400, 1000),
                                      close, commit_entry(trail_b, b, 0, 200)};
    auto enc = chain(good);
    ledger_walker w;
    for (const auto& e : enc) REQUIRE(w.feed(e).empty());
    CHECK(w.count() == 4);
    CHECK(w.trails().at(trail_a_end).closed);
    CHECK(w.trails().at(trail_a_end).end == 1000);
    CHECK(w.trails().count(trail_a) == 0);
    CHECK(w.hash_at(3) == w.head());

    SECTION("a gap in a trail's bytes") {
        auto gap = good;
        gap[1] = commit_entry(trail_a, a, 500, 1000);
        CHECK(walk(chain(gap)).find("gap") != std::string::npos);
    }
    SECTION("two entries swapped") {
        auto swapped = enc;
        std::swap(swapped[1], swapped[2]);
        CHECK(walk(swapped).find("numbered") != std::string::npos);
    }
    SECTION("an entry dropped from the middle") {
        auto dropped = enc;
        dropped.erase(dropped.begin() + 1);
        CHECK_FALSE(walk(dropped).empty());
    }
    SECTION("an entry rewritten in place (re-chained after it too)") {
        auto edited = enc;
        auto e = good[0];
        e.time = 5; // any change to an entry's bytes
        e.seq = 0;
        edited[0] = encode_ledger_entry(e);
        CHECK(walk(edited).find("hash chain") != std::string::npos);
    }
    SECTION("bytes after a close") {
        auto more = good;
        auto longer = bytes_of(1100, 4);
        std::copy(a.begin(), a.end(), longer.begin());
        more.push_back(commit_entry(trail_a_end, longer, 1000, 1100));
        CHECK(walk(chain(more)).find("after its close") != std::string::npos);
    }
    SECTION("a close that claims more than was committed") {
        auto wrong = good;
        wrong[2] = commit_entry(trail_a_end, bytes_of(1200, 4), 0, 1200);
        wrong[2].kind = ledger_kind::close;
        wrong[2].from = trail_a;
        CHECK_FALSE(walk(chain(wrong)).empty());
    }
}

TEST_CASE("ledger: the ledger lives beside the host directory, never inside") {
    CHECK(ledger_directory("/var/audit/remote/web1") == "/var/audit/remote/.auditdistd-ledger/web1");
    CHECK(ledger_root("/srv/h") == "/srv/.auditdistd-ledger");
    CHECK(ledger_directory("/h") == "/.auditdistd-ledger/h");
}

TEST_CASE("ledger_head: signed heads verify with their key only, and decode back") {
    auto seed = new_ed25519_seed();
    REQUIRE(seed);
    auto pub = ed25519_public_of(*seed);
    REQUIRE(pub);
    ledger_head h;
    h.seq = 41;
    h.time = 1700000000;
    h.entry[0] = 9;
    h.genesis[5] = 3;
    REQUIRE(sign_ledger_head(h, *seed));
    CHECK(verify_ledger_head(h, *pub));
    auto enc = encode_ledger_head(h);
    std::string why;
    auto back = decode_ledger_head(enc, &why);
    REQUIRE(back);
    CHECK(verify_ledger_head(*back, *pub));
    auto moved = *back;
    moved.seq = 40;
    CHECK_FALSE(verify_ledger_head(moved, *pub));
    auto other = new_ed25519_seed();
    CHECK_FALSE(verify_ledger_head(h, *ed25519_public_of(*other)));
    enc[0] = std::byte{0};
    CHECK_FALSE(decode_ledger_head(enc, &why));
    CHECK(parse_ledger_key(format_ledger_key(*pub)) == pub);
    CHECK_FALSE(parse_ledger_key("ed25519:zz"));
}

TEST_CASE("trail_ledger: a restarted store takes a trail's digest from the ledger, reading nothing back") {
    char tmpl[] = "/tmp/adist_ledger_XXXXXX";
    std::string root = ::mkdtemp(tmpl);
    std::string host = root + "/web1";
    auto data = bytes_of(100000, 6);
    std::string error;
    {
        auto store = adist::receiver::trail_store::open(host, std::nullopt, &error);
        REQUIRE(store);
        REQUIRE(store->ledger());
        REQUIRE(store->scan_newest().refusal.empty());
        REQUIRE(store->open(trail_a) == reply_error::ok);
        REQUIRE(store->append(std::span(data).first(60000)) == reply_error::ok);
        REQUIRE(store->sync_data() == 0);
        REQUIRE(store->append(std::span(data).subspan(60000)) == reply_error::ok);
        REQUIRE(store->sync_data() == 0);
        REQUIRE(store->detach() == 0);
    }
    auto store = adist::receiver::trail_store::open(host, std::nullopt, &error);
    REQUIRE(store);
    REQUIRE(store->scan_newest().newest.size == 100000);
    auto d = store->stored_digest(trail_a, 100000);
    REQUIRE(d);
    CHECK(*d == stream_digest(data));
    CHECK(store->ledger()->bytes_reread() == 0);
    REQUIRE(store->open(trail_a) == reply_error::ok);
    auto expected = stream_digest(data);
    CHECK(store->close(trail_a_end, &expected) == reply_error::ok);
    CHECK(store->ledger()->bytes_reread() == 0);
    // Root appends two bytes to a closed trail behind the receiver's back:
    // a new store adopts nothing silently; the ledger walk still says closed.
    std::filesystem::remove_all(root);
}

TEST_CASE("trail_ledger: two stores of one host directory (a reload) keep one unbroken chain") {
    char tmpl[] = "/tmp/adist_ledger_XXXXXX";
    std::string root = ::mkdtemp(tmpl);
    std::string host = root + "/web1";
    auto data = bytes_of(30000, 7);
    std::string error;
    auto old_store = adist::receiver::trail_store::open(host, std::nullopt, &error);
    REQUIRE(old_store);
    REQUIRE(old_store->scan_newest().refusal.empty());
    REQUIRE(old_store->open(trail_a) == reply_error::ok);
    REQUIRE(old_store->append(std::span(data).first(10000)) == reply_error::ok);
    REQUIRE(old_store->sync_data() == 0);
    // The reload's new store opens while the old session still commits.
    auto new_store = adist::receiver::trail_store::open(host, std::nullopt, &error);
    REQUIRE(new_store);
    REQUIRE(old_store->append(std::span(data).subspan(10000, 10000)) == reply_error::ok);
    REQUIRE(old_store->detach() == 0);
    REQUIRE(new_store->scan_newest().newest.size == 20000);
    REQUIRE(new_store->open(trail_a) == reply_error::ok);
    REQUIRE(new_store->append(std::span(data).subspan(20000)) == reply_error::ok);
    auto expected = stream_digest(data);
    REQUIRE(new_store->close(trail_a_end, &expected) == reply_error::ok);
    CHECK(new_store->ledger()->bytes_reread() == 0);

    auto w = walk_file(host);
    CHECK(w.count() == 5); // created, commit, commit, commit, close
    CHECK(w.trails().at(trail_a_end).closed);
    CHECK(w.trails().at(trail_a_end).prefix == expected.sha256);
    std::filesystem::remove_all(root);
}

TEST_CASE("trail_ledger: bytes someone else appends are read from the file into the digest") {
    char tmpl[] = "/tmp/adist_ledger_XXXXXX";
    std::string root = ::mkdtemp(tmpl);
    std::string host = root + "/web1";
    auto data = bytes_of(20000, 8);
    std::string error;
    auto store = adist::receiver::trail_store::open(host, std::nullopt, &error);
    REQUIRE(store);
    REQUIRE(store->scan_newest().refusal.empty());
    REQUIRE(store->open(trail_a) == reply_error::ok);
    REQUIRE(store->append(std::span(data).first(10000)) == reply_error::ok);
    REQUIRE(store->sync_data() == 0);
    {
        std::ofstream other(host + "/" + trail_a, std::ios::binary | std::ios::app);
        other << "!!"; // root, with +a allowing appends
    }
    REQUIRE(store->append(std::span(data).subspan(10000)) == reply_error::ok);
    REQUIRE(store->sync_data() == 0);
    std::vector<std::byte> file(data.begin(), data.begin() + 10000);
    file.push_back(std::byte{'!'});
    file.push_back(std::byte{'!'});
    file.insert(file.end(), data.begin() + 10000, data.end());
    auto stored = store->stored_digest(trail_a);
    REQUIRE(stored);
    CHECK(*stored == stream_digest(file));
    CHECK(store->ledger()->bytes_reread() == 10002);
    auto sender = stream_digest(data);
    CHECK(store->close(trail_a_end, &sender) == reply_error::digest_mismatch);
    std::filesystem::remove_all(root);
}

// A full disk cutting a ledger entry short, played with the file size limit
// (writes stop at it as at a full disk, without a mount).
TEST_CASE("trail_ledger: a full disk cuts an entry short: finished first, no failed sync") {
    host_with_trail h;
    auto& store = h.store;
    auto data = bytes_of(300, 9);
    REQUIRE(store->append(std::span(data).first(100)) == reply_error::ok);
    REQUIRE(store->sync_data() == 0);
    auto ledger_size = [&] { return std::filesystem::file_size(proto_ledger_path(h.host)); };
    REQUIRE(ledger_size() == 2 * ledger_entry_size); // created, commit
    {
        file_size_limit full(2 * ledger_entry_size + 100); // room for 100 bytes of the next entry
        REQUIRE(store->append(std::span(data).subspan(100, 100)) == reply_error::ok);
        CHECK(store->sync_data() == ENOSPC);
        CHECK(ledger_size() == 2 * ledger_entry_size + 100);
        CHECK(store->sync_data() == ENOSPC); // still full: nothing more written
        CHECK(ledger_size() == 2 * ledger_entry_size + 100);
        // Not a failed sync: no marker, the host is not refused.
        CHECK_FALSE(store->sync_failed());
        CHECK(store->sync_failure().empty());
        CHECK_FALSE(std::filesystem::exists(h.host + "/.auditdistd-sync-failed"));
    }
    // Room again: the cut entry is finished, then the next one.
    REQUIRE(store->append(std::span(data).subspan(200)) == reply_error::ok);
    REQUIRE(store->sync_data() == 0);
    auto expected = stream_digest(data);
    REQUIRE(store->close(trail_a_end, &expected) == reply_error::ok);
    auto w = walk_file(h.host);
    CHECK(w.count() == 5); // created, commit, the cut commit, commit, close
    CHECK(w.trails().at(trail_a_end).closed);
    CHECK(w.trails().at(trail_a_end).prefix == expected.sha256);
    // A restarted receiver reads the ledger as whole.
    std::string error;
    auto again = adist::receiver::trail_store::open(h.host, std::nullopt, &error);
    REQUIRE(again);
    CHECK(again->ledger() != nullptr);
}

TEST_CASE("trail_ledger: a store closed with an entry cut short leaves it whole given room") {
    host_with_trail h;
    auto data = bytes_of(200, 10);
    REQUIRE(h.store->append(std::span(data).first(100)) == reply_error::ok);
    {
        file_size_limit full(ledger_entry_size + 50); // the created entry, 50 bytes of the commit
        REQUIRE(h.store->sync_data() == ENOSPC);
    }
    REQUIRE(std::filesystem::file_size(proto_ledger_path(h.host)) == ledger_entry_size + 50);
    // Room again, but no further commit: the store goes (a stop).
    h.store.reset();
    REQUIRE(std::filesystem::file_size(proto_ledger_path(h.host)) % ledger_entry_size == 0);
    std::string error;
    auto again = adist::receiver::trail_store::open(h.host, std::nullopt, &error);
    REQUIRE(again);
    CHECK(again->ledger() != nullptr); // not "damaged": its last entry is whole
    walk_file(h.host);
}

TEST_CASE("trail_ledger: a close entry that finds no room leaves the ledger at its chain") {
    host_with_trail h;
    auto data = bytes_of(100, 11);
    REQUIRE(h.store->append(data) == reply_error::ok);
    REQUIRE(h.store->sync_data() == 0);
    REQUIRE(std::filesystem::file_size(proto_ledger_path(h.host)) == 2 * ledger_entry_size);
    auto expected = stream_digest(data);
    {
        file_size_limit full(2 * ledger_entry_size); // not one byte more
        CHECK(h.store->close(trail_a_end, &expected) == reply_error::write);
    }
    CHECK(std::filesystem::file_size(proto_ledger_path(h.host)) == 2 * ledger_entry_size);
    // The chain's last word on the trail is its commit under trail_a: the
    // ledger still tracks it there, not closed and not under the new name.
    auto* ledger = h.store->ledger();
    REQUIRE(ledger != nullptr);
    auto tracked = ledger->committed(trail_a);
    REQUIRE(tracked);
    CHECK(*tracked == expected);
    CHECK_FALSE(ledger->committed(trail_a_end));
    auto w = walk_file(h.host);
    CHECK(w.count() == 2);
    CHECK_FALSE(w.trails().at(trail_a).closed);
}

namespace {
// The trail's file under its final name and the ledger's last entry of it
// under trail_a: a CLOSE that renamed it and found no room for its entry.
void close_with_no_room(host_with_trail& h, const std::vector<std::byte>& data) {
    REQUIRE(h.store->append(data) == reply_error::ok);
    REQUIRE(h.store->sync_data() == 0);
    auto expected = stream_digest(data);
    {
        file_size_limit full(2 * ledger_entry_size);
        CHECK(h.store->close(trail_a_end, &expected) == reply_error::write);
    }
    REQUIRE(std::filesystem::exists(h.host + "/" + trail_a_end));
    REQUIRE_FALSE(std::filesystem::exists(h.host + "/" + trail_a));
    REQUIRE(h.store->detach() == 0); // the session ends on the refusal
}

// The sender comes back: it is told the newest trail and OPENs it again.
void reopen_final(host_with_trail& h) {
    auto scan = h.store->scan_newest();
    REQUIRE(scan.refusal.empty());
    CHECK(scan.newest.name == trail_a_end);
    REQUIRE(h.store->open(trail_a_end) == reply_error::ok);
}
} // namespace

TEST_CASE("trail_ledger: a rename whose entry found no room is written when the trail comes back") {
    host_with_trail h;
    auto data = bytes_of(100, 12);
    auto more = bytes_of(10, 13);
    auto all = data;
    all.insert(all.end(), more.begin(), more.end());
    SECTION("a CLOSE that renamed") {
        close_with_no_room(h, data);
    }
    SECTION("an OPEN that renamed") {
        REQUIRE(h.store->append(data) == reply_error::ok);
        REQUIRE(h.store->sync_data() == 0);
        REQUIRE(h.store->detach() == 0);
        {
            file_size_limit full(2 * ledger_entry_size);
            CHECK(h.store->open(trail_a_end) == reply_error::rename);
        }
        REQUIRE(std::filesystem::exists(h.host + "/" + trail_a_end));
    }
    reopen_final(h);
    auto* ledger = h.store->ledger();
    REQUIRE(ledger != nullptr);
    auto tracked = ledger->committed(trail_a_end);
    REQUIRE(tracked);
    CHECK(*tracked == stream_digest(data));
    REQUIRE(h.store->append(more) == reply_error::ok);
    REQUIRE(h.store->sync_data() == 0);
    auto expected = stream_digest(all);
    REQUIRE(h.store->close(trail_a_end, &expected) == reply_error::ok);
    // The chain follows the file: created, committed, renamed, committed,
    // closed; the old name is not left "missing", the new one neither
    // adopted nor recovered.
    auto w = walk_file(h.host);
    CHECK(w.count() == 5);
    CHECK(w.trails().count(trail_a) == 0);
    REQUIRE(w.trails().count(trail_a_end) == 1);
    const auto& t = w.trails().at(trail_a_end);
    CHECK(t.closed);
    CHECK(t.end == all.size());
    CHECK_FALSE(t.adopted);
    CHECK(t.recovered == 0);
}

TEST_CASE("trail_ledger: a rename it did not see written is never recorded as the receiver's") {
    host_with_trail h;
    auto data = bytes_of(100, 14);
    SECTION("its own, but before a restart: it cannot tell any more") {
        close_with_no_room(h, data);
        h.store.reset();
        std::string error;
        h.store = adist::receiver::trail_store::open(h.host, std::nullopt, &error);
        REQUIRE(h.store);
    }
    SECTION("someone else's, while no session ran") {
        REQUIRE(h.store->append(data) == reply_error::ok);
        REQUIRE(h.store->sync_data() == 0);
        REQUIRE(h.store->detach() == 0);
        std::filesystem::rename(h.host + "/" + trail_a, h.host + "/" + trail_a_end);
    }
    reopen_final(h);
    // Adopted, and the old name left in the ledger: verify reports it
    // missing, as it must.
    auto w = walk_file(h.host);
    CHECK(w.trails().count(trail_a) == 1);
    REQUIRE(w.trails().count(trail_a_end) == 1);
    CHECK(w.trails().at(trail_a_end).adopted);
}

TEST_CASE("trail_ledger: the rename owed is written only while it is still true") {
    host_with_trail h;
    auto data = bytes_of(100, 15);
    close_with_no_room(h, data);
    SECTION("by a version 1 handshake, which asks the newest trail's digest") {
        auto scan = h.store->scan_newest();
        REQUIRE(scan.newest.name == trail_a_end);
        auto d = h.store->stored_digest(trail_a_end, scan.newest.size);
        REQUIRE(d);
        CHECK(*d == stream_digest(data));
        auto w = walk_file(h.host);
        CHECK(w.count() == 3);
        CHECK(w.trails().count(trail_a) == 0);
    }
    SECTION("still no room when the sender comes back: refused, and written once there is") {
        {
            file_size_limit full(2 * ledger_entry_size);
            REQUIRE(h.store->scan_newest().refusal.empty());
            CHECK(h.store->open(trail_a_end) != reply_error::ok);
        }
        CHECK(walk_file(h.host).count() == 2);
        reopen_final(h);
        auto w = walk_file(h.host);
        CHECK(w.count() == 3);
        CHECK(w.trails().count(trail_a) == 0);
        CHECK_FALSE(w.trails().at(trail_a_end).adopted);
    }
    SECTION("cut short since: refused, nothing written") {
        std::filesystem::resize_file(h.host + "/" + trail_a_end, 50);
        REQUIRE(h.store->scan_newest().refusal.empty());
        CHECK(h.store->open(trail_a_end) != reply_error::ok);
        CHECK(h.store->last_error().find("cut after") != std::string::npos);
        CHECK(walk_file(h.host).count() == 2);
    }
    SECTION("another entry in the ledger since (a reload's store): adopted instead") {
        {
            std::string error;
            auto other = adist::receiver::trail_store::open(h.host, std::nullopt, &error);
            REQUIRE(other);
            REQUIRE(other->scan_newest().refusal.empty());
            REQUIRE(other->open(trail_b) == reply_error::ok); // its creation's entry
            REQUIRE(other->detach() == 0);
            std::filesystem::remove(h.host + "/" + trail_b);
        }
        reopen_final(h);
        auto w = walk_file(h.host);
        CHECK(w.trails().count(trail_a) == 1);
        CHECK(w.trails().at(trail_a_end).adopted);
    }
}
