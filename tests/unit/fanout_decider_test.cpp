// Fan-out: who still needs a dist link (sender/fanout_decider.hpp) and the
// group that keeps what each receiver holds (sender/fanout_group.hpp).
#include "sender/fanout_decider.hpp"
#include "sender/fanout_group.hpp"
#include "sender/settled_links.hpp"

#include <catch2/catch.hpp>
#include <cstdlib>
#include <fcntl.h>
#include <string>
#include <sys/stat.h>
#include <unistd.h>

using namespace adist::sender;

namespace {
const std::string t1 = "20261201000000.20261201001000";
const std::string t2 = "20261201001000.20261201002000";
const std::string t3 = "20261201002000.20261201003000";
const std::string t4_open = "20261201003000.not_terminated";
const std::string t4_done = "20261201003000.20261201004000";
} // namespace

TEST_CASE("fanout: a link goes once every required receiver holds it", "[fanout]") {
    std::vector<fanout_member> m{{"a", false, {}}, {"b", false, {}}, {"c", true, {}}};
    CHECK_FALSE(may_remove(m, t1));
    CHECK(needed_by(m, t1) == std::vector<std::string>{"a", "b"});
    m[0].has.insert(trail_key(t1));
    CHECK_FALSE(may_remove(m, t1));
    CHECK(needed_by(m, t1) == std::vector<std::string>{"b"});
    CHECK(held_for_others(m, "a", t1));
    CHECK_FALSE(held_for_others(m, "b", t1)); // only b itself lacks it
    m[1].has.insert(trail_key(t1));
    CHECK(may_remove(m, t1)); // the optional one never holds a link
    CHECK(missed_by(m, t1) == std::vector<std::string>{"c"});
    m[2].has.insert(trail_key(t1));
    CHECK(missed_by(m, t1).empty());
    CHECK_FALSE(may_remove(m, t2)); // others untouched
}

TEST_CASE("fanout: trails are known by their start, renamed or not", "[fanout]") {
    std::vector<fanout_member> m{{"a", false, {trail_key(t4_open)}}};
    CHECK(may_remove(m, t4_done));
    CHECK(trail_key(t4_done) == "20261201003000.");
}

TEST_CASE("fanout: optional receivers alone never remove a link", "[fanout]") {
    std::vector<fanout_member> m{{"c", true, {trail_key(t1)}}};
    CHECK_FALSE(may_remove(m, t1));
    CHECK_FALSE(may_remove({}, t1));
    std::vector<fanout_member> one{{"a", false, {trail_key(t1)}}};
    CHECK(may_remove(one, t1)); // a directory with one host: as before fan-out
    CHECK_FALSE(held_for_others(one, "a", t1));
}

TEST_CASE("fanout: a resume point proves the trails strictly before it", "[fanout]") {
    std::vector<std::string> listing{t1, t2, t3, t4_open};
    CHECK(held_before(listing, "").empty());
    CHECK(held_before(listing, t3) == std::vector<std::string>{t1, t2});
    // The cursor's own trail may still be open on the receiver.
    CHECK(held_before(listing, t4_done) == std::vector<std::string>{t1, t2, t3});
    CHECK(held_before(listing, t1).empty());
}

TEST_CASE("fanout: lag past max_lag_bytes", "[fanout]") {
    CHECK(lag_problem(1'000'000, 0, 0).empty()); // no limit
    CHECK(lag_problem(100, 0, 100).empty());
    CHECK(lag_problem(101, 0, 100) ==
          "101 bytes behind (101 not acknowledged), more than max_lag_bytes 100");
    CHECK(lag_problem(10, 95, 100) == "105 bytes behind (10 not acknowledged, 95 removed before "
                                      "it got them), more than max_lag_bytes 100");
    CHECK_FALSE(lag_problem(UINT64_MAX, UINT64_MAX, UINT64_MAX - 1).empty()); // no wrap
}

