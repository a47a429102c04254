// One sender host's directory on the receiver: finds the newest trail file
// and executes the decisions of trail_rules with descriptor-relative, no-follow,
// never-truncating file operations. OPEN and CLOSE are durable when they
// return; APPEND only writes, and the session group-commits with sync().
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <sys/types.h>

#include "common/config.hpp"
#include "common/daemon_util.hpp"
#include "common/fd.hpp"
#include "common/guard_channel.hpp"
#include "proto/frame_codec.hpp"
#include "proto/wire.hpp"
#include "receiver/sync_marker.hpp"
#include "receiver/trail_ledger.hpp"
#include "receiver/trail_rules.hpp"

namespace adist::receiver {

using owner_ids = common::user_ids;

class trail_store {
public:
    // Opens the host directory, creating it (0700, and its missing parents
    // 0755) first if needed; with `owner`, a created directory is given to
    // that user so the unprivileged daemon can write it. Returns nullptr and
    // sets *error on failure.
    static std::unique_ptr<trail_store> open(const std::string& path,
                                             std::optional<owner_ids> owner, std::string* error);

    const std::string& path() const { return path_; }

    // Descriptors (trail_store_descriptors.cpp). The host directory and the
    // ledger are open only while the store works: from an operation that
    // needs them (a scan, an OPEN, a resume's digest) for as long as a trail
    // is open, then until release_idle(). A host with no open trail holds no
    // descriptor, so 10,000 idle senders cost one each (their socket). Each
    // reopen is by path and must find the directory and the ledger the store
    // first opened (device and inode), else the operation fails and says so:
    // the store's state (the ledger's head, the newest trail) belongs to them.
    //
    // Closes them unless a trail is open; called by the one running the
    // store's operations (the session, the receiver's setup), between them.
    void release_idle();
    // The directory's descriptor for a look inside it (the setup's attribute
    // probe, the session's usage measure), reopened if released: -1 with
    // last_error() set when that fails. Valid until release_idle().
    int held_dir_fd();

    // With a guard (the root supervisor's channel), files this store creates
    // or reopens are made append-only, renames go through the guard, and a
    // file closed under a final name is made immutable (common/guard_channel).
    // Without one (not started as root), the rules alone protect the files.
    void set_guard(common::guard_client* guard) { guard_ = guard; }

    // A trail may start at most this many seconds after the receiver's clock
    // (the `max_clock_skew` statement); set at setup and by reloads.
    void set_max_clock_skew(std::int64_t seconds) { max_skew_ = seconds; }
    trail_clock clock() const;

    struct file_info {
        std::string name; // "" when the directory has no trail file
        std::uint64_t size = 0;
    };
    struct scan_result {
        file_info newest;
        std::string refusal; // not empty: refuse the session, this says why
    };
    // At the start of a session: refuses while the sync-failure marker is
    // there (or a failure could not be recorded), or when the directory
    // cannot be listed completely; else rescans: greatest valid name of a
    // regular file, skipping names with impossible times or starting beyond
    // the clock skew (logged), and its size. Becomes the rules' newest.
    scan_result scan_newest();

    store_view view() const;
    // The newest file as last seen and its size now (for status; no rescan).
    // Safe to call from another thread than the one running the operations.
    file_info stored() const;
    std::string open_name() const;

    proto::reply_error open(std::string_view name);
    proto::reply_error append(std::span<const std::byte> data);
    // With `expected` (protocol version 1), the open file as stored must have
    // that size and SHA-256, else digest_mismatch and nothing changes.
    proto::reply_error close(std::string_view name, const proto::file_digest* expected = nullptr);
    proto::reply_error abort(); // ERROR: close without renaming
    // Syncs and closes the open file, if any (session end). Returns errno or 0.
    int detach();

    // The group commit of the open file: fdatasync, remembering the size it
    // covers, and the ledger's entry. A failure is recorded
    // (record_sync_failure, sync_failed() says so) except ENOSPC from the
    // ledger: the bytes are synced, their entry found no room and is written
    // by a later commit. Returns errno or 0.
    int sync_data();

