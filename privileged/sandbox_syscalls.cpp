// The seccomp allowlist of the worker (see sandbox.hpp), in one place. Any
// system call not listed kills the whole process with SIGSYS (the kernel logs
// it: `dmesg | grep type=1326`). Derived from strace of the test suite and
// from the code paths that run rarely (docs/security.md, "Sandbox").
#include "privileged/sandbox_internal.hpp"

#include <cerrno>
#include <fcntl.h>
#include <initializer_list>
#include <linux/fs.h>
#include <sched.h>
#include <seccomp.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sysexits.h>
#include <termios.h>
#include <unistd.h>

#include <linux/netlink.h>

#include "common/fd.hpp"

namespace adist::privileged {

using namespace adist::common;
namespace {

// Both roles, without conditions on the arguments.
const char* const common_calls[] = {
    // memory (malloc, thread stacks, OpenSSL); mmap is conditional
    "brk", "munmap", "mprotect", "mremap", "madvise",
    // threads and their synchronisation (the receiver's sync pool, Asio's
    // resolver thread); clone is conditional, below
    "futex", "set_robust_list", "rseq", "set_tid_address", "sched_yield", "sched_getaffinity",
    "gettid", "getpid", "getppid", "exit", "exit_group",
    // signals (Asio's signal_set, abort())
    "rt_sigaction", "rt_sigprocmask", "rt_sigreturn", "sigaltstack", "restart_syscall",
    // time (mostly the vDSO; these are its fallbacks) and sleeping
    "clock_gettime", "clock_getres", "gettimeofday", "time", "clock_nanosleep", "nanosleep",
    // the event loop (Asio's epoll reactor, its interrupter and timers)
    "epoll_create1", "epoll_ctl", "epoll_wait", "epoll_pwait", "epoll_pwait2", "eventfd2",
    "timerfd_create", "timerfd_settime", "timerfd_gettime", "poll", "ppoll", "pipe2",
    // descriptors: reading, writing, closing; ioctl, fcntl and openat are
    // conditional. pwrite64 and pwritev on an O_APPEND descriptor append
    // whatever the offset; pwritev2 (RWF_NOAPPEND) is not on the list.
    "read", "write", "readv", "writev", "pread64", "pwrite64", "preadv", "pwritev", "lseek",
    "close", "dup", "dup3",
    // metadata and directory listings (Landlock decides what may be reached)
    "fstat", "newfstatat", "stat", "lstat", "statx", "getdents64", "readlink", "readlinkat",
    "access", "faccessat", "faccessat2",
    // sockets: TLS connections, the status socket, syslog (/dev/log), the
    // resolver (UDP to the name servers, netlink for AI_ADDRCONFIG); which
    // ports TCP may connect to is Landlock's; socket() is conditional
    "connect", "bind", "listen", "accept", "accept4", "shutdown", "sendto", "recvfrom",
    "sendmsg", "recvmsg", "sendmmsg", "recvmmsg", "setsockopt", "getsockopt", "getsockname",
    "getpeername",
    // identity (the status socket's peer check), host facts, randomness
    "getuid", "geteuid", "getgid", "getegid", "getresuid", "getresgid", "getgroups", "uname",
    "sysinfo", "prlimit64", "getrandom",
};

// The receiver: stable storage, new host directories.
const char* const receiver_calls[] = {"fdatasync", "fsync", "mkdir", "mkdirat"};

// The receiver's closing rename, when no supervisor does it for the worker
// (started as another user than root: no append-only attribute either).
const char* const rename_calls[] = {"renameat2", "renameat", "rename"};

// The sender: watching the dist directory; syncing its receipts
// (sender/receipt_keeper, through the descriptor opened before the drop).
const char* const sender_calls[] = {"inotify_init1", "inotify_add_watch", "inotify_rm_watch",
                                    "fdatasync"};

// Removing files: the sender's shipped links, and the pidfile and status
// socket at exit when no supervisor does it.
const char* const remove_calls[] = {"unlink", "unlinkat"};

// The collector links each new file into dist and renames its own files at
// rotation (Landlock confines both to its two directories); pidfd_open
// tells whether a cached parent of a client still lives (it signals nothing).
const char* const collector_calls[] = {"linkat",   "link",     "fdatasync", "fsync",
                                       "renameat2", "renameat", "rename",    "pidfd_open"};

// Sanitizer builds only: LeakSanitizer's check at exit clones a tracer
// (clone without CLONE_THREAD, allowed below) that ptraces every thread,
// lists /proc/PID/task with getdents and is waited for; it calls prctl to
// make the process dumpable again and to name the tracer (any prctl option,
// below). Observed with -DADIST_SECCOMP_LOG=ON: these and nothing else.
const char* const sanitizer_calls[] = {"ptrace", "wait4", "getdents", "prctl"};

class filter {
public:
    explicit filter(std::uint32_t default_action) : ctx_(seccomp_init(default_action)) {}
    ~filter() {
        if (ctx_) seccomp_release(ctx_);
    }
    filter(const filter&) = delete;
    filter& operator=(const filter&) = delete;

