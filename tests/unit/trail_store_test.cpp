// Unit tests for receiver/trail_store on a real temporary directory: status
// reads from another thread while the pool thread opens, appends, syncs and
// closes (a data race before; run under ThreadSanitizer to see it), and the
// scan failing closed on an unlistable directory.
#include "proto/ledger.hpp"
#include "receiver/trail_store.hpp"
#include "temp_dir.hpp"

#include <atomic>
#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <sys/resource.h>
#include <thread>
#include <unistd.h>
#include <vector>

using adist::test::temp_dir;
using namespace adist::receiver;
using adist::proto::reply_error;

namespace {
// Increasing valid names: 2024-01-01 plus i minutes.
std::string name_at(int i) {
    char buf[48]; // room for any int, so that -Wformat-truncation has nothing to say
    std::snprintf(buf, sizeof buf, "20240101%02d%02d00.not_terminated", i / 60, i % 60);
    return buf;
}
std::unique_ptr<trail_store> open_store(const std::string& dir) {
    std::string error;
    auto store = trail_store::open(dir, std::nullopt, &error);
    REQUIRE(store);
    return store;
}

// How many of this process's descriptors are open on `path` or beneath it.
int descriptors_under(const std::string& path) {
    int n = 0;
    for (const auto& e : std::filesystem::directory_iterator("/proc/self/fd")) {
        std::error_code ec;
        auto target = std::filesystem::read_symlink(e.path(), ec).string();
        if (!ec && target.compare(0, path.size(), path) == 0) ++n;
    }
    return n;
}
} // namespace

TEST_CASE("trail_store: status reads race with no store operation") {
    temp_dir d("trail_store");
    std::string error;
    auto store = trail_store::open(d.path + "/web1", std::nullopt, &error);
    REQUIRE(store);
    std::atomic<bool> done{false};
    std::atomic<std::uint64_t> reads{0}, odd{0};
    // Catch2's assertions are not thread-safe: the reader only counts.
    std::thread status([&] {
        while (!done) {
            auto s = store->stored();
            auto f = store->sync_failure();
            if (!(s.name.empty() || s.name.size() == 29) || !f.empty()) ++odd;
            ++reads;
        }
    });
    std::vector<std::byte> data(1000, std::byte{'x'});
    const int files = 200;
    for (int i = 0; i < files; ++i) {
        auto name = name_at(i);
        REQUIRE(store->open(name) == reply_error::ok);
        REQUIRE(store->append(data) == reply_error::ok);
        REQUIRE(store->sync_data() == 0);
        REQUIRE(store->close(name) == reply_error::ok);
        store->release_idle(); // the status thread then reads by path
    }
    done = true;
    status.join();
    auto last = store->stored();
    REQUIRE(last.name == name_at(files - 1));
    REQUIRE(last.size == data.size());
    REQUIRE(reads > 0);
    REQUIRE(odd == 0);
}

TEST_CASE("trail_store: a host directory that cannot be listed refuses the session") {
    temp_dir d("trail_store");
    std::string error;
    auto store = trail_store::open(d.path + "/web1", std::nullopt, &error);
    REQUIRE(store);
    REQUIRE(store->open(name_at(5)) == reply_error::ok);
    REQUIRE(store->close(name_at(5)) == reply_error::ok);
    REQUIRE(store->scan_newest().newest.name == name_at(5));

    // No descriptor left for the listing (EMFILE), for a moment.
    rlimit saved{};
    REQUIRE(::getrlimit(RLIMIT_NOFILE, &saved) == 0);
    rlimit none = saved;
    none.rlim_cur = 0;
    REQUIRE(::setrlimit(RLIMIT_NOFILE, &none) == 0);
    auto scan = store->scan_newest();
    REQUIRE(::setrlimit(RLIMIT_NOFILE, &saved) == 0);
    REQUIRE(scan.refusal.find("cannot list") != std::string::npos);
    REQUIRE(scan.refusal.find("Too many open files") != std::string::npos);
    REQUIRE(scan.newest.name.empty());
    // The newest it knew stays: an OPEN of an older trail is still refused.
    REQUIRE(store->open(name_at(1)) == reply_error::open_old);
}