TEST_CASE("fanout group: one receiver down holds the links, then both", "[fanout]") {
    fanout_group g("/d");
    g.configure({{"a", false}, {"b", false}});
    CHECK(g.shared());
    g.resumed("a", "", {t1, t2});
    auto out = g.closed("a", t1);
    CHECK_FALSE(out.remove);
    CHECK(out.waiting == std::vector<std::string>{"b"});
    CHECK(g.kept_for_others("a", t1));
    CHECK_FALSE(g.kept_for_others("b", t1)); // b's backlog
    CHECK(g.closed("b", t1).remove);
    g.removed(t1, 10);
    CHECK_FALSE(g.kept_for_others("a", t1));
    // After a restart of the sender (a new group): b's resume point past t2
    // proves it has t2; a's CLOSE then removes it.
    fanout_group after("/d");
    after.configure({{"a", false}, {"b", false}});
    after.resumed("b", t3, {t2, t3});
    after.resumed("a", t2, {t2, t3});
    CHECK(after.closed("a", t2).remove);
    CHECK_FALSE(after.closed("a", t3).remove); // b's t3 may still be open there
}

TEST_CASE("fanout group: a late link is not taken as held", "[fanout]") {
    fanout_group g("/d");
    g.configure({{"a", false}, {"b", false}});
    g.resumed("a", t3, {t3});
    g.resumed("b", "", {t3});
    // t1 appears later, sorting before a's newest: a never gets it.
    g.resumed("a", t3, {t1, t3}); // a reconnects
    CHECK_FALSE(g.closed("b", t1).remove);
    CHECK_FALSE(g.kept_for_others("a", t1));
    // A CLOSE sent to a and then passed on the receiver counts as held.
    g.close_sent("a", t3);
    g.resumed("a", t4_open, {t1, t3, t4_open});
    CHECK(g.closed("b", t3).remove);
}

TEST_CASE("fanout group: an optional receiver's gap is reported once", "[fanout]") {
    fanout_group g("/d");
    g.configure({{"a", false}, {"c", true}});
    g.resumed("c", t1, {t1, t2, t3});
    g.resumed("a", t1, {t1, t2, t3});
    CHECK(g.closed("a", t2).remove);
    g.removed(t2, 500);
    CHECK(g.missed_bytes("c") == 500);
    CHECK(g.closed("a", t3).remove);
    auto gap = g.closed("c", t3).gap; // c goes on with t3: t2 is its gap
    CHECK_THAT(gap, Catch::Contains("skipped 1 trail(s) (500 bytes, 20261201001000.*"));
    g.removed(t3, 7);
    CHECK(g.missed_bytes("c") == 0);
    CHECK(g.missed_files("c") == 1);
    CHECK(g.closed("c", t4_done).gap.empty());
}

TEST_CASE("fanout group: what an optional receiver had before is no gap", "[fanout]") {
    fanout_group g("/d");
    g.configure({{"a", false}, {"c", true}});
    g.resumed("a", "", {t1, t2});
    CHECK(g.closed("a", t1).remove); // c never connected yet: unknown
    g.removed(t1, 100);
    CHECK(g.missed_bytes("c") == 100); // counts in its lag meanwhile
    g.resumed("c", t2, {t2});          // it had t1 all along
    CHECK(g.missed_bytes("c") == 0);
    CHECK(g.missed_files("c") == 0);
}

TEST_CASE("fanout group: a reload keeps what hosts that stay hold", "[fanout]") {
    fanout_group g("/d");
    g.configure({{"a", false}, {"b", false}});
    g.resumed("a", "", {t1});
    CHECK_FALSE(g.closed("a", t1).remove);
    g.configure({{"a", false}, {"b", true}}); // b made optional
    CHECK(g.closed("a", t1).remove);
    g.configure({{"a", false}, {"d", false}}); // b removed, d added: d holds it
    CHECK_FALSE(g.closed("a", t1).remove);
    CHECK(g.closed("b", t1).waiting.empty()); // no longer here: holds nothing, decides nothing
    CHECK_FALSE(g.closed("b", t1).remove);
}

