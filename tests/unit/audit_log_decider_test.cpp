// Unit tests for privileged/audit_log_decider: auditd's rotations, restarts
// with generations already linked, crashes between a link and its record,
// truncation, and names that always increase.
#include "privileged/audit_log_decider.hpp"
#include "proto/trail_name.hpp"

#include <catch2/catch.hpp>
#include <sys/stat.h>

using namespace adist::privileged;
using kind = link_action::kind;

namespace {

constexpr std::int64_t t0 = 1700000000; // 20231114221320
const std::string s0 = "20231114221320";

log_generation gen(std::string file, std::uint64_t ino, std::uint64_t size) {
    bool current = file == "audit.log";
    return {std::move(file), 1, ino, size, S_IFREG | (current ? 0600u : 0400u), 7, current};
}

// Carries out a decision the way the linker does, on a model dist directory.
void carry_out(const link_decision& d, std::vector<dist_trail>& dist) {
    for (const auto& a : d.actions) {
        if (a.what == kind::link) {
            dist.push_back({a.to, a.dev, a.ino, 7}); // gen()'s birth
            continue;
        }
        for (auto& t : dist)
            if (t.name == a.from) t.name = a.to;
    }
}

} // namespace

TEST_CASE("audit_log: first start links every generation, oldest first", "[audit_log]") {
    auto d = decide_links(
        {}, {gen("audit.log.2", 12, 100), gen("audit.log.1", 11, 100), gen("audit.log", 10, 5)}, {},
        t0);
    REQUIRE(d.actions.size() == 3);
    CHECK(d.actions[0] == link_action{kind::link, "audit.log.2", 1, 12, "", s0 + "." + s0});
    CHECK(d.actions[1].file == "audit.log.1");
    CHECK(d.actions[1].to == "20231114221321.20231114221321");
    CHECK(d.actions[2].file == "audit.log");
    CHECK(d.actions[2].to == "20231114221322.not_terminated");
    for (const auto& a : d.actions)
        CHECK(adist::proto::is_valid_trail_name(a.to));
    CHECK(d.next.last_start == t0 + 2);
    CHECK(d.next.linked.size() == 3);
    CHECK(d.warnings.empty());
}

TEST_CASE("audit_log: a rotation renames the open link, then links the new log", "[audit_log]") {
    std::vector<dist_trail> dist;
    auto d = decide_links({}, {gen("audit.log", 10, 5)}, dist, t0);
    carry_out(d, dist);
    // auditd: fchmod 0400, close, rename audit.log -> audit.log.1 (no new log yet).
    auto mid = decide_links(d.next, {gen("audit.log.1", 10, 80)}, dist, t0 + 7);
    REQUIRE(mid.actions.size() == 1);
    CHECK(mid.actions[0] ==
          link_action{kind::rename, "", 0, 0, s0 + ".not_terminated", s0 + ".20231114221327"});
    carry_out(mid, dist);
    auto after =
        decide_links(mid.next, {gen("audit.log.1", 10, 80), gen("audit.log", 20, 0)}, dist, t0 + 7);
    REQUIRE(after.actions.size() == 1);
    CHECK(after.actions[0].what == kind::link);
    CHECK(after.actions[0].ino == 20);
    CHECK(after.actions[0].to == "20231114221327.not_terminated");
    // Nothing changes: nothing to do.
    carry_out(after, dist);
    auto idle = decide_links(after.next, {gen("audit.log.1", 10, 80), gen("audit.log", 20, 9)},
                             dist, t0 + 9);
    CHECK(idle.actions.empty());
}

TEST_CASE("audit_log: names strictly increase in a storm of rotations", "[audit_log]") {
    std::vector<dist_trail> dist;
    linker_state s;
    std::string last;
    for (std::uint64_t i = 0; i < 50; ++i) {
        auto d =
            decide_links(s, {gen("audit.log.1", 100 + i - 1, 10), gen("audit.log", 100 + i, 0)},
                         dist, t0 + static_cast<std::int64_t>(i) / 10); // 10 a second
        for (const auto& a : d.actions) {
            if (a.what != kind::link) continue;
            CHECK(a.to > last);
            last = a.to;
        }
        carry_out(d, dist);
        s = d.next;
    }
    CHECK(s.last_start >= t0 + 49);
    // Files gone from the log directory are forgotten after forget_after_s.
    CHECK(s.linked.size() <= 2 + 10 * (forget_after_s + 1));
}