    bool ok() const { return ctx_ != nullptr && rc_ == 0; }
    const std::string& failed_at() const { return failed_; }
    scmp_filter_ctx get() const { return ctx_; }

    // Adds a rule; a name this architecture does not have is skipped.
    template <typename... Args>
    void add(std::uint32_t action, const char* name, Args... conditions) {
        if (!ctx_ || rc_ != 0) return;
        int nr = seccomp_syscall_resolve_name(name);
        if (nr == __NR_SCMP_ERROR) return;
        rc_ = seccomp_rule_add(ctx_, action, nr, sizeof...(Args), conditions...);
        if (rc_ != 0) failed_ = name;
    }
    void allow(std::initializer_list<const char*> names) {
        for (const char* n : names) add(SCMP_ACT_ALLOW, n);
    }
    template <std::size_t N> void allow(const char* const (&names)[N]) {
        for (const char* n : names) add(SCMP_ACT_ALLOW, n);
    }
    void set(enum scmp_filter_attr attr, std::uint32_t value, const char* what) {
        if (ctx_ && rc_ == 0 && (rc_ = seccomp_attr_set(ctx_, attr, value)) != 0) failed_ = what;
    }

private:
    scmp_filter_ctx ctx_;
    int rc_ = 0;
    std::string failed_;
};

// The rules with conditions on the arguments.
void add_conditional(filter& f, const sandbox_spec& spec) {
    // clone only for threads (glibc's pthread_create); clone3 hides its flags
    // in memory seccomp cannot read, so it fails with ENOSYS and glibc falls
    // back to clone. No fork, no new namespaces.
    constexpr std::uint64_t thread =
        CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD;
    if (ADIST_SANITIZER_BUILD) {
        f.add(SCMP_ACT_ALLOW, "clone");
    } else {
        f.add(SCMP_ACT_ALLOW, "clone", SCMP_A0(SCMP_CMP_MASKED_EQ, thread, thread));
    }
    f.add(SCMP_ACT_ERRNO(ENOSYS), "clone3");
    // Sockets of four families only (no raw, packet, vsock...), netlink only
    // for routing (getaddrinfo's AI_ADDRCONFIG).
    for (int family : {AF_UNIX, AF_INET, AF_INET6}) {
        f.add(SCMP_ACT_ALLOW, "socket", SCMP_A0(SCMP_CMP_EQ, static_cast<std::uint64_t>(family)));
    }
    f.add(SCMP_ACT_ALLOW, "socket", SCMP_A0(SCMP_CMP_EQ, AF_NETLINK),
          SCMP_A2(SCMP_CMP_EQ, NETLINK_ROUTE));
    // Append-only by construction, whatever the file's attributes say at
    // this moment (the supervisor lifts FS_APPEND_FL for the microseconds of
    // a rename, and the kernel checks it only at open, F_SETFL and mmap):
    // an open for reading, or for writing with O_APPEND, never O_TRUNC
    // (truncate, ftruncate, creat, openat2 and open_by_handle_at are not on
    // the list); F_SETFL must keep O_APPEND; no shared mapping of any file
    // (a read-only one could be made writable with mprotect).
    constexpr std::uint64_t mode_trunc = O_ACCMODE | O_TRUNC;
    constexpr std::uint64_t append_trunc = O_APPEND | O_TRUNC;
    f.add(SCMP_ACT_ALLOW, "openat", SCMP_A2(SCMP_CMP_MASKED_EQ, mode_trunc, O_RDONLY));
    f.add(SCMP_ACT_ALLOW, "openat", SCMP_A2(SCMP_CMP_MASKED_EQ, append_trunc, O_APPEND));
    f.add(SCMP_ACT_ALLOW, "open", SCMP_A1(SCMP_CMP_MASKED_EQ, mode_trunc, O_RDONLY));
    f.add(SCMP_ACT_ALLOW, "open", SCMP_A1(SCMP_CMP_MASKED_EQ, append_trunc, O_APPEND));
    f.add(SCMP_ACT_ALLOW, "fcntl", SCMP_A1(SCMP_CMP_NE, F_SETFL));
    f.add(SCMP_ACT_ALLOW, "fcntl", SCMP_A1(SCMP_CMP_EQ, F_SETFL),
          SCMP_A2(SCMP_CMP_MASKED_EQ, O_APPEND, O_APPEND));
    f.add(SCMP_ACT_ALLOW, "mmap", SCMP_A3(SCMP_CMP_MASKED_EQ, MAP_SHARED, 0));
    // ioctl: non-blocking mode and pending bytes (Asio), close-on-exec,
    // isatty() (stdio), reading inode flags. Never FS_IOC_SETFLAGS: a
    // worker running as root must not clear the append-only attribute.
    for (std::uint64_t req : std::initializer_list<std::uint64_t>{
             FIONBIO, FIONREAD, FIOCLEX, FIONCLEX, TCGETS, FS_IOC_GETFLAGS}) {
        f.add(SCMP_ACT_ALLOW, "ioctl", SCMP_A1(SCMP_CMP_EQ, req));
    }
    // Signals only to ourselves (abort(), raise()).
    auto self = static_cast<std::uint64_t>(::getpid());
    f.add(SCMP_ACT_ALLOW, "tgkill", SCMP_A0(SCMP_CMP_EQ, self));
    f.add(SCMP_ACT_ALLOW, "kill", SCMP_A0(SCMP_CMP_EQ, self));
    // The receiver never removes a file: unlink fails with EPERM instead of
    // killing it (the status socket's clean-up at exit tries; the supervisor
    // removes it).
    if (!spec.remove_files) {
        f.add(SCMP_ACT_ERRNO(EPERM), "unlink");
        f.add(SCMP_ACT_ERRNO(EPERM), "unlinkat");
    }
}

} // namespace

void add_sanitizer_paths(sandbox_spec& spec) {
    if (ADIST_SANITIZER_BUILD) {
        spec.paths.push_back({"/proc", fs_access::read_file | fs_access::read_dir, false});
    }
}

int enter_seccomp(const sandbox_spec& spec, std::string* error) {
#ifdef ADIST_SECCOMP_LOG
    // Maintainers only (cmake -DADIST_SECCOMP_LOG=ON): log what is not on
    // the list instead of killing, to find what is missing.
    filter f(SCMP_ACT_LOG);
#else
    filter f(SCMP_ACT_KILL_PROCESS);
#endif
    // A system call of another ABI (x32, i386 int 0x80) is not on the list either.
    f.set(SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS, "the bad-architecture action");
    // Every thread gets the filter (there should be none yet).
    f.set(SCMP_FLTATR_CTL_TSYNC, 1, "thread synchronisation");
    f.allow(common_calls);
    if (spec.receiver) f.allow(receiver_calls);
    if (spec.rename_files) f.allow(rename_calls);
    if (spec.sender) f.allow(sender_calls);
    if (spec.remove_files) f.allow(remove_calls);
    if (spec.collector) f.allow(collector_calls);
    if (ADIST_SANITIZER_BUILD) f.allow(sanitizer_calls);
    add_conditional(f, spec);
    if (!f.ok()) {
        *error = "sandbox: cannot build the seccomp filter" +
                 (f.failed_at().empty() ? std::string() : " (at " + f.failed_at() + ")");
        return EX_SOFTWARE;
    }
    if (int rc = seccomp_load(f.get()); rc != 0) {
        *error = "sandbox: cannot load the seccomp filter: " + errno_text(-rc);
        return EX_OSERR;
    }
    return 0;
}

} // namespace adist::privileged
