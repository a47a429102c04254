// Host directory operations (see trail_store.hpp). Every path is a single
// validated trail name resolved relative to the directory descriptor.
#include "receiver/trail_store.hpp"

#include <fcntl.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <ctime>

#include "common/dir_list.hpp"
#include "common/log.hpp"
#include "proto/trail_name.hpp"

namespace adist::receiver {
using common::errno_text;
using common::unique_fd;
using proto::reply_error;

std::unique_ptr<trail_store> trail_store::open(const std::string& path,
                                               std::optional<owner_ids> owner,
                                               std::string* error) {
    unique_fd dir = common::open_directory(path);
    if (!dir && errno == ENOENT) {
        auto slash = path.find_last_of('/');
        if (slash > 0) {
            int err = common::make_directories(path.substr(0, slash), 0755);
            if (err != 0) {
                *error = "cannot create " + path.substr(0, slash) + ": " + errno_text(err);
                return nullptr;
            }
        }
        if (::mkdir(path.c_str(), 0700) != 0 && errno != EEXIST) {
            int err = errno;
            *error = "cannot create " + path + ": " + errno_text(err);
            // A reload, after the privilege drop: root makes it, then reload.
            if (err == EACCES && ::geteuid() != 0) {
                *error += " (as root: install -d -m 0700 -o " + std::to_string(::geteuid()) + " -g " +
                          std::to_string(::getegid()) + " " + path + ", then reload)";
            }
            return nullptr;
        }
        // The new entry must survive a crash like the files in it.
        std::string parent = slash == 0 ? std::string("/") : path.substr(0, slash);
        unique_fd parent_fd = common::open_directory(parent);
        if (!parent_fd || ::fsync(parent_fd.get()) != 0) {
            *error = "cannot sync " + parent + " after creating " + path + ": " + errno_text(errno);
            return nullptr;
        }
        dir = common::open_directory(path);
        if (dir && owner && ::fchown(dir.get(), owner->uid, owner->gid) != 0) {
            *error = "cannot give " + path + " to the daemon user: " + errno_text(errno);
            return nullptr;
        }
    }
    struct stat st {};
    if (!dir || ::fstat(dir.get(), &st) != 0) {
        *error = "cannot open directory " + path + ": " + errno_text(errno);
        return nullptr;
    }
    std::unique_ptr<trail_store> store(
        new trail_store(path, std::move(dir), common::file_id::of(st)));
    store->load_sync_marker();
    store->open_ledger(owner);
    return store;
}

trail_clock trail_store::clock() const {
    return {static_cast<std::int64_t>(::time(nullptr)), max_skew_.load()};
}

// Each odd name is reported once per store (bounded), not at every session.
bool trail_store::first_warning(const std::string& name) {
    if (warned_.size() >= 64) return false;
    return warned_.insert(name).second;
}

trail_store::scan_result trail_store::scan_newest() {
    scan_result r;
    if (hold() != 0) {
        r.refusal = last_error_;
        return r;
    }
    if (ledger_) ledger_->finish_pending(); // else the next commit tries again
    r.refusal = check_sync_marker();
    if (r.refusal.empty()) r.refusal = list_newest(&r.newest);
    if (r.refusal.empty()) set_newest(r.newest.name);
    return r;
}

// The greatest usable trail name in the directory and its size, or why the
// directory could not be read completely (then nothing is usable: a partial
// listing could miss the newest trail and let an older one in).
std::string trail_store::list_newest(file_info* best) {
    auto listing = common::list_directory(dir_.get());
    if (!listing.ok()) {
        return "cannot list " + path_ + ": " + errno_text(listing.error) +
               "; refusing rather than risk accepting a trail older than the stored newest";
    }
    auto clk = clock();
    for (const auto& name : listing.names) {
        if (!proto::is_valid_trail_name(name)) {
            if (name.size() == proto::trail_name_length && name[0] >= '0' && name[0] <= '9' &&
                first_warning(name)) {
                log::warning("ignoring ", path_, "/", log::printable(name),
                             ": not a real time; it cannot be the newest trail "
                             "(see auditdistd troubleshooting)");
            }
            continue;
        }
        if (name <= best->name) continue;
        if (starts_too_late(name, clk)) {
            if (first_warning(name)) {
                log::warning("ignoring ", path_, "/", name, ": starts more than ", clk.max_skew,
                             " s after this receiver's clock; it cannot be the newest trail");
            }
            continue;
        }
        struct stat st {};
        if (::fstatat(dir_.get(), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
            if (errno == ENOENT) continue;
            return "cannot stat " + path_ + "/" + name + ": " + errno_text(errno);
        }
        if (!S_ISREG(st.st_mode)) {
            log::warning("ignoring ", path_, "/", name, ": not a regular file");
            continue;
        }
        *best = {name, static_cast<std::uint64_t>(st.st_size)};
    }
    return {};
}

reply_error trail_store::fail(reply_error e, std::string what, int err) {
    last_error_ = what + ": " + errno_text(err);
    return e;
}

reply_error trail_store::open_file(std::string_view name, int flags, reply_error on_error) {
    std::string n(name);
    int fd = ::openat(dir_.get(), n.c_str(), flags | O_WRONLY | O_APPEND | O_NOFOLLOW | O_CLOEXEC,
                      0600);
    if (fd < 0) return fail(on_error, "cannot open " + path_ + "/" + n, errno);
    unique_fd file(fd);
    struct stat st {};
    if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        return fail(on_error, path_ + "/" + n + " is not a regular file", EINVAL);
    }
    // Everything here was created by us: a file of another user was put
    // there by someone else, and is not ours to add to.
    if (st.st_uid != ::geteuid()) {
        return fail(on_error,
                    path_ + "/" + n + " belongs to uid " + std::to_string(st.st_uid) +
                        ", not to the daemon's user; refusing to write to it",
                    EPERM);
    }
    set_open(std::move(file), n);
    return reply_error::ok;
}

int trail_store::rename_noreplace(std::string_view from, std::string_view to) {
    std::string f(from), t(to);
    // An append-only file can only be renamed by root: the supervisor does it.
    if (guard_) return guard_->call({0, common::guard_op::rename, path_, f, t});
    // RENAME_NOREPLACE: never let a rename replace an existing file.
    if (::syscall(SYS_renameat2, dir_.get(), f.c_str(), dir_.get(), t.c_str(),
                  RENAME_NOREPLACE) == 0) {
        return 0;
    }
    return errno;
}

void trail_store::note_unsupported(int err) {
    if (unsupported_noted_) return;
    unsupported_noted_ = true;
    log::warning(path_, ": the filesystem does not take the append-only and immutable attributes (",
                 errno_text(err), "): trails here are protected by the receiver rules only");
}

// The file just opened becomes append-only. Failing that, it is closed and
// the request refused: the sender retries, and nothing is written to a file
// the kernel does not protect when it could.
reply_error trail_store::protect(reply_error on_error) {
    if (!guard_) return reply_error::ok;
    int err = guard_->call({0, common::guard_op::protect, path_, open_name_, {}});
    if (err == 0) return reply_error::ok;
    if (common::flags_unsupported(err)) {
        note_unsupported(err);
        return reply_error::ok;
    }
    std::string name = open_name_;
    clear_open();
    return fail(on_error, "cannot make " + path_ + "/" + name + " append-only", err);
}

// A reopened file that refuses writing may be one closed earlier under its
// final name and made immutable (a sender that restarted between the CLOSE
// ack and removing its link opens it again): it is opened read-only, and
// only a CLOSE under the same name is then accepted.
bool trail_store::open_sealed(std::string_view name) {
    std::string n(name);
    unique_fd fd(::openat(dir_.get(), n.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC));
    int flags = 0;
    struct stat st {};
    if (!fd || ::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode) ||
        ::ioctl(fd.get(), FS_IOC_GETFLAGS, &flags) != 0 || (flags & FS_IMMUTABLE_FL) == 0) {
        return false;
    }
    set_open(std::move(fd), n);
    sealed_ = true;
    return true;
}

