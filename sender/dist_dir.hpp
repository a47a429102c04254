// The sender's view of its dist directory: sorted listing of valid trail
// files, finding where a renamed trail went, and an inotify watcher that
// wakes the uplink on new files, growth and renames (no polling delay).
#pragma once

#include <boost/asio.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>

#include <chrono>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <sys/types.h>
#include <vector>

#include "common/async.hpp"
#include "common/fd.hpp"

namespace adist::sender {

namespace asio = boost::asio;

// What an uplink remembers about its dist directory across connections: the
// odd entries it already reported (each is logged once, not on every
// listing) and the trails it could not open (retried on a schedule, see
// open_retry_delay). Bounded: a directory full of junk cannot grow it without limit.
class dist_notes {
public:
    static constexpr std::size_t max_entries = 4096;

    // True the first time `key` is passed; later (or once full) false.
    bool first(const std::string& key);

    struct open_failure {
        unsigned failures = 0;
        std::chrono::steady_clock::time_point retry_at{};
    };
    // The failure record of `name` (created empty), or nullptr when full.
    open_failure* failure(const std::string& name);
    const open_failure* find_failure(const std::string& name) const;
    void clear_failure(const std::string& name) { failures_.erase(name); }

private:
    std::set<std::string> seen_;
    std::map<std::string, open_failure> failures_;
};

// Valid trail names of regular files in `dir_fd`, in name order. Entries that
// are not valid names, not regular files (symlinks, directories, FIFOs...)
// are left out, and reported once each as a warning when `notes` is given.
// *ok (if given) is false when the directory could not be read.
std::vector<std::string> list_trails(int dir_fd, const std::string& dir_path,
                                     bool* ok = nullptr, dist_notes* notes = nullptr);

// What picking the next trail after `last` needs of list_trails: the trails
// that start no later than `last` (left behind, or `last` under another
// name), then the next one, the first regular file that starts later (or
// the first of all when `last` is empty); the names after it are not
// examined. Every name is still read and sorted, but a backlog of N trails
// no longer costs N stats per trail picked, only those of the links still
// waiting up to `last` (a CLOSE in flight; with fan-out, links kept for a
// receiver that is behind) and the next (sender/local_trail.cpp).
std::vector<std::string> list_trails_through_next(int dir_fd, const std::string& dir_path,
                                                  const std::string& last, bool* ok = nullptr,
                                                  dist_notes* notes = nullptr);

// Where the trail that was opened as `name` (inode `ino`) is now: `name`
// itself, another name of the same trail with the same inode (it was renamed),
// or nullopt when it is gone (*ok true) or the directory is unreadable (*ok false).
std::optional<std::string> current_name(int dir_fd, const std::string& dir_path,
                                        const std::string& name, ino_t ino, bool* ok);

class dist_watch {
public:
    dist_watch(const asio::any_io_executor& ex, common::event& wake);
    ~dist_watch();

    // Starts watching `dir` (again, after stop()); returns false and sets
    // *error on failure.
    bool start(const std::string& dir, std::string* error);
    // Also watch the open trail itself: writes through another hard link
    // (auditd writes /var/audit/X, we read dist/X) only show on the inode.
    void watch_file(const std::string& path);
    void unwatch_file();
    void stop();

private:
    asio::awaitable<void> run(unsigned generation);

    asio::posix::stream_descriptor inotify_;
    common::event& wake_;
    int dir_wd_ = -1;
    int file_wd_ = -1;
    bool stopped_ = false;
    unsigned generation_ = 0; // a restarted watch ends the old reader quietly
};

} // namespace adist::sender
