// When a trail store holds its descriptors (trail_store.hpp, "Descriptors"):
// the host directory and the ledger are reopened by path for the work and
// closed again when no trail is open, so that an idle host costs the
// receiver no descriptor of its own.
#include "receiver/trail_store.hpp"

#include <cerrno>
#include <fcntl.h>

namespace adist::receiver {
using common::errno_text;

int trail_store::hold() {
    if (dir_) return 0;
    common::unique_fd dir;
    if (int err = common::reopen_same(path_, O_RDONLY | O_DIRECTORY | O_NOFOLLOW, dir_id_, &dir);
        err == ESTALE) {
        last_error_ = path_ + " is no longer the directory the receiver opened at its start "
                              "(moved or replaced); restart auditdistd to take the new one";
        return err;
    } else if (err != 0) {
        last_error_ = "cannot open the host directory " + path_ + " again: " + errno_text(err);
        // Opened as root at the start, since then by the daemon's user.
        if (err == EACCES)
            last_error_ += " (the daemon's user must be able to search every "
                           "directory above it)";
        return err;
    }
    if (ledger_) {
        if (int err = ledger_->hold(); err != 0) {
            last_error_ =
                err == ESTALE
                    ? ledger_->path() + " is no longer the ledger the receiver opened "
                                        "(moved or replaced); its chain cannot go on: "
                                        "run auditdistd verify, then restart auditdistd"
                    : "cannot open the ledger " + ledger_->path() + " again: " + errno_text(err);
            return err;
        }
    }
    std::lock_guard lock(state_mutex_);
    dir_ = std::move(dir);
    return 0;
}

void trail_store::release_idle() {
    std::lock_guard lock(state_mutex_);
    if (file_) return;
    dir_.reset();
    if (ledger_) ledger_->release();
}

int trail_store::held_dir_fd() {
    if (int err = hold(); err != 0) {
        errno = err;
        return -1;
    }
    return dir_.get();
}

} // namespace adist::receiver