TEST_CASE("audit_log: a restart never links twice and never skips", "[audit_log]") {
    std::vector<dist_trail> dist;
    auto d = decide_links({}, {gen("audit.log", 10, 5)}, dist, t0);
    carry_out(d, dist);
    // Down for three rotations with num_logs 3: 10 is now audit.log.3.
    std::vector<log_generation> seen = {gen("audit.log.3", 10, 50), gen("audit.log.2", 11, 50),
                                        gen("audit.log.1", 12, 50), gen("audit.log", 13, 1)};
    auto r = decide_links(d.next, seen, dist, t0 + 100);
    REQUIRE(r.actions.size() == 4);
    CHECK(r.actions[0].what == kind::rename);
    CHECK(r.actions[1].ino == 11);
    CHECK(r.actions[2].ino == 12);
    CHECK(r.actions[3].ino == 13);
    CHECK(r.actions[3].to.ends_with(".not_terminated"));
    carry_out(r, dist);
    CHECK(decide_links(r.next, seen, dist, t0 + 200).actions.empty());
}

TEST_CASE("audit_log: a link made just before a crash is adopted, not made again", "[audit_log]") {
    std::vector<dist_trail> dist = {{"20231114221320.not_terminated", 1, 10, 7}};
    auto d = decide_links({}, {gen("audit.log", 10, 5)}, dist, t0 + 50);
    CHECK(d.actions.empty());
    REQUIRE(d.next.linked.size() == 1);
    CHECK(d.next.linked[0].name == "20231114221320.not_terminated");
    // A rename done but not recorded: the dist directory's name wins.
    linker_state old = d.next;
    dist[0].name = "20231114221320.20231114221400";
    auto r = decide_links(old, {gen("audit.log.1", 10, 5), gen("audit.log", 11, 0)}, dist, t0 + 60);
    REQUIRE(r.actions.size() == 1);
    CHECK(r.actions[0].what == kind::link);
    CHECK(r.actions[0].to > "20231114221320.20231114221400");
}

TEST_CASE("audit_log: a truncated log is closed as crash_recovery, never spliced", "[audit_log]") {
    std::vector<dist_trail> dist;
    auto d = decide_links({}, {gen("audit.log", 10, 500)}, dist, t0);
    carry_out(d, dist);
    // copytruncate: the copy (new inode) becomes audit.log.1, the log is emptied.
    auto t =
        decide_links(d.next, {gen("audit.log.1", 11, 500), gen("audit.log", 10, 0)}, dist, t0 + 1);
    REQUIRE(t.actions.size() == 3);
    CHECK(t.actions[0] ==
          link_action{kind::rename, "", 0, 0, s0 + ".not_terminated", s0 + ".crash_recovery"});
    CHECK(t.actions[1].ino == 11); // the copy: a generation of its own
    CHECK(t.actions[2].ino == 10); // the emptied log: a new trail from byte 0
    CHECK(t.actions[2].to.ends_with(".not_terminated"));
    CHECK(t.actions[2].to > t.actions[1].to);
    REQUIRE(t.warnings.size() == 1);
    CHECK(t.warnings[0].find("possible tampering") != std::string::npos);
    // A crash before the new link: the restart links it (the record of the
    // crash_recovery link does not count as linked).
    carry_out({{t.actions[0]}, {}, {}}, dist);
    auto again = decide_links(d.next, {gen("audit.log", 10, 3)}, dist, t0 + 2);
    REQUIRE(again.actions.size() == 1);
    CHECK(again.actions[0].what == kind::link);
    CHECK(again.actions[0].ino == 10);
    CHECK(again.actions[0].to.ends_with(".not_terminated"));
}

TEST_CASE("audit_log: an open generation gone from the log directory is closed", "[audit_log]") {
    std::vector<dist_trail> dist;
    auto d = decide_links({}, {gen("audit.log", 10, 5)}, dist, t0);
    carry_out(d, dist);
    // One listing without it proves nothing (a rename during readdir).
    auto g = decide_links(d.next, {gen("audit.log", 30, 0)}, dist, t0 + 3);
    REQUIRE(g.actions.size() == 1);
    CHECK(g.actions[0].ino == 30);
    CHECK(g.warnings.empty());
    carry_out(g, dist);
    auto later = decide_links(g.next, {gen("audit.log", 30, 0)}, dist, t0 + forget_after_s);
    REQUIRE(later.actions.size() == 1);
    CHECK(later.actions[0].what == kind::rename);
    CHECK(later.actions[0].from == s0 + ".not_terminated");
    CHECK(later.warnings.size() == 1);
    CHECK(later.next.linked.size() == 1);
}

TEST_CASE("audit_log: a file one listing missed is not linked again", "[audit_log]") {
    std::vector<dist_trail> dist;
    auto d = decide_links({}, {gen("audit.log.1", 11, 50), gen("audit.log", 12, 5)}, dist, t0);
    carry_out(d, dist);
    auto missed = decide_links(d.next, {gen("audit.log", 12, 6)}, dist, t0 + 1);
    CHECK(missed.actions.empty());
    auto again = decide_links(missed.next, {gen("audit.log.1", 11, 50), gen("audit.log", 12, 7)},
                              dist, t0 + 2);
    CHECK(again.actions.empty());
}

