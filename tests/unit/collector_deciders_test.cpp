// Unit tests for the collector's deciders: the tamper check, rotation,
// per-uid rate limit, /proc parsing, tty names, file names and the
// directory check (collector/record_file.cpp, uid_limit.cpp, peer_info.cpp,
// setup.cpp).
#include "collector/peer_info.hpp"
#include "collector/record_file.hpp"
#include "collector/setup.hpp"
#include "collector/uid_limit.hpp"
#include "proto/trail_name.hpp"

#include <catch2/catch.hpp>
#include <cstdlib>
#include <fcntl.h>
#include <unistd.h>
#include <sys/stat.h>

using namespace adist::collector;
using adist::common::collector_rotate;

TEST_CASE("tamper: owner, mode, links, size and name each noticed") {
    file_facts ok{1000, 0600, 2, 500, true};
    CHECK_FALSE(tamper_problem(ok, ok));
    auto seen = ok;
    seen.owner = 0;
    CHECK(*tamper_problem(ok, seen) == "owner changed from uid 1000 to 0");
    seen = ok;
    seen.mode = 0644;
    CHECK(*tamper_problem(ok, seen) == "mode changed from 0600 to 0644");
    seen = ok;
    seen.links = 3;
    CHECK(tamper_problem(ok, seen)->starts_with("link count is 3, not 2"));
    seen = ok;
    seen.size = 600;
    CHECK(tamper_problem(ok, seen)->ends_with("(appended to)"));
    seen.size = 0;
    CHECK(tamper_problem(ok, seen)->ends_with("(truncated)"));
    seen = ok;
    seen.name_is_file = false;
    CHECK(tamper_problem(ok, seen)->starts_with("its name no longer leads"));
}

TEST_CASE("rotation: daily at the UTC day, size before the line that passes it") {
    std::int64_t day = 1700000000 - 1700000000 % 86400;
    CHECK_FALSE(rotation_due(collector_rotate::daily, 0, day, day + 86399, 1, 10));
    CHECK(rotation_due(collector_rotate::daily, 0, day + 5, day + 86400, 1, 10));
    CHECK_FALSE(rotation_due(collector_rotate::size, 1000, day, day, 900, 100));
    CHECK(rotation_due(collector_rotate::size, 1000, day, day, 901, 100));
    CHECK_FALSE(rotation_due(collector_rotate::size, 1000, day, day, 0, 5000)); // one big line
}

TEST_CASE("file names are valid trail names, renamed by the rules") {
    auto start = trail_time_text(1700000000);
    CHECK(start == "20231114221320");
    auto open = start + ".not_terminated";
    CHECK(adist::proto::classify_trail_name(open) == adist::proto::trail_kind::not_terminated);
    CHECK(adist::proto::is_valid_rename(open, start + "." + trail_time_text(1700000100)));
}

TEST_CASE("uid limit: one uid's flood is cut and counted, others pass") {
    uid_limit l(3);
    auto t = uid_limit::clock::time_point{} + std::chrono::hours(1);
    int passed = 0;
    for (int i = 0; i < 100; ++i)
        passed += l.allow(1000, t);
    CHECK(passed == 3);
    CHECK(l.allow(1001, t));
    auto counts = l.take_counts();
    REQUIRE(counts.size() == 1);
    CHECK(counts[0].uid == 1000);
    CHECK(counts[0].suppressed == 97);
    CHECK(l.take_counts().empty());                           // reported once
    CHECK(l.allow(1000, t + std::chrono::milliseconds(400))); // refilled 1.2 tokens
    CHECK_FALSE(l.allow(1000, t + std::chrono::milliseconds(400)));
    uid_limit none(0);
    for (int i = 0; i < 1000; ++i)
        REQUIRE(none.allow(5, t));
}

TEST_CASE("uid limit: refusals for a taken share are counted, with or without a rate") {
    auto t = uid_limit::clock::time_point{} + std::chrono::hours(1);
    for (unsigned rate : {0u, 5u}) {
        uid_limit l(rate);
        l.refused(1000, t);
        l.refused(1000, t);
        CHECK(l.allow(1000, t)); // a refusal takes no token
        auto counts = l.take_counts();
        REQUIRE(counts.size() == 1);
        CHECK(counts[0].uid == 1000);
        CHECK(counts[0].suppressed == 2);
        CHECK(l.take_counts().empty());
    }
}

TEST_CASE("uid limit: the table is bounded but never drops a count") {
    uid_limit l(1, 4);
    auto t = uid_limit::clock::time_point{} + std::chrono::hours(1);
    for (std::uint32_t uid = 0; uid < 4; ++uid) {
        l.allow(uid, t);
        l.allow(uid, t); // suppressed: kept
    }
    for (std::uint32_t uid = 10; uid < 20; ++uid)
        l.allow(uid, t + std::chrono::seconds(5));
    CHECK(l.take_counts().size() == 4);
}

TEST_CASE("/proc stat: fields after a command name with spaces and parentheses") {
    auto f = parse_proc_stat("4242 (a) b (c) S 4000 4242 4100 34817 4242 4194560 1 2 3 4 5 6 7 8 "
                             "20 0 1 0 987654 1000 2 3\n");
    REQUIRE(f.ok);
    CHECK(f.comm == "a) b (c");
    CHECK(f.ppid == 4000);
    CHECK(f.session == 4100);
    CHECK(f.tty_nr == 34817);
    CHECK(f.starttime == 987654);
    CHECK_FALSE(parse_proc_stat("no parenthesis").ok);
    CHECK_FALSE(parse_proc_stat("1 (x) S 2 3").ok);
}