    // An fdatasync of this host's files failed: the kernel may have dropped
    // the data while the file size still counts it, so the size is no longer
    // a safe resume point. Recorded durably in the host directory (the sync
    // marker), so neither a reload nor a restart forgets it: the host is
    // refused until an operator checks the trail and removes the marker.
    bool sync_failed() const { return sync_failed_; }
    // What `status` says while the host is refused for it ("" otherwise).
    std::string sync_failure() const;
    // A reload that replaces this host's store (its configuration changed)
    // hands over a failure that could not be recorded in the marker yet
    // (one that was is on disk, and open() read it).
    void inherit_sync_failure(const trail_store& old);

    // Protocol version 1 (trail_digest.cpp): the SHA-256 of the first `size`
    // bytes of trail `name` as stored (the whole file, with its size now,
    // without `size`), from the ledger's running digest (bytes past what it
    // covers are read back once); without a ledger read back from the file.
    // Nothing when it cannot be had.
    std::optional<proto::file_digest> stored_digest(std::string_view name,
                                                    std::optional<std::uint64_t> size = std::nullopt);

    // The host's ledger (nullptr when it could not be opened).
    const trail_ledger* ledger() const { return ledger_.get(); }

    // Last system error behind a non-ok reply, for the log.
    const std::string& last_error() const { return last_error_; }

private:
    trail_store(std::string path, common::unique_fd dir, common::file_id id)
        : path_(std::move(path)), dir_(std::move(dir)), dir_id_(id) {}
    // Reopens the directory and the ledger if released (0, or errno with
    // last_error_ set). A trail open implies them held.
    int hold();
    std::string marker_path() const;
    std::string refused_for_sync() const;
    void load_sync_marker();
    void record_sync_failure(int err, bool size_known);
    void persist_marker();
    std::string check_sync_marker();
    std::string list_newest(file_info* best);
    bool first_warning(const std::string& name);
    proto::reply_error sync_reopened();
    void set_open(common::unique_fd file, std::string name);
    void clear_open();
    void set_newest(std::string name);
    proto::reply_error fail(proto::reply_error e, std::string what, int err);
    proto::reply_error open_file(std::string_view name, int flags, proto::reply_error on_error);
    int rename_noreplace(std::string_view from, std::string_view to);
    proto::reply_error protect(proto::reply_error on_error);
    bool open_sealed(std::string_view name);
    void seal(std::string_view name);
    void note_unsupported(int err);
    int sync_directory();
    // The ledger's side (trail_digest.cpp).
    void open_ledger(std::optional<owner_ids> owner);
    proto::reply_error ledger_open(std::string_view name, bool created);
    proto::reply_error ledger_before_rename();
    int ledger_renamed(std::string_view to, bool close);
    int ledger_commit(std::uint64_t size);
    int write_data(std::span<const std::byte> data);
    proto::reply_error check_close_digest(const proto::file_digest& expected);
    std::optional<proto::file_digest> read_back(const std::string& name, std::optional<std::uint64_t> size);

    std::string path_;
    // Written by hold() and release_idle() under state_mutex_ (status reads it).
    common::unique_fd dir_;
    common::file_id dir_id_; // the directory first opened, which hold() must find again
    // newest_, open_name_ and file_ change on the pool threads and are read
    // by status(): changed and read under state_mutex_.
    mutable std::mutex state_mutex_;
    std::string newest_;
    std::string open_name_;
    common::unique_fd file_;
    std::string last_error_;
    std::atomic<std::int64_t> max_skew_{common::default_max_clock_skew};
    std::atomic<bool> sync_failed_{false};
    std::atomic<std::uint64_t> synced_size_{0}; // of the open file
    std::atomic<bool> synced_known_{false};
    bool marker_recorded_ = false;              // the failure is in the marker
    std::optional<sync_marker> pending_marker_; // the failure to record; set under state_mutex_
    std::string sync_failure_;                  // under state_mutex_
    common::guard_client* guard_ = nullptr;
    bool sealed_ = false;          // the open file is immutable: closed earlier under its final name
    bool unsupported_noted_ = false;
    std::set<std::string> warned_; // names the scan reported as ignored
    std::unique_ptr<trail_ledger> ledger_;
};

} // namespace adist::receiver
