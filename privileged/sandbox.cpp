// The worker's sandbox (see sandbox.hpp): process hardening and the Landlock
// ruleset. The seccomp allowlist is in sandbox_syscalls.cpp. Run by the worker
// once, between the privilege drop and the event loop.
#include "privileged/sandbox.hpp"

#include "common/fd.hpp"
#include "privileged/sandbox_internal.hpp"

#include <cerrno>
#include <ctime>
#include <dirent.h>
#include <memory>
#include <fcntl.h>
#include <linux/landlock.h>
#include <openssl/ssl.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sysexits.h>
#include <unistd.h>

// Debian 12's linux/landlock.h (kernel 6.1 UAPI) stops at ABI 2. The values
// below are the kernel's UAPI values (include/uapi/linux/landlock.h) for the
// later ABIs; they never change once released.
#ifndef LANDLOCK_ACCESS_FS_TRUNCATE
#define LANDLOCK_ACCESS_FS_TRUNCATE (1ULL << 14) // ABI 3
#endif
#ifndef LANDLOCK_ACCESS_FS_IOCTL_DEV
#define LANDLOCK_ACCESS_FS_IOCTL_DEV (1ULL << 15) // ABI 5
#endif
#ifndef LANDLOCK_ACCESS_NET_BIND_TCP
#define LANDLOCK_ACCESS_NET_BIND_TCP (1ULL << 0) // ABI 4
#define LANDLOCK_ACCESS_NET_CONNECT_TCP (1ULL << 1)
#endif
#ifndef LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET
#define LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET (1ULL << 0) // ABI 6
#define LANDLOCK_SCOPE_SIGNAL (1ULL << 1)
#endif