TEST_CASE("audit_log: not a regular file, not linked", "[audit_log]") {
    auto g = gen("audit.log", 10, 0);
    g.mode = S_IFIFO | 0600;
    auto d = decide_links({}, {g}, {}, t0);
    CHECK(d.actions.empty());
    CHECK(d.warnings.size() == 1);
}

TEST_CASE("audit_log: starts follow the dist directory's newest trail", "[audit_log]") {
    std::vector<dist_trail> dist = {{"20300101000000.20300101000100", 1, 99}};
    auto d = decide_links({}, {gen("audit.log", 10, 5)}, dist, t0);
    REQUIRE(d.actions.size() == 1);
    CHECK(d.actions[0].to == "20300101000001.not_terminated");
}

TEST_CASE("audit_log: an inode number used again is another generation", "[audit_log]") {
    std::vector<dist_trail> dist;
    auto d = decide_links({}, {gen("audit.log.1", 10, 50), gen("audit.log", 11, 5)}, dist, t0);
    carry_out(d, dist);
    dist.clear(); // both shipped and unlinked by the sender
    // Down for two rotations: 10 and 11 are gone, their numbers reused.
    auto reborn = gen("audit.log", 10, 3);
    reborn.birth = 99;
    auto r = decide_links(d.next, {gen("audit.log.2", 11, 60), gen("audit.log.1", 12, 40), reborn},
                          dist, t0 + 10);
    REQUIRE(r.actions.size() == 3);
    CHECK(r.actions[0].what == kind::rename); // 11 was open, now rotated
    CHECK(r.actions[1].ino == 12);
    CHECK(r.actions[2].ino == 10);
    CHECK(r.actions[2].to.ends_with(".not_terminated"));
}

TEST_CASE("audit_log: a rotated file still being written waits, and what follows it",
          "[audit_log]") {
    auto copy = gen("audit.log.1", 11, 40);
    copy.settled = false; // logrotate's copy, writable, just modified
    auto d = decide_links({}, {copy, gen("audit.log", 10, 5)}, {}, t0);
    CHECK(d.actions.empty());
    copy.settled = true;
    d = decide_links(d.next, {copy, gen("audit.log", 10, 5)}, {}, t0 + 2);
    REQUIRE(d.actions.size() == 2);
    CHECK(d.actions[0].ino == 11);
    CHECK(d.actions[1].ino == 10);
}

TEST_CASE("audit_log: a rename shipped and removed before its record is not done again",
          "[audit_log]") {
    // Recorded: the open link. Then, unrecorded, auditd rotated, the linker
    // renamed the link, the sender shipped the trail and removed it, and the
    // daemon was killed. The restart lists the dist directory: no link.
    std::vector<dist_trail> dist;
    auto d = decide_links({}, {gen("audit.log", 10, 5)}, dist, t0);
    carry_out(d, dist);
    dist.clear();
    auto r = decide_links(d.next, {gen("audit.log.1", 10, 80), gen("audit.log", 11, 0)}, dist,
                          t0 + 9, true);
    REQUIRE(r.actions.size() == 1); // only the new log: no rename of what is gone
    CHECK(r.actions[0].what == kind::link);
    CHECK(r.actions[0].file == "audit.log");
    REQUIRE(r.warnings.size() == 1);
    CHECK(r.warnings[0].find("no longer in the dist directory") != std::string::npos);
    // Still recorded, closed: never linked again while it is audit.log.1.
    carry_out(r, dist);
    auto later = decide_links(r.next, {gen("audit.log.1", 10, 80), gen("audit.log", 11, 3)}, dist,
                              t0 + 10, true);
    CHECK(later.actions.empty());
    CHECK(later.warnings.empty());
    // Without a listing (an ordinary look), a missing link proves nothing.
    auto unlisted = decide_links(d.next, {gen("audit.log", 10, 6)}, {}, t0 + 1);
    CHECK(unlisted.actions.empty());
}

TEST_CASE("audit_log: the open link removed by someone else is linked again, same name",
          "[audit_log]") {
    std::vector<dist_trail> dist;
    auto d = decide_links({}, {gen("audit.log", 10, 5)}, dist, t0);
    carry_out(d, dist);
    dist.clear(); // a hand, or a compromised worker, removed the open link
    auto r = decide_links(d.next, {gen("audit.log", 10, 9)}, dist, t0 + 3, true);
    REQUIRE(r.actions.size() == 1);
    CHECK(r.actions[0] == link_action{kind::link, "audit.log", 1, 10, "", s0 + ".not_terminated"});
    REQUIRE(r.warnings.size() == 1);
    CHECK(r.warnings[0].find("possible tampering") != std::string::npos);
    CHECK(r.next.last_start == d.next.last_start);
}
