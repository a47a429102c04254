// The supervisor's side of the trail guard (see guard_executor.hpp): the
// decider and the executor that carries out an allowed request as root.
#include "privileged/guard_executor.hpp"

#include <algorithm>
#include <cerrno>
#include <fcntl.h>
#include <linux/fs.h>
#include <sys/stat.h>
#include <csignal>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/fd.hpp"
#include "common/log.hpp"
#include "proto/trail_name.hpp"

namespace adist::privileged {

using common::errno_text;
using common::get_attribute_flags;
using common::open_directory;
using common::set_attribute_flags;
using common::unique_fd;

namespace {

bool is_final(std::string_view name) {
    auto k = proto::classify_trail_name(name);
    return k == proto::trail_kind::terminated || k == proto::trail_kind::crash_recovery;
}

} // namespace

std::optional<std::string> check_guard_request(const guard_policy& policy, const guard_request& r) {
    if (std::find(policy.dirs.begin(), policy.dirs.end(), r.dir) == policy.dirs.end()) {
        return r.dir + " is not a configured host directory";
    }
    switch (r.op) {
    case guard_op::protect: return std::nullopt;
    case guard_op::rename:
        if (!proto::is_valid_rename(r.name, r.to)) {
            return "renaming " + r.name + " to " + r.to + " is not allowed by the trail rules";
        }
        return std::nullopt;
    case guard_op::seal:
        if (!is_final(r.name)) return r.name + " is not a final trail name";
        return std::nullopt;
    }
    return "unknown request";
}

std::optional<std::string> check_guard_file(const guard_policy& policy, const guard_request& r,
                                            const guard_file_state& st) {
    std::string where = r.dir + "/" + r.name;
    if (!st.dir_is_directory) return r.dir + " is not a directory";
    if (st.dir_owner != policy.worker_uid) {
        return r.dir + " belongs to uid " + std::to_string(st.dir_owner) + ", not the worker's";
    }
    if (!st.is_regular) return where + " is not a regular file";
    if (st.owner != policy.worker_uid) {
        return where + " belongs to uid " + std::to_string(st.owner) + ", not the worker's";
    }
    if (st.links != 1) return where + " has " + std::to_string(st.links) + " links";
    if (r.op == guard_op::rename && st.immutable) return where + " is immutable";
    return std::nullopt;
}


namespace {

// The request's directory and file, opened without following a symbolic
// link, and what the decider needs to know of them.
struct opened_trail {
    unique_fd dir, file;
    guard_file_state st;
    int flags = 0;
    int flags_err = 0; // FS_IOC_GETFLAGS failed with this (unsupported)
};

// 0, or an errno value (EPERM with *refusal for a symbolic link).
int open_trail(const guard_request& r, opened_trail* t, std::string* refusal) {
    t->dir = open_directory(r.dir);
    if (!t->dir) return errno;
    t->file = unique_fd(::openat(t->dir.get(), r.name.c_str(),
                                 O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC));
    if (!t->file) {
        // A symbolic link (ELOOP) is a violation; a missing file is not.
        if (errno == ELOOP) {
            *refusal = r.dir + "/" + r.name + " is a symbolic link";
            return EPERM;
        }
        return errno;
    }
    struct stat dst {}, fst {};
    if (::fstat(t->dir.get(), &dst) != 0 || ::fstat(t->file.get(), &fst) != 0) return errno;
    auto& st = t->st;
    st.dir_is_directory = S_ISDIR(dst.st_mode);
    st.dir_owner = dst.st_uid;
    st.is_regular = S_ISREG(fst.st_mode);
    st.owner = fst.st_uid;
    st.links = fst.st_nlink;
    t->flags_err = st.is_regular ? get_attribute_flags(t->file.get(), &t->flags) : 0;
    st.flags_supported = t->flags_err == 0;
    st.append_only = (t->flags & FS_APPEND_FL) != 0;
    st.immutable = (t->flags & FS_IMMUTABLE_FL) != 0;
    return 0;
}

// The kernel refuses to rename an append-only file: lift the flag for the
// rename only, and set it again whatever happened. The flag is lifted only
// for a rename that can succeed: a target that exists is refused first
// (RENAME_NOREPLACE still guards the race with a target created meanwhile).
// While it is lifted the worker cannot use the moment: its sandbox makes it
// append-only by construction (every writable open carries O_APPEND, F_SETFL
// keeps it, no shared mapping, no rename or link; privileged/sandbox_syscalls).
// Keeps the worker stopped while it lives: SIGSTOP, then wait (bounded, 2 s)
// until the kernel reports the whole process stopped; SIGCONT at the end.
// The worker is our child, so waitid(WSTOPPED) sees the stop; an exit is
// left for the supervisor's own wait.
class worker_freeze {
public:
    explicit worker_freeze(pid_t pid) : pid_(pid) {
        if (pid_ <= 0) return;
        if (::kill(pid_, SIGSTOP) != 0) return;
        sent_ = true;
        for (int i = 0; i < 2000; ++i) { // 1 ms steps
            siginfo_t info{};
            if (::waitid(P_PID, static_cast<id_t>(pid_), &info, WSTOPPED | WNOHANG) != 0) return;
            if (info.si_pid == pid_) {
                stopped_ = true;
                return;
            }
            ::usleep(1000);
        }
    }
    ~worker_freeze() {
        if (sent_) ::kill(pid_, SIGCONT);
    }
    worker_freeze(const worker_freeze&) = delete;
    worker_freeze& operator=(const worker_freeze&) = delete;
    // True when the flag may be lifted: no worker to stop, or it is stopped.
    bool holds() const { return pid_ <= 0 || stopped_; }

private:
    pid_t pid_;
    bool sent_ = false, stopped_ = false;
};

int rename_keeping_flags(const opened_trail& t, const guard_request& r, pid_t worker) {
    struct stat target {};
    if (::fstatat(t.dir.get(), r.to.c_str(), &target, AT_SYMLINK_NOFOLLOW) == 0) return EEXIST;
    if (errno != ENOENT) return errno;
    // Belt and braces: the worker is append-only by construction, and it
    // does not run at all while the flag is off (with both roles in one
    // process and no Landlock, its seccomp filter must allow unlink).
    worker_freeze freeze(t.st.append_only ? worker : 0);
    if (!freeze.holds()) return EAGAIN;
    if (t.st.append_only) {
        if (int err = set_attribute_flags(t.file.get(), t.flags & ~FS_APPEND_FL); err != 0) return err;
    }
    int err = ::syscall(SYS_renameat2, t.dir.get(), r.name.c_str(), t.dir.get(), r.to.c_str(),
                        RENAME_NOREPLACE) == 0
                  ? 0
                  : errno;
    if (t.st.append_only) {
        if (int back = set_attribute_flags(t.file.get(), t.flags); back != 0) {
            log::error(r.dir, "/", err == 0 ? r.to : r.name,
                       ": cannot make it append-only again after the rename: ", errno_text(back));
        }
    }
    return err;
}

} // namespace

int execute_guard_request(const guard_policy& policy, const guard_request& r, std::string* refusal) {
    if (auto why = check_guard_request(policy, r)) {
        *refusal = *why;
        return EPERM;
    }
    opened_trail t;
    if (int err = open_trail(r, &t, refusal); err != 0) return err;
    if (auto why = check_guard_file(policy, r, t.st)) {
        *refusal = *why;
        return EPERM;
    }
    switch (r.op) {
    case guard_op::protect:
        if (t.flags_err != 0) return t.flags_err;
        return t.st.append_only || t.st.immutable ? 0
                                                  : set_attribute_flags(t.file.get(), t.flags | FS_APPEND_FL);
    case guard_op::seal:
        if (t.flags_err != 0) return t.flags_err;
        return t.st.immutable ? 0 : set_attribute_flags(t.file.get(), t.flags | FS_IMMUTABLE_FL);
    case guard_op::rename: return rename_keeping_flags(t, r, policy.worker_pid);
    }
    return EINVAL;
}

} // namespace adist::privileged