namespace adist::privileged {

using namespace adist::common;
namespace {

// enum landlock_rule_type: LANDLOCK_RULE_NET_PORT (ABI 4) is 2; the old
// header's enum lacks it.
constexpr int rule_path_beneath = 1;
constexpr int rule_net_port = 2;

// struct landlock_ruleset_attr as of ABI 6. The size passed to the kernel
// tells it which fields we fill: 8 bytes (fs only) before ABI 4, 16 (plus
// net) for ABI 4 and 5, 24 (plus scoped) from ABI 6.
struct ruleset_attr {
    std::uint64_t handled_access_fs;
    std::uint64_t handled_access_net;
    std::uint64_t scoped;
};

// struct landlock_path_beneath_attr is packed in the UAPI (12 bytes).
struct __attribute__((packed)) path_beneath_attr {
    std::uint64_t allowed_access;
    std::int32_t parent_fd;
};

struct net_port_attr {
    std::uint64_t allowed_access;
    std::uint64_t port;
};

// Rights a rule on a regular file (not a directory) may carry.
constexpr std::uint64_t file_rights = LANDLOCK_ACCESS_FS_EXECUTE | LANDLOCK_ACCESS_FS_WRITE_FILE |
                                      LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_TRUNCATE |
                                      LANDLOCK_ACCESS_FS_IOCTL_DEV;

// Every filesystem right the given ABI knows: all of them are handled, so
// whatever a rule does not grant is denied.
std::uint64_t handled_fs(int abi) {
    std::uint64_t all = (LANDLOCK_ACCESS_FS_MAKE_SYM << 1) - 1; // ABI 1: bits 0..12
    if (abi >= 2) all |= LANDLOCK_ACCESS_FS_REFER;
    if (abi >= 3) all |= LANDLOCK_ACCESS_FS_TRUNCATE;
    if (abi >= 5) all |= LANDLOCK_ACCESS_FS_IOCTL_DEV;
    return all;
}

std::uint64_t landlock_rights(unsigned access) {
    std::uint64_t r = 0;
    if (access & fs_access::read_file) r |= LANDLOCK_ACCESS_FS_READ_FILE;
    if (access & fs_access::write_file) r |= LANDLOCK_ACCESS_FS_WRITE_FILE;
    if (access & fs_access::read_dir) r |= LANDLOCK_ACCESS_FS_READ_DIR;
    if (access & fs_access::remove_file) r |= LANDLOCK_ACCESS_FS_REMOVE_FILE;
    if (access & fs_access::make_reg) r |= LANDLOCK_ACCESS_FS_MAKE_REG;
    if (access & fs_access::make_dir) r |= LANDLOCK_ACCESS_FS_MAKE_DIR;
    if (access & fs_access::refer) r |= LANDLOCK_ACCESS_FS_REFER;
    return r;
}

int create_ruleset(const ruleset_attr* attr, std::size_t size, std::uint32_t flags) {
    return static_cast<int>(::syscall(SYS_landlock_create_ruleset, attr, size, flags));
}

// Adds one path rule. An optional path that is missing, or that we could not
// reach anyway (EACCES: e.g. the root-only key seen by the dropped worker),
// is skipped.
int add_path_rule(int ruleset, const path_rule& rule, std::uint64_t handled, std::string* error) {
    unique_fd fd(::open(rule.path.c_str(), O_PATH | O_CLOEXEC));
    struct stat st {};
    if (!fd || ::fstat(fd.get(), &st) != 0) {
        if (rule.optional && (errno == ENOENT || errno == ENOTDIR || errno == EACCES)) return 0;
        *error = "sandbox: cannot open " + rule.path + ": " + errno_text(errno);
        return EX_OSERR;
    }
    path_beneath_attr attr{landlock_rights(rule.access) & handled, fd.get()};
    if (!S_ISDIR(st.st_mode)) attr.allowed_access &= file_rights;
    if (attr.allowed_access == 0) return 0; // the kernel refuses empty rules
    if (::syscall(SYS_landlock_add_rule, ruleset, rule_path_beneath, &attr, 0) != 0) {
        *error = "sandbox: cannot add the Landlock rule for " + rule.path + ": " +
                 errno_text(errno);
        return EX_OSERR;
    }
    return 0;
}

int add_port_rule(int ruleset, std::uint16_t port, std::string* error) {
    net_port_attr attr{LANDLOCK_ACCESS_NET_CONNECT_TCP, port};
    if (::syscall(SYS_landlock_add_rule, ruleset, rule_net_port, &attr, 0) != 0) {
        *error = "sandbox: cannot add the Landlock rule for TCP port " + std::to_string(port) +
                 ": " + errno_text(errno);
        return EX_OSERR;
    }
    return 0;
}

} // namespace

// Builds and enforces the ruleset. No Landlock: returns 0 with *notice set.
int enter_landlock(const sandbox_spec& spec, std::string* error, std::string* notice) {
    int abi = landlock_abi();
    if (abi <= 0) {
        *notice = "Landlock is not available on this kernel: filesystem and network "
                  "confinement is off (seccomp still applies)";
        return 0;
    }
    ruleset_attr attr{handled_fs(abi), 0, 0};
    std::size_t size = sizeof attr.handled_access_fs;
    if (abi >= 4) {
        // Only connect is handled: bind stays free, a reload may add listeners.
        attr.handled_access_net = LANDLOCK_ACCESS_NET_CONNECT_TCP;
        size += sizeof attr.handled_access_net;
    }
    if (abi >= 6) {
        // No abstract Unix sockets outside our domain, no signals to
        // processes outside it (the supervisor still signals us).
        attr.scoped = LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET | LANDLOCK_SCOPE_SIGNAL;
        size += sizeof attr.scoped;
    }
    unique_fd ruleset(create_ruleset(&attr, size, 0));
    if (!ruleset) {
        *error = "sandbox: cannot create the Landlock ruleset (ABI " + std::to_string(abi) +
                 "): " + errno_text(errno);
        return EX_OSERR;
    }
    for (const auto& rule : spec.paths) {
        int code = add_path_rule(ruleset.get(), rule, attr.handled_access_fs, error);
        if (code != 0) return code;
    }
    for (auto port : abi >= 4 ? spec.connect_ports : std::vector<std::uint16_t>{}) {
        if (int code = add_port_rule(ruleset.get(), port, error)) return code;
    }
    if (::syscall(SYS_landlock_restrict_self, ruleset.get(), 0) != 0) {
        *error = "sandbox: cannot enforce the Landlock ruleset: " + errno_text(errno);
        return EX_OSERR;
    }
    if (abi < 3) {
        *notice = "Landlock ABI " + std::to_string(abi) +
                  ": truncation is not confined by Landlock (seccomp refuses it)";
    }
    return 0;
}

namespace {

// Landlock confines the calling thread only (and those it creates later):
// a thread that already exists would escape it. Counts /proc/self/task.
int thread_count() {
    std::unique_ptr<DIR, int (*)(DIR*)> d(::opendir("/proc/self/task"), &::closedir);
    if (!d) return -1;
    int n = 0;
    while (const dirent* e = ::readdir(d.get())) n += e->d_name[0] != '.';
    return n;
}

// What must be loaded from files before the filesystem closes: the time zone
// (syslog's timestamps) and OpenSSL's configuration.
void preload() {
    ::tzset();
    OPENSSL_init_ssl(OPENSSL_INIT_LOAD_CONFIG, nullptr);
}

} // namespace

int landlock_abi() {
    int abi = create_ruleset(nullptr, 0, LANDLOCK_CREATE_RULESET_VERSION);
    return abi < 0 ? 0 : abi; // ENOSYS (not built) or EOPNOTSUPP (disabled at boot)
}

int enter_sandbox(const sandbox_spec& spec, std::string* error, std::string* notice) {
    notice->clear();
    // Exactly one thread, so that Landlock (which confines the calling
    // thread) covers everything that will run; TSan's own thread aside
    // (started on demand: there may be one or not).
    if (int n = thread_count(); n != 1 && !(ADIST_TSAN_BUILD && n == 2)) {
        *error = n < 0 ? "sandbox: cannot count our threads in /proc/self/task: " +
                             errno_text(errno)
                       : "sandbox: " + std::to_string(n) +
                             " threads exist already; the sandbox must come before any thread";
        return EX_SOFTWARE;
    }
    preload();
    ::umask(077);
    if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
        *error = "sandbox: cannot set no_new_privs: " + errno_text(errno);
        return EX_OSERR;
    }
    // Not dumpable: no core file with passwords or keys, no ptrace by our own
    // user. LeakSanitizer sets it back to 1 for its check at exit (sanitizer
    // builds allow that prctl; see sandbox_syscalls.cpp).
    if (::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0 || ::prctl(PR_GET_DUMPABLE, 0, 0, 0, 0) != 0) {
        *error = "sandbox: cannot make the process non-dumpable: " + errno_text(errno);
        return EX_OSERR;
    }
    sandbox_spec effective = spec;
    add_sanitizer_paths(effective);
    if (int code = enter_landlock(effective, error, notice)) return code;
    return enter_seccomp(spec, error);
}

} // namespace adist::privileged
