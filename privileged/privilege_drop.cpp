// The privilege drop that fails closed (see privilege_drop.hpp).
#include "privileged/privilege_drop.hpp"

#include "common/daemon_util.hpp"

#include <cerrno>
#include <cstdint>
#include <grp.h>
#include <linux/capability.h>
#include <pwd.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sysexits.h>
#include <unistd.h>

namespace adist::privileged {

using common::errno_text;
using common::lookup_user;

namespace {

// capget/capset with the 64-bit (version 3) layout; glibc has no wrapper.
struct cap_sets {
    std::uint64_t effective = 0, permitted = 0, inheritable = 0;
};

bool get_caps(cap_sets* out) {
    __user_cap_header_struct h{_LINUX_CAPABILITY_VERSION_3, 0};
    __user_cap_data_struct d[2] = {};
    if (::syscall(SYS_capget, &h, d) != 0) return false;
    auto join = [](std::uint32_t lo, std::uint32_t hi) { return std::uint64_t(hi) << 32 | lo; };
    out->effective = join(d[0].effective, d[1].effective);
    out->permitted = join(d[0].permitted, d[1].permitted);
    out->inheritable = join(d[0].inheritable, d[1].inheritable);
    return true;
}

bool set_caps(std::uint64_t caps) {
    __user_cap_header_struct h{_LINUX_CAPABILITY_VERSION_3, 0};
    __user_cap_data_struct d[2] = {};
    for (int i = 0; i < 2; ++i) {
        auto part = static_cast<std::uint32_t>(caps >> (32 * i));
        d[i].effective = part;
        d[i].permitted = part;
    }
    return ::syscall(SYS_capset, &h, d) == 0;
}

// Empties the bounding set but for `keep` (needs CAP_SETPCAP while any other
// is left in it: call as root).
bool drop_bounding_set(std::uint64_t keep) {
    for (int cap = 0; cap < 64; ++cap) {
        if ((keep >> cap) & 1) continue;
        int present = ::prctl(PR_CAPBSET_READ, cap, 0, 0, 0);
        if (present < 0) break; // past the kernel's last capability
        if (present == 1 && ::prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0) return false;
    }
    return true;
}

} // namespace

int drop_privileges(const std::string& user, std::string* error, bool keep_read_search) {
    if (::geteuid() != 0) {
        *error = "not started as root (uid " + std::to_string(::geteuid()) +
                 "): running with the current user's privileges";
        return 0;
    }
    auto ids = lookup_user(user);
    if (!ids) {
        *error = "cannot drop privileges: user " + user + " does not exist";
        return EX_NOUSER;
    }
    if (ids->uid == 0) {
        *error = "refusing to run as " + user + ": it is root";
        return EX_CONFIG;
    }
    std::uint64_t keep = keep_read_search ? std::uint64_t(1) << CAP_DAC_READ_SEARCH : 0;
    auto failed = [&](const char* what) {
        *error = "cannot drop privileges to " + user + " (" + what + "): " + errno_text(errno);
        return EX_OSERR;
    };
    if (::prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0) return failed("ambient");
    if (!drop_bounding_set(keep)) return failed("bounding set");
    // Order matters: groups and gid while we are still root, uid last; with
    // KEEPCAPS the permitted set survives the uid change, then we cut it.
    if (keep != 0 && ::prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) != 0) return failed("keepcaps");
    if (::setgroups(1, &ids->gid) != 0 || ::setresgid(ids->gid, ids->gid, ids->gid) != 0 ||
        ::setresuid(ids->uid, ids->uid, ids->uid) != 0) {
        return failed("ids");
    }
    if (keep != 0 && (::prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) != 0 || !set_caps(keep))) {
        return failed("capabilities");
    }
    // Fail closed: if root can be regained, or more than `keep` is left,
    // something is badly wrong.
    cap_sets caps;
    if (::setuid(0) == 0 || ::seteuid(0) == 0 || ::getuid() != ids->uid ||
        ::geteuid() != ids->uid || ::getgid() != ids->gid || ::getegid() != ids->gid ||
        !get_caps(&caps) || caps.permitted != keep || caps.effective != keep ||
        caps.inheritable != 0) {
        *error = "privilege drop to " + user + " did not stick";
        return EX_OSERR;
    }
    return 0;
}

} // namespace adist::privileged
