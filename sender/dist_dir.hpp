// The sender's view of its dist directory: sorted listing of valid trail
// files, finding where a renamed trail went, and an inotify watcher that
// wakes the uplink on new files, growth and renames (no polling delay).
#pragma once

#include <boost/asio.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>

#include <optional>
#include <string>
#include <sys/types.h>
#include <vector>

#include "common/async.hpp"
#include "common/fd.hpp"

namespace adist::sender {

namespace asio = boost::asio;

// Valid trail names of regular files in `dir_fd`, in name order. Entries that
// are not valid names, not regular files or symlinks are left out. *ok (if
// given) is false when the directory could not be read.
std::vector<std::string> list_trails(int dir_fd, const std::string& dir_path,
                                     bool* ok = nullptr);

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
