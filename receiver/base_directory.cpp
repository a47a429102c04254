// The receiver's base directory at startup (part of class receiver,
// receiver.hpp): made, when missing, the way the Debian package makes it.
#include "receiver/receiver.hpp"

#include <sys/stat.h>
#include <sysexits.h>
#include <unistd.h>

#include "common/fd.hpp"
#include "common/log.hpp"

namespace adist::receiver {

using common::unique_fd;

// The receiver directory, when missing, is made as the package makes it:
// root:<daemon group> 0770 when privileges are dropped, so that the
// unprivileged worker can make the directory of a host a reload adds. The
// umask does not decide the mode.
void receiver::make_base_directory() {
    const std::string& base = config_.receiver_directory;
    unique_fd existing = common::open_directory(base);
    if (existing || errno != ENOENT) return; // trail_store::open reports other problems
    auto slash = base.find_last_of('/');
    if (slash > 0) {
        if (int err = common::make_directories(base.substr(0, slash), 0755); err != 0) {
            throw startup_error(EX_CANTCREAT, "cannot create " + base.substr(0, slash) + ": " +
                                                  common::errno_text(err));
        }
    }
    bool shared = owner_ && ::geteuid() == 0;
    mode_t mode = shared ? 0770 : 0700;
    if (::mkdir(base.c_str(), mode) != 0 && errno != EEXIST) {
        throw startup_error(EX_CANTCREAT, "cannot create " + base + ": " + common::errno_text(errno));
    }
    unique_fd dir = common::open_directory(base);
    if (!dir || ::fchmod(dir.get(), mode) != 0 ||
        (shared && ::fchown(dir.get(), 0, owner_->gid) != 0)) {
        throw startup_error(EX_CANTCREAT, "cannot set up " + base + ": " + common::errno_text(errno));
    }
    log::info("created ", base, shared ? " (root, group of the daemon user, mode 0770)" : " (mode 0700)");
}

} // namespace adist::receiver
