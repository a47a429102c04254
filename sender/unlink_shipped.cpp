// Removing a dist link once the receiver acknowledged its CLOSE, i.e. after
// the receiver synced the whole file (see transfer.hpp), and, when several
// receivers take the directory, once every required one has (fan-out,
// fanout_group.hpp). Never earlier.
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
    if (others_need(close)) return;
    struct stat st {};
    bool present = ::fstatat(dist_.dir_fd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0;
    if (present && (st.st_dev != close.dev || st.st_ino != close.ino)) {
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
    if (dist_.fanout != nullptr) {
        dist_.fanout->removed(name, present ? static_cast<std::uint64_t>(st.st_size) : 0);
    }
    log::info(prefix_, "shipped ", name);
}

// Fan-out: records that this receiver holds the trail, reports an optional
// receiver's gap, and says whether the link stays for another receiver that
// is not optional and does not hold it yet.
bool transfer::others_need(const in_flight& close) {
    if (dist_.fanout == nullptr) return false;
    auto outcome = dist_.fanout->closed(dist_.host, close.name, close.dev, close.ino, close.offset);
    if (!outcome.gap.empty()) {
        log::warning(prefix_, outcome.gap);
        dist_.status->error(outcome.gap);
    }
    if (outcome.other_file) {
        std::string why = "another receiver acknowledged another file, or another size of it, "
                          "under this name (replaced or changed since: possible tampering); "
                          "that receiver does not have this one";
        log::error(prefix_, "not removing ", dist_.dir_path, "/", close.name, ": ", why,
                   "; leaving it in place");
        dist_.status->error("not removing " + close.name + ": " + why);
        return true;
    }
    if (outcome.remove) return false;
    std::string waiting;
    for (const auto& h : outcome.waiting) waiting += (waiting.empty() ? "" : ", ") + h;
    log::info(prefix_, "shipped ", close.name, "; its link stays until ",
              waiting.empty() ? std::string("a required receiver") : waiting, " has it too");
    return true;
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