// A file closed under its final name becomes immutable. Failing that, it
// stays append-only: logged, and the CLOSE is still acknowledged (its bytes
// are durable and complete).
void trail_store::seal(std::string_view name) {
    if (!guard_ || sealed_) return;
    std::string n(name);
    auto kind = proto::classify_trail_name(n);
    if (kind != proto::trail_kind::terminated && kind != proto::trail_kind::crash_recovery) return;
    int err = guard_->call({0, common::guard_op::seal, path_, n, {}});
    if (err == 0) return;
    if (common::flags_unsupported(err)) {
        note_unsupported(err);
        return;
    }
    log::error("cannot make ", path_, "/", n, " immutable: ", errno_text(err),
               "; it stays append-only");
}

int trail_store::sync_directory() { return ::fsync(dir_.get()) == 0 ? 0 : errno; }

std::string trail_store::refused_for_sync() const {
    return "refused: an earlier fdatasync in " + path_ + " failed";
}

reply_error trail_store::open(std::string_view name) {
    if (sync_failed_) return fail(reply_error::open, refused_for_sync(), EIO);
    if (hold() != 0) return reply_error::open;
    if (file_) {
        if (auto e = abort(); e != reply_error::ok) return e;
    }
    auto clk = clock();
    auto decision = decide_open(newest_, name, clk);
    switch (decision.action) {
    case open_action::reject:
        last_error_ = "refused by the receiver rules";
        if (starts_too_late(name, clk)) {
            last_error_ = "the trail starts more than " + std::to_string(clk.max_skew) +
                          " s (max_clock_skew) after this receiver's clock; check the sender's "
                          "clock";
        } else if (!proto::is_valid_trail_name(name)) {
            last_error_ = "not a trail name with real UTC times";
        }
        return decision.error;
    case open_action::reopen: {
        // The create or rename of this file may predate a crash before its
        // directory sync: sync again so what we ack is reachable by name.
        auto e = open_sealed(name) ? reply_error::ok : open_file(name, 0, reply_error::open);
        if (e != reply_error::ok) return e;
        if (int err = sync_directory(); err != 0) return fail(reply_error::open, "fsync " + path_, err);
        if (sealed_) return ledger_open(name, false);
        if (e = sync_reopened(); e != reply_error::ok) return e;
        if (e = ledger_open(name, false); e != reply_error::ok) return e;
        return protect(reply_error::open);
    }
    case open_action::rename_then_append: {
        if (auto e = ledger_before_rename(); e != reply_error::ok) return e;
        if (int err = rename_noreplace(newest_, name); err != 0) {
            return fail(reply_error::rename, "cannot rename " + newest_ + " to " + std::string(name), err);
        }
        if (int err = sync_directory(); err != 0) return fail(reply_error::rename, "fsync " + path_, err);
        if (int err = ledger_renamed(name, false); err != 0)
            return fail(reply_error::rename, "cannot write the ledger", err);
        // With a guard, the supervisor's rename kept the file append-only
        // (without one, there is nothing to protect with).
        auto e = open_file(name, 0, reply_error::open);
        return e != reply_error::ok ? e : sync_reopened();
    }
    case open_action::create: {
        auto e = open_file(name, O_CREAT | O_EXCL, reply_error::create);
        if (e != reply_error::ok) return e;
        synced_size_ = 0;
        synced_known_ = true;
        if (e = ledger_open(name, true); e != reply_error::ok) return e;
        if (int err = sync_directory(); err != 0) return fail(reply_error::create, "fsync " + path_, err);
        return protect(reply_error::create);
    }
    }
    return reply_error::create;
}

