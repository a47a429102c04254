// One sender host's directory on the receiver: finds the newest trail file
// and executes the decisions of trail_rules with descriptor-relative, no-follow,
// never-truncating file operations. OPEN and CLOSE are durable when they
// return; APPEND only writes, and the session group-commits with sync().
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <sys/types.h>

#include "common/daemon_util.hpp"
#include "common/fd.hpp"
#include "common/guard_channel.hpp"
#include "proto/wire.hpp"
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
    int dir_fd() const { return dir_.get(); }

    // With a guard (the root supervisor's channel), files this store creates
    // or reopens are made append-only, renames go through the guard, and a
    // file closed under a final name is made immutable (common/guard_channel).
    // Without one (not started as root), the rules alone protect the files.
    void set_guard(common::guard_client* guard) { guard_ = guard; }

    struct file_info {
        std::string name; // "" when the directory has no trail file
        std::uint64_t size = 0;
    };
    // Rescans the directory: greatest valid name of a regular file (anything
    // else is ignored with a warning) and its size. Becomes the rules' newest.
    file_info scan_newest();

    store_view view() const { return {newest_, open_name_}; }
    // The newest file as last seen and its size now (for status; no rescan).
    file_info stored() const;
    const std::string& open_name() const { return open_name_; }

    proto::reply_error open(std::string_view name);
    proto::reply_error append(std::span<const std::byte> data);
    proto::reply_error close(std::string_view name);
    proto::reply_error abort(); // ERROR: close without renaming
    // The open file's descriptor (-1 if none) for group commits.
    int file_fd() const { return file_.get(); }
    // Syncs and closes the open file, if any (session end). Returns errno or 0.
    int detach();

    // An fdatasync of this host's files failed: the kernel may have dropped
    // the data while the file size still counts it, so the size is no longer
    // a safe resume point. The host is refused until the daemon restarts.
    bool sync_failed() const { return sync_failed_; }
    void mark_sync_failed() { sync_failed_ = true; }

    // Last system error behind a non-ok reply, for the log.
    const std::string& last_error() const { return last_error_; }

private:
    trail_store(std::string path, common::unique_fd dir) : path_(std::move(path)), dir_(std::move(dir)) {}
    proto::reply_error fail(proto::reply_error e, std::string what, int err);
    proto::reply_error open_file(std::string_view name, int flags, proto::reply_error on_error);
    int rename_noreplace(std::string_view from, std::string_view to);
    proto::reply_error protect(proto::reply_error on_error);
    bool open_sealed(std::string_view name);
    void seal(std::string_view name);
    void note_unsupported(int err);
    int sync_directory();

    std::string path_;
    common::unique_fd dir_;
    std::string newest_;
    std::string open_name_;
    common::unique_fd file_;
    std::string last_error_;
    bool sync_failed_ = false;
    common::guard_client* guard_ = nullptr;
    bool sealed_ = false;          // the open file is immutable: closed earlier under its final name
    bool unsupported_noted_ = false;
};

} // namespace adist::receiver
