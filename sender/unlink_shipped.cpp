// Removing a dist link once the receiver acknowledged its CLOSE, i.e. after
// the receiver synced the whole file (see transfer.hpp). Never earlier.
#include "sender/transfer.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cerrno>
#include <string>
#include "common/log.hpp"

namespace adist::sender {
// Only if the name still leads to the file that was sent: a trail that
// replaced it since it was opened (same name, another inode) must not be
// deleted unshipped. No system call removes a name only if it is a given
// inode, so the name could still be swapped between fstatat() and unlinkat();
// the two calls are adjacent to keep that window as short as it can be.
void transfer::unlink_shipped(const in_flight& close) {
    const auto& name = close.name;
    struct stat st {};
    if (::fstatat(dist_.dir_fd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 &&
        (st.st_dev != close.dev || st.st_ino != close.ino)) {
        replaced_after_open(name);
        return;
    }
    if (::unlinkat(dist_.dir_fd, name.c_str(), 0) != 0 && errno != ENOENT) {
        int err = errno;
        log::error(prefix_, "cannot remove ", dist_.dir_path, "/", name, ": ",
                   common::errno_text(err),
                   err == EACCES ? " (the directory must be writable by the daemon's user, uid " +
                                       std::to_string(::geteuid()) + ")"
                                 : std::string());
        return;
    }
    log::info(prefix_, "shipped ", name);
}

// The trail was shipped, but its name now leads to another file: that file
// is left in place, never sent under a name the receiver already has.
void transfer::replaced_after_open(const std::string& name) {
    std::string why = "it replaced the trail shipped under this name after that one was opened "
                      "(possible tampering); the receiver already has a trail by this name";
    log::error(prefix_, "not removing ", dist_.dir_path, "/", name, ": ", why,
               "; leaving it in place");
    dist_.status->error("not removing " + name + ": " + why);
    dist_.status->last_closed.clear(); // so that unacked_bytes counts the file now there
    dist_.repeats->due("older:" + name, std::chrono::steady_clock::now(), why);
}

} // namespace adist::sender
