// sender::list_trails and list_trails_through_next on a real directory:
// valid names of regular files in order; the second stops at the next
// trail after `last` and examines nothing past it (a backlog costs one
// stat per pick, not one per file).
#include <catch2/catch.hpp>

#include "sender/dist_dir.hpp"
#include "temp_dir.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <string>
#include <vector>

using adist::sender::dist_notes;
using adist::sender::list_trails;
using adist::sender::list_trails_through_next;
using strings = std::vector<std::string>;

namespace {

const std::string t0 = "20240101000000.20240101010000";
const std::string t2 = "20240101020000.20240101030000";
const std::string t4 = "20240101040000.20240101050000"; // a directory
const std::string t6 = "20240101060000.not_terminated";
const std::string t8 = "20240101080000.20240101090000";
const std::string t9 = "20240101090000.20240101100000"; // a FIFO

struct dist {
    adist::test::temp_dir dir{"dist_listing"};
    int fd = -1;
    dist() {
        for (const auto& n : {t0, t2, t6, t8})
            std::ofstream(dir.path + "/" + n) << "x";
        std::ofstream(dir.path + "/notes.txt") << "not a trail";
        REQUIRE(::mkdir((dir.path + "/" + t4).c_str(), 0700) == 0);
        REQUIRE(::mkfifo((dir.path + "/" + t9).c_str(), 0600) == 0);
        fd = ::open(dir.path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        REQUIRE(fd >= 0);
    }
    ~dist() { ::close(fd); }
};

} // namespace

TEST_CASE("list_trails: the regular files with trail names, in order") {
    dist d;
    bool ok = false;
    dist_notes notes;
    CHECK(list_trails(d.fd, d.dir.path, &ok, &notes) == strings{t0, t2, t6, t8});
    CHECK(ok);
    // Every entry was examined: the directory and the FIFO were reported.
    CHECK_FALSE(notes.first("type:" + t4));
    CHECK_FALSE(notes.first("type:" + t9));
    CHECK_FALSE(notes.first("name:notes.txt"));
}

TEST_CASE("list_trails_through_next: up to the first regular file after `last`") {
    dist d;
    bool ok = false;
    dist_notes notes;
    // The trails up to t2, then the next: the directory between is skipped.
    CHECK(list_trails_through_next(d.fd, d.dir.path, t2, &ok, &notes) == strings{t0, t2, t6});
    CHECK(ok);
    CHECK_FALSE(notes.first("type:" + t4)); // examined on the way to the next
    CHECK(notes.first("type:" + t9));       // past the next: never examined

    // With nothing sent yet, the first trail is the next.
    CHECK(list_trails_through_next(d.fd, d.dir.path, "", &ok) == strings{t0});
    // `last` under another name of its trail (a rename) still lists it.
    CHECK(list_trails_through_next(d.fd, d.dir.path, "20240101060000.20240101070000", &ok) ==
          strings{t0, t2, t6, t8});
    // Past the newest: everything, and no next.
    CHECK(list_trails_through_next(d.fd, d.dir.path, t8, &ok) == strings{t0, t2, t6, t8});
}

TEST_CASE("list_trails_through_next: a listing that cannot be read is no listing") {
    dist d;
    bool ok = true;
    CHECK(list_trails_through_next(-1, d.dir.path, t2, &ok).empty());
    CHECK_FALSE(ok);
}