TEST_CASE("fanout group: links kept for a host a reload made optional are settled", "[fanout]") {
    fanout_group g("/d");
    g.configure({{"a", false}, {"b", false}});
    g.resumed("a", "", {t1, t2});
    CHECK_FALSE(g.closed("a", t1, 5, 100).remove);
    CHECK_FALSE(g.closed("a", t2, 5, 200).remove);
    CHECK(g.settled().empty()); // b still needs both
    g.configure({{"a", false}, {"b", true}});
    auto links = g.settled();
    REQUIRE(links.size() == 2);
    CHECK(links[0].name == t1);
    CHECK(links[0].ino == 100);
    CHECK(links[1].dev == 5);
    g.removed(t1, 10);
    REQUIRE(g.settled().size() == 1);
    g.removed(t2, 10);
    CHECK(g.settled().empty());
    CHECK(g.missed_bytes("b") == 20); // b, optional now, never got them
}

TEST_CASE("fanout group: a receiver whose resume point shows it holds a kept link settles it",
          "[fanout]") {
    // After a restart of the sender, b (behind) acknowledges t1 before a
    // (ahead) connects: t1 stays for a, until a's resume point proves it.
    fanout_group g("/d");
    g.configure({{"a", false}, {"b", false}});
    g.resumed("b", "", {t1, t2});
    CHECK_FALSE(g.closed("b", t1, 5, 100).remove);
    CHECK(g.settled().empty());
    g.resumed("a", t2, {t1, t2});
    auto links = g.settled();
    REQUIRE(links.size() == 1);
    CHECK(links[0].name == t1);
    CHECK(links[0].ino == 100);
}

TEST_CASE("fanout group: a CLOSE whose acknowledgement was lost settles at the next resume",
          "[fanout]") {
    fanout_group g("/d"); // one receiver: a group of one
    g.configure({{"a", false}});
    g.resumed("a", "", {t1, t2});
    g.close_sent("a", t1, 5, 100); // then the connection ends before the reply
    CHECK(g.settled().empty());
    g.resumed("a", t2, {t1, t2}); // the receiver closed t1 and opened t2
    auto links = g.settled();
    REQUIRE(links.size() == 1);
    CHECK(links[0].name == t1);
    CHECK(links[0].dev == 5);
    // Its own newest trail is not taken as closed.
    g.close_sent("a", t2, 5, 200);
    g.resumed("a", t2, {t1, t2});
    CHECK(g.settled().size() == 1);
    // A CLOSE sent without its link to remove (the file vanished) offers none.
    fanout_group v("/d");
    v.configure({{"a", false}});
    v.resumed("a", "", {t1, t2});
    v.close_sent("a", t1);
    v.resumed("a", t2, {t1, t2});
    CHECK(v.settled().empty());
}

TEST_CASE("fanout group: a refused CLOSE proves nothing", "[fanout]") {
    fanout_group g("/d");
    g.configure({{"a", false}, {"b", false}});
    g.resumed("a", "", {t1, t2});
    g.resumed("b", "", {t1, t2});
    g.close_sent("a", t1, 5, 100);
    g.close_refused("a", t1);     // a digest mismatch: the receiver holds something else
    g.resumed("a", t2, {t1, t2}); // it went on with t2 after skipping t1
    CHECK_FALSE(g.closed("b", t1, 5, 100).remove);
    CHECK(g.settled().empty());
}

TEST_CASE("fanout group: a receiver replaced by an empty one no longer holds what it acknowledged",
          "[fanout]") {
    fanout_group g("/d");
    g.configure({{"a", false}, {"b", false}});
    g.resumed("b", "", {t1, t2, t3});
    CHECK_FALSE(g.closed("b", t1).remove);
    CHECK_FALSE(g.closed("b", t2).remove);
    g.resumed("b", "", {t1, t2, t3}); // wiped: starts again from t1
    g.resumed("a", "", {t1, t2, t3});
    CHECK_FALSE(g.closed("a", t1).remove);
    CHECK(g.closed("a", t1).waiting == std::vector<std::string>{"b"});
    g.resumed("b", t1, {t1, t2, t3}); // rolled back to t1: holds t1, not t2
    CHECK_FALSE(g.closed("a", t2).remove);
}

