// The trail store's syncs and their failure state (see trail_store.hpp): the
// size each fdatasync covered, and the sync-failure marker that keeps the
// host refused across reloads and restarts until an operator removes it.
#include "common/log.hpp"
#include "receiver/trail_store.hpp"

#include <cerrno>
#include <sys/stat.h>
#include <unistd.h>

namespace adist::receiver {
using common::errno_text;
using proto::reply_error;

namespace {
std::string what_failed(const marker_read& m) {
    if (m.error != 0) return "cannot check for it: " + errno_text(m.error);
    if (!m.content) return "its contents are unreadable";
    return "an fdatasync failed on " + describe(*m.content);
}
} // namespace

std::string trail_store::marker_path() const {
    return path_ + "/" + std::string(sync_marker_name);
}

void trail_store::load_sync_marker() {
    auto m = read_sync_marker(dir_.get());
    if (!m.present) return;
    sync_failed_ = true;
    marker_recorded_ = true;
    std::string text = marker_path() + " (" + what_failed(m) + ")";
    log::error(path_, ": this host is refused until an operator removes ", text,
               " (see auditdistd troubleshooting)");
    std::lock_guard lock(state_mutex_);
    sync_failure_ = "refused until an operator removes " + text;
}

// At the start of a session: a marker refuses it; one removed by an operator
// since it was seen lets the host in again; an unrecorded failure is
// recorded now if the disk allows (else the host stays refused).
std::string trail_store::check_sync_marker() {
    if (sync_failed_ && !marker_recorded_ && pending_marker_) persist_marker();
    auto m = read_sync_marker(dir_.get());
    if (m.present) {
        sync_failed_ = true;
        marker_recorded_ = true;
        std::string text = marker_path() + " (" + what_failed(m) + ")";
        {
            std::lock_guard lock(state_mutex_);
            sync_failure_ = "refused until an operator removes " + text;
        }
        return "an earlier fdatasync failed, so the stored size is no safe resume point; check "
               "the disk, cut the trail to the synced size, then as root remove " +
               text + " (see auditdistd troubleshooting)";
    }
    if (sync_failed_ && !marker_recorded_) {
        return "an earlier fdatasync in " + path_ + " failed and cannot be recorded in " +
               marker_path() + "; refused until it can be (or auditdistd restarts)";
    }
    if (sync_failed_) {
        log::info(path_, ": ", marker_path(), " was removed: accepting this host again");
        sync_failed_ = false;
        marker_recorded_ = false;
        std::lock_guard lock(state_mutex_);
        pending_marker_.reset();
        sync_failure_.clear();
    }
    return {};
}

// The first failure is the one recorded: its synced size is the smallest.
void trail_store::record_sync_failure(int err, bool size_known) {
    sync_failed_ = true;
    if (marker_recorded_ || pending_marker_) return;
    sync_marker m{open_name(), std::nullopt};
    if (size_known && synced_known_) m.synced = synced_size_.load();
    log::error(path_, ": fdatasync failed (", errno_text(err), "); ", describe(m));
    {
        std::lock_guard lock(state_mutex_);
        pending_marker_ = m;
    }
    persist_marker();
}

void trail_store::inherit_sync_failure(const trail_store& old) {
    if (!old.sync_failed_ || sync_failed_) return;
    std::optional<sync_marker> pending;
    std::string text;
    {
        std::lock_guard lock(old.state_mutex_);
        pending = old.pending_marker_;
        text = old.sync_failure_;
    }
    if (!pending) return; // nothing left to record: the marker is on disk, or was removed
    log::error(path_, ": the reload keeps the unrecorded sync failure (", describe(*pending),
               "): this host stays refused");
    sync_failed_ = true;
    std::lock_guard lock(state_mutex_);
    pending_marker_ = pending;
    sync_failure_ = text;
}

void trail_store::persist_marker() {
    int err = create_sync_marker(dir_.get(), *pending_marker_);
    marker_recorded_ = err == 0 || err == EEXIST;
    std::string state =
        marker_recorded_
            ? "recorded in " + marker_path() + ": this host is refused until an operator removes it"
            : "cannot record it in " + marker_path() + " (" + errno_text(err) +
                  "): this host is refused until it can be recorded or "
                  "auditdistd restarts";
    log::error(path_, ": sync failure ", state);
    std::lock_guard lock(state_mutex_);
    sync_failure_ = "refused: fdatasync failed on " + describe(*pending_marker_) + "; " + state;
}

int trail_store::sync_data() {
    struct stat st {};
    // The size before the call: every byte it counts is covered by the sync.
    if (::fstat(file_.get(), &st) != 0 || ::fdatasync(file_.get()) != 0) {
        int err = errno;
        record_sync_failure(err, true);
        return err;
    }
    synced_size_ = static_cast<std::uint64_t>(st.st_size);
    synced_known_ = true;
    // The ledger's entry for these bytes, synced too: an ack covers both.
    // Not after a failed sync: a later fdatasync that returns 0 (the error
    // was reported once) proves nothing about the bytes the failure lost.
    if (sync_failed_) return 0;
    if (int err = ledger_commit(synced_size_); err != 0) {
        if (err == ENOSPC) {
            // The trail's bytes are synced; only their entry found no room
            // (a full disk): nothing is lost, nothing acknowledged, and a
            // later commit covers them once there is room. No marker: an
            // operator has nothing to check.
            return err;
        }
        record_sync_failure(err, true);
        return err;
    }
    return 0;
}

// A reopened file may hold bytes a killed predecessor wrote but never
// synced: sync them now, so its size is a known synced starting point.
reply_error trail_store::sync_reopened() {
    struct stat st {};
    if (::fstat(file_.get(), &st) != 0 || ::fdatasync(file_.get()) != 0) {
        int err = errno;
        record_sync_failure(err, false);
        return fail(reply_error::open, "fdatasync " + path_ + "/" + open_name(), err);
    }
    synced_size_ = static_cast<std::uint64_t>(st.st_size);
    synced_known_ = true;
    return reply_error::ok;
}

std::string trail_store::sync_failure() const {
    std::lock_guard lock(state_mutex_);
    return sync_failure_;
}

} // namespace adist::receiver