// (Whether the parent is fsynced after the mkdir is integration: host_dir_durable,
// which watches the real daemon under strace.)
TEST_CASE("trail_store: a created host directory exists; a marker from an earlier run refuses") {
    temp_dir d("trail_store");
    std::string error;
    auto store = trail_store::open(d.path + "/a/b/web1", std::nullopt, &error);
    REQUIRE(store);
    REQUIRE(std::filesystem::is_directory(d.path + "/a/b/web1"));
    REQUIRE(store->sync_failure().empty());
    // A marker left by an earlier run refuses the host from the start.
    REQUIRE(create_sync_marker(store->held_dir_fd(), {name_at(3), 4096}) == 0);
    REQUIRE(create_sync_marker(store->held_dir_fd(), {name_at(3), 1}) == EEXIST);
    auto again = trail_store::open(d.path + "/a/b/web1", std::nullopt, &error);
    REQUIRE(again);
    REQUIRE(again->sync_failed());
    REQUIRE(again->sync_failure().find(name_at(3) + ": 4096 bytes known synced") !=
            std::string::npos);
    REQUIRE(again->scan_newest().refusal.find(".auditdistd-sync-failed") != std::string::npos);
    REQUIRE(again->open(name_at(4)) == reply_error::open);
    std::filesystem::remove(d.path + "/a/b/web1/.auditdistd-sync-failed");
    REQUIRE(again->scan_newest().refusal.empty());
    REQUIRE_FALSE(again->sync_failed());
    REQUIRE(again->open(name_at(4)) == reply_error::ok);
}

TEST_CASE("trail_store: an idle store holds no descriptor; the work takes them again") {
    temp_dir d("trail_store");
    std::string dir = d.path + "/web1";
    auto store = open_store(dir);
    REQUIRE(store->ledger() != nullptr);
    REQUIRE(descriptors_under(d.path) == 2); // the directory and the ledger
    store->release_idle();
    REQUIRE(descriptors_under(d.path) == 0);

    // A session: the scan takes them, its end lets them go.
    REQUIRE(store->scan_newest().refusal.empty());
    REQUIRE(descriptors_under(d.path) == 2);
    store->release_idle();
    REQUIRE(descriptors_under(d.path) == 0);

    // An OPEN holds them, and the trail, while the trail is open.
    std::vector<std::byte> data(100, std::byte{'a'});
    REQUIRE(store->open(name_at(1)) == reply_error::ok);
    store->release_idle();
    REQUIRE(descriptors_under(d.path) == 3);
    REQUIRE(store->append(data) == reply_error::ok);
    REQUIRE(store->sync_data() == 0);
    REQUIRE(store->close(name_at(1)) == reply_error::ok);
    store->release_idle();
    REQUIRE(descriptors_under(d.path) == 0);

    // Released, status reads the newest by path; a resume's digest reopens.
    auto stored = store->stored();
    REQUIRE(stored.name == name_at(1));
    REQUIRE(stored.size == 100);
    auto digest = store->stored_digest(name_at(1));
    REQUIRE(digest);
    REQUIRE(digest->size == 100);
    store->release_idle();

    // The ledger's chain went on across the releases: a second trail, then
    // a store opened afresh (a restart) finds both committed.
    REQUIRE(store->open(name_at(2)) == reply_error::ok);
    REQUIRE(store->append(data) == reply_error::ok);
    REQUIRE(store->close(name_at(2)) == reply_error::ok);
    store->release_idle();
    auto restarted = open_store(dir);
    REQUIRE(restarted->scan_newest().newest.name == name_at(2));
    auto again = restarted->stored_digest(name_at(1));
    REQUIRE(again);
    REQUIRE(*again == *digest);
}

TEST_CASE("trail_store: a directory or ledger replaced while released is refused, not adopted") {
    temp_dir d("trail_store");
    std::string dir = d.path + "/web1";
    auto store = open_store(dir);
    REQUIRE(store->open(name_at(1)) == reply_error::ok);
    REQUIRE(store->close(name_at(1)) == reply_error::ok);
    store->release_idle();

    SECTION("the host directory") {
        std::filesystem::rename(dir, d.path + "/web1.moved");
        std::filesystem::create_directory(dir);
        auto scan = store->scan_newest();
        REQUIRE(scan.refusal.find("no longer the directory the receiver opened") !=
                std::string::npos);
        REQUIRE(store->open(name_at(2)) == reply_error::open);
        REQUIRE(store->last_error().find("restart auditdistd") != std::string::npos);
        REQUIRE_FALSE(std::filesystem::exists(dir + "/" + name_at(2)));
        REQUIRE(store->held_dir_fd() == -1);
        // Gone altogether: said as such.
        std::filesystem::remove(dir);
        REQUIRE(store->scan_newest().refusal.find("cannot open the host directory") !=
                std::string::npos);
    }
    SECTION("the ledger") {
        std::string ledger =
            adist::proto::ledger_directory(dir) + "/" + std::string(adist::proto::ledger_file_name);
        std::filesystem::copy_file(ledger, ledger + ".copy");
        std::filesystem::rename(ledger + ".copy", ledger);
        auto scan = store->scan_newest();
        REQUIRE(scan.refusal.find("no longer the ledger the receiver opened") != std::string::npos);
        REQUIRE(store->open(name_at(2)) == reply_error::open);
        REQUIRE_FALSE(std::filesystem::exists(dir + "/" + name_at(2)));
        REQUIRE(descriptors_under(d.path) == 0);
    }
}
