// What the receiver checks about its host directories when it starts
// (part of class receiver, receiver.hpp): at setup, as root, whether their
// filesystems take the append-only attribute; once the worker runs, whether
// the daemon's user reaches each of them, as every session will.
#include "receiver/receiver.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>

#include "common/fd.hpp"
#include "common/log.hpp"

namespace adist::receiver {

void receiver::check_attributes() {
    if (::geteuid() != 0) {
        log::warning("not started as root: received trails are not made append-only or "
                     "immutable (that needs the root supervisor)");
        return;
    }
    std::vector<dev_t> noted;
    for (const auto& slot : hosts_) {
        struct stat st {};
        int dir = slot->store->held_dir_fd();
        bool new_fs = dir >= 0 && ::fstat(dir, &st) == 0 &&
                      std::find(noted.begin(), noted.end(), st.st_dev) == noted.end();
        int err = new_fs ? common::probe_append_only(dir) : 0;
        slot->store->release_idle();
        if (err != 0) {
            noted.push_back(st.st_dev);
            log::warning("the filesystem of ", slot->store->path(),
                         " does not take the append-only attribute (", common::errno_text(err),
                         "): trails on it are protected by the receiver rules only");
        }
    }
}

// The stores were opened at setup, as root; from now on they open their
// directory and ledger again for each session as the daemon's user: say at
// once which hosts that user cannot reach.
void receiver::check_reachable() {
    for (auto& h : hosts_) {
        if (h->store->held_dir_fd() < 0) {
            log::error("host ", h->config.name, ": ", h->store->last_error(),
                       "; its sessions are refused until that is fixed");
            h->error(h->store->last_error());
        }
        h->store->release_idle();
    }
}

} // namespace adist::receiver