TEST_CASE("tty names from tty_nr") {
    CHECK(tty_name(0).empty());
    CHECK(tty_name((136 << 8) | 3) == "pts/3");
    CHECK(tty_name((137 << 8) | 4) == "pts/260");
    CHECK(tty_name((4 << 8) | 1) == "tty1");
    CHECK(tty_name((4 << 8) | 64) == "ttyS0");
    // Minor numbers above 255 are split around the major.
    CHECK(tty_name((136 << 8) | (0x1 << 20) | 0x02) == "pts/258");
    CHECK(tty_name((5 << 8) | 1) == "dev:5:1");
}

TEST_CASE("collector directory: root-owned, daemon group, nobody else; the fix is named") {
    adist::common::user_ids daemon{110, 120};
    adist::common::user_ids self{0, 0};
    adist::common::dir_facts good{true, 0, 120, S_IFDIR | 0770};
    CHECK_FALSE(directory_problem("/d", good, "auditdistd", daemon, self));
    auto f = good;
    f.owner = 1000;
    CHECK(*directory_problem("/d", f, "auditdistd", daemon, self) ==
          "/d belongs to uid 1000, not root (chown root:auditdistd /d && chmod 0770 /d)");
    f = good;
    f.mode = S_IFDIR | 0773;
    CHECK(directory_problem("/d", f, "auditdistd", daemon, self)
              ->starts_with("/d is open to others"));
    f = good;
    f.group = 5;
    CHECK(directory_problem("/d", f, "auditdistd", daemon, self)->starts_with("/d has group 5"));
    f = good;
    f.mode = S_IFDIR | 0750;
    CHECK(
        directory_problem("/d", f, "auditdistd", daemon, self)->starts_with("/d is not writable"));
    f.is_directory = false;
    CHECK(*directory_problem("/d", f, "auditdistd", daemon, self) == "/d is not a directory");
    // Without a privilege drop: ours, writable by nobody else.
    adist::common::dir_facts own{true, 0, 0, S_IFDIR | 0700};
    CHECK_FALSE(directory_problem("/d", own, "x", std::nullopt, self));
    own.mode = S_IFDIR | 0722;
    CHECK(directory_problem("/d", own, "x", std::nullopt, self)
              ->starts_with("/d is writable by others"));
}

namespace {
// A collector's directory and dist directory under /tmp, removed after.
struct collector_dirs {
    std::string root, dir, dist;
    collector_dirs() {
        char tmpl[] = "/tmp/adist-seq-test.XXXXXX";
        REQUIRE(::mkdtemp(tmpl) != nullptr);
        root = tmpl;
        dir = root + "/c";
        dist = root + "/d";
        REQUIRE(::mkdir(dir.c_str(), 0700) == 0);
        REQUIRE(::mkdir(dist.c_str(), 0700) == 0);
    }
    ~collector_dirs() { (void)!std::system(("rm -rf " + root).c_str()); }
    record_file::options options() const {
        return {dir, dist, collector_rotate::daily, 0, "host", "boot"};
    }
};
// A fixed time in December 2026.
constexpr std::int64_t now = std::int64_t{1796000000} * 1000000000;
} // namespace

TEST_CASE(
    "record_file: the sequence goes on after a restart whose last line is longer than 64 KiB") {
    collector_dirs d;
    auto o = d.options();
    std::uint64_t long_seq = 0;
    {
        record_file f(o);
        REQUIRE_FALSE(f.open(now));
        claimed_info c;
        c.command = std::string(100000, '\x01'); // each byte written as \u0001: a 600 KB line
        c.command_length = c.command.size();
        auto b = f.base(now);
        long_seq = b.seq;
        std::string error;
        REQUIRE(f.write(encode_command(b, trusted_info{}, c), now, &error));
        // killed here: the file stays .not_terminated, its last line the long one
    }
    record_file g(o);
    REQUIRE_FALSE(g.open(now + 2000000000));
    // The previous file got a recovery record (long_seq + 1), the new file's
    // header the next: nothing goes back to a number already used.
    CHECK(g.base(now).seq == long_seq + 3);
}

TEST_CASE("record_file: the sequence goes on after a restart that finds a long line cut short") {
    collector_dirs d;
    auto o = d.options();
    std::uint64_t last_seq = 0;
    std::string name;
    {
        record_file f(o);
        REQUIRE_FALSE(f.open(now));
        auto b = f.base(now);
        last_seq = b.seq;
        std::string error;
        REQUIRE(f.write(encode_heartbeat(b), now, &error));
        name = f.file_name();
    }
    // Killed while writing a 200 KB line: no newline after its start.
    int fd = ::open((d.dir + "/" + name).c_str(), O_WRONLY | O_APPEND);
    REQUIRE(fd >= 0);
    std::string cut = "{\"type\":\"command\",\"seq\":" + std::to_string(last_seq + 1) + "," +
                      std::string(200000, 'x');
    REQUIRE(::write(fd, cut.data(), cut.size()) == ssize_t(cut.size()));
    ::close(fd);
    record_file g(o);
    REQUIRE_FALSE(g.open(now + 2000000000));
    // The cut line's number is unused: the recovery record takes the one
    // after the last whole line, then the new file's header.
    CHECK(g.base(now).seq == last_seq + 3);
}