reply_error trail_store::append(std::span<const std::byte> data) {
    if (auto e = decide_append(view()); e != reply_error::ok) return e;
    if (sync_failed_) return fail(reply_error::write, refused_for_sync(), EIO);
    if (sealed_) {
        return fail(reply_error::write,
                    path_ + "/" + open_name_ + " is immutable (closed earlier under its final name)",
                    EPERM);
    }
    if (int err = write_data(data); err != 0) return fail(reply_error::write, "cannot write " + path_ + "/" + open_name_, err);
    return reply_error::ok;
}

reply_error trail_store::close(std::string_view name, const proto::file_digest* expected) {
    auto decision = decide_close(view(), name);
    if (decision.action == close_action::reject) {
        last_error_ = "refused by the receiver rules";
        return decision.error;
    }
    // Committed first: the ledger's digest then covers every stored byte.
    if (int err = sync_data(); err != 0) {
        if (!sync_failed_) // the ledger had no room for the entry: nothing lost
            return fail(reply_error::write, "no room in the ledger for " + open_name_, err);
        return fail(reply_error::write, "fdatasync " + open_name_, err);
    }
    if (expected) {
        if (auto e = check_close_digest(*expected); e != reply_error::ok) return e;
    }
    if (decision.action == close_action::rename_then_close) {
        if (int err = rename_noreplace(open_name_, name); err != 0) {
            return fail(reply_error::rename, "cannot rename " + open_name_ + " to " + std::string(name), err);
        }
        if (int err = sync_directory(); err != 0) return fail(reply_error::rename, "fsync " + path_, err);
    }
    if (!sealed_) {
        if (int err = ledger_renamed(name, true); err != 0)
            return fail(reply_error::write, "cannot write the ledger", err);
    }
    seal(name);
    auto next = after_close(view(), name);
    set_newest(next.newest);
    clear_open();
    sealed_ = false;
    return reply_error::ok;
}

