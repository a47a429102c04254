// Removing a dist link once the receiver acknowledged its CLOSE, i.e. after
// the receiver synced the whole file (see transfer.hpp). Never earlier.
#include "sender/transfer.hpp"

#include <fcntl.h>
#include <unistd.h>
#include <cerrno>
#include <string>
#include "common/log.hpp"

namespace adist::sender {
void transfer::unlink_shipped(const std::string& name) {
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

} // namespace adist::sender