TEST_CASE("fanout group: another file under an acknowledged trail's name is not removed",
          "[fanout]") {
    fanout_group g("/d");
    g.configure({{"a", false}, {"b", false}});
    g.resumed("a", "", {t1});
    g.resumed("b", "", {t1});
    CHECK_FALSE(g.closed("a", t1, 5, 100).remove);
    auto other = g.closed("b", t1, 5, 101); // the name leads to another file since
    CHECK(other.other_file);
    CHECK_FALSE(other.remove);
    CHECK_FALSE(g.closed("b", t1, 5, 100).other_file); // the same file: no objection
}

TEST_CASE("fanout group: a CLOSE the resume point shows was not taken proves nothing later",
          "[fanout]") {
    fanout_group g("/d");
    g.configure({{"a", false}});
    g.resumed("a", "", {t3, t4_open});
    g.close_sent("a", t4_done, 5, 100, 1000); // the connection breaks before the receiver reads it
    g.resumed("a", t4_open, {t3, t4_done});   // its newest is still t4, not closed
    g.resumed("a", "20261201004000.not_terminated", {t3, t4_done}); // t4 skipped, a newer one sent
    CHECK(g.settled().empty());
}

TEST_CASE("fanout group: the same file at another size is not another receiver's copy",
          "[fanout]") {
    fanout_group g("/d");
    g.configure({{"a", false}, {"b", false}});
    g.resumed("a", "", {t4_open});
    g.resumed("b", "", {t4_open});
    CHECK_FALSE(g.closed("a", t4_open, 5, 100, 1000).remove); // left behind, closed at 1000
    auto grown = g.closed("b", t4_open, 5, 100, 1500);        // it grew before b got it
    CHECK(grown.other_file);
    CHECK_FALSE(grown.remove);
    CHECK_FALSE(g.closed("b", t4_open, 5, 100, 1000).other_file);
}

TEST_CASE("settled links: removed under a later name of the same file, never once it grew",
          "[fanout]") {
    char tmpl[] = "/tmp/adist-settled-test.XXXXXX";
    REQUIRE(::mkdtemp(tmpl) != nullptr);
    std::string dir = tmpl;
    auto make = [&](const std::string& name, const std::string& bytes) {
        int fd = ::open((dir + "/" + name).c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
        REQUIRE(fd >= 0);
        REQUIRE(::write(fd, bytes.data(), bytes.size()) == ssize_t(bytes.size()));
        struct stat st {};
        REQUIRE(::fstat(fd, &st) == 0);
        ::close(fd);
        return st;
    };
    int dfd = ::open(tmpl, O_RDONLY | O_DIRECTORY);
    REQUIRE(dfd >= 0);
    const std::string older = "20261201000000.not_terminated",
                      renamed = "20261201000000.crash_recovery";
    const std::string grows = "20261201001000.not_terminated";
    auto a = make(older, "abc");
    auto b = make(grows, "abc");
    fanout_group g(dir);
    g.configure({{"r", false}});
    g.resumed("r", "", {older, grows});
    // Both left behind and closed, their acknowledgements lost; the receiver
    // then took a newer trail.
    g.close_sent("r", older, a.st_dev, a.st_ino, 3);
    g.close_sent("r", grows, b.st_dev, b.st_ino, 3);
    REQUIRE(::rename((dir + "/" + older).c_str(), (dir + "/" + renamed).c_str()) == 0);
    make(grows, "more"); // written to after it was closed
    g.resumed("r", "20261201002000.not_terminated", {renamed, grows});
    REQUIRE(g.settled().size() == 2);
    remove_settled(g, dfd, "test");
    struct stat st {};
    CHECK(::fstatat(dfd, renamed.c_str(), &st, 0) != 0); // removed under its new name
    CHECK(::fstatat(dfd, grows.c_str(), &st, 0) == 0);   // kept: the receiver lacks 4 bytes
    ::close(dfd);
    CHECK(std::system(("rm -rf " + dir).c_str()) == 0);
}