reply_error trail_store::abort() {
    if (auto e = decide_error(view()); e != reply_error::ok) return e;
    if (int err = detach(); err != 0) return fail(reply_error::write, "fdatasync " + path_, err);
    return reply_error::ok;
}

int trail_store::detach() {
    if (!file_) return 0;
    int err = sealed_ ? 0 : sync_data();
    if (ledger_) ledger_->finish_pending(); // sync_data does too, but not for a sealed trail
    clear_open();
    sealed_ = false;
    return err;
}

trail_store::file_info trail_store::stored() const {
    std::unique_lock lock(state_mutex_);
    file_info info{open_name_.empty() ? newest_ : open_name_, 0};
    struct stat st {};
    // file_ and dir_ cannot be closed while the lock is held (clear_open and
    // release_idle take it).
    if (file_ && ::fstat(file_.get(), &st) == 0) {
        info.size = static_cast<std::uint64_t>(st.st_size);
        return info;
    }
    if (info.name.empty()) return info;
    // Released (no trail open): by path, which is only for the report.
    int rc = dir_
                 ? ::fstatat(dir_.get(), info.name.c_str(), &st, AT_SYMLINK_NOFOLLOW)
                 : ::fstatat(AT_FDCWD, (path_ + "/" + info.name).c_str(), &st, AT_SYMLINK_NOFOLLOW);
    if (rc == 0) info.size = static_cast<std::uint64_t>(st.st_size);
    return info;
}

store_view trail_store::view() const {
    std::lock_guard lock(state_mutex_);
    return {newest_, open_name_};
}

std::string trail_store::open_name() const {
    std::lock_guard lock(state_mutex_);
    return open_name_;
}

void trail_store::set_open(unique_fd file, std::string name) {
    std::lock_guard lock(state_mutex_);
    file_ = std::move(file);
    newest_ = name;
    open_name_ = std::move(name);
    synced_known_ = false;
}

void trail_store::clear_open() {
    std::lock_guard lock(state_mutex_);
    file_.reset();
    open_name_.clear();
}

void trail_store::set_newest(std::string name) {
    std::lock_guard lock(state_mutex_);
    newest_ = std::move(name);
}

} // namespace adist::receiver
