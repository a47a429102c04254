// Host directory operations (see trail_store.hpp). Every path is a single
// validated trail name resolved relative to the directory descriptor.
#include "receiver/trail_store.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>

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
            *error = "cannot create " + path + ": " + errno_text(errno);
            return nullptr;
        }
        dir = common::open_directory(path);
        if (dir && owner && ::fchown(dir.get(), owner->uid, owner->gid) != 0) {
            *error = "cannot give " + path + " to the daemon user: " + errno_text(errno);
            return nullptr;
        }
    }
    if (!dir) {
        *error = "cannot open directory " + path + ": " + errno_text(errno);
        return nullptr;
    }
    return std::unique_ptr<trail_store>(new trail_store(path, std::move(dir)));
}

trail_store::file_info trail_store::scan_newest() {
    file_info best;
    int fd = ::openat(dir_.get(), ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    DIR* d = fd >= 0 ? ::fdopendir(fd) : nullptr;
    if (d == nullptr) {
        if (fd >= 0) ::close(fd);
        log::error("cannot list ", path_, ": ", errno_text(errno));
        newest_ = best.name;
        return best;
    }
    while (dirent* e = ::readdir(d)) {
        std::string_view name = e->d_name;
        if (!proto::is_valid_trail_name(name) || name <= best.name) continue;
        struct stat st {};
        if (::fstatat(dir_.get(), e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) continue;
        if (!S_ISREG(st.st_mode)) {
            log::warning("ignoring ", path_, "/", name, ": not a regular file");
            continue;
        }
        best = {std::string(name), static_cast<std::uint64_t>(st.st_size)};
    }
    ::closedir(d);
    newest_ = best.name;
    return best;
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
    file_ = std::move(file);
    open_name_ = n;
    newest_ = n;
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
    file_.reset();
    open_name_.clear();
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
    file_ = std::move(fd);
    open_name_ = n;
    newest_ = n;
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

reply_error trail_store::open(std::string_view name) {
    if (file_) {
        if (auto e = abort(); e != reply_error::ok) return e;
    }
    auto decision = decide_open(newest_, name);
    switch (decision.action) {
    case open_action::reject:
        last_error_ = "refused by the receiver rules";
        return decision.error;
    case open_action::reopen: {
        // The create or rename of this file may predate a crash before its
        // directory sync: sync again so what we ack is reachable by name.
        auto e = open_sealed(name) ? reply_error::ok : open_file(name, 0, reply_error::open);
        if (e != reply_error::ok) return e;
        if (int err = sync_directory(); err != 0) return fail(reply_error::open, "fsync " + path_, err);
        return sealed_ ? reply_error::ok : protect(reply_error::open);
    }
    case open_action::rename_then_append: {
        if (int err = rename_noreplace(newest_, name); err != 0) {
            return fail(reply_error::rename, "cannot rename " + newest_ + " to " + std::string(name), err);
        }
        if (int err = sync_directory(); err != 0) return fail(reply_error::rename, "fsync " + path_, err);
        // With a guard, the supervisor's rename kept the file append-only
        // (without one, there is nothing to protect with).
        return open_file(name, 0, reply_error::open);
    }
    case open_action::create: {
        auto e = open_file(name, O_CREAT | O_EXCL, reply_error::create);
        if (e != reply_error::ok) return e;
        if (int err = sync_directory(); err != 0) return fail(reply_error::create, "fsync " + path_, err);
        return protect(reply_error::create);
    }
    }
    return reply_error::create;
}

reply_error trail_store::append(std::span<const std::byte> data) {
    if (auto e = decide_append(view()); e != reply_error::ok) return e;
    if (sealed_) {
        return fail(reply_error::write,
                    path_ + "/" + open_name_ + " is immutable (closed earlier under its final name)",
                    EPERM);
    }
    while (!data.empty()) {
        ssize_t n = ::write(file_.get(), data.data(), data.size());
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return fail(reply_error::write, "cannot write " + path_ + "/" + open_name_, n < 0 ? errno : EIO);
        data = data.subspan(static_cast<std::size_t>(n));
    }
    return reply_error::ok;
}

reply_error trail_store::close(std::string_view name) {
    auto decision = decide_close(view(), name);
    if (decision.action == close_action::reject) {
        last_error_ = "refused by the receiver rules";
        return decision.error;
    }
    if (::fdatasync(file_.get()) != 0) {
        sync_failed_ = true;
        return fail(reply_error::write, "fdatasync " + open_name_, errno);
    }
    if (decision.action == close_action::rename_then_close) {
        if (int err = rename_noreplace(open_name_, name); err != 0) {
            return fail(reply_error::rename, "cannot rename " + open_name_ + " to " + std::string(name), err);
        }
        if (int err = sync_directory(); err != 0) return fail(reply_error::rename, "fsync " + path_, err);
    }
    seal(name);
    auto next = after_close(view(), name);
    newest_ = next.newest;
    open_name_.clear();
    file_.reset();
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
    int err = ::fdatasync(file_.get()) == 0 ? 0 : errno;
    if (err != 0) sync_failed_ = true;
    file_.reset();
    open_name_.clear();
    sealed_ = false;
    return err;
}

trail_store::file_info trail_store::stored() const {
    file_info info{open_name_.empty() ? newest_ : open_name_, 0};
    struct stat st {};
    if (file_ && ::fstat(file_.get(), &st) == 0) {
        info.size = static_cast<std::uint64_t>(st.st_size);
    } else if (!info.name.empty() &&
               ::fstatat(dir_.get(), info.name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0) {
        info.size = static_cast<std::uint64_t>(st.st_size);
    }
    return info;
}

} // namespace adist::receiver
