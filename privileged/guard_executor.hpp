// Kernel-enforced tamper resistance for received trails: the append-only
// attribute (FS_APPEND_FL, `chattr +a`) on a trail the worker created, the
// immutable attribute (FS_IMMUTABLE_FL, `chattr +i`) once it is closed under
// its final name. Setting them needs CAP_LINUX_IMMUTABLE, which the
// unprivileged worker has not: it asks the root supervisor over a
// SOCK_SEQPACKET socketpair, one small request per message, and the
// supervisor checks each request against the configured host directories
// and the file itself before it acts. It only ever adds these two flags;
// the one exception is a rename by the trail rules (X.not_terminated to its
// final name), which the kernel refuses for an append-only file: the
// supervisor lifts the flag, renames without replacing, and sets it again.
// docs/security.md has the whole story; operators clear the flags as root
// (docs/operations.md, "Rotating and archiving"). This is the supervisor's
// side: the decider and the executor; the channel is common/guard_channel.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <sys/types.h>
#include <vector>

#include "common/guard_channel.hpp"

namespace adist::privileged {

using common::guard_op;
using common::guard_request;

// What the supervisor allows: the configured host directories (grown by
// reloads, never shrunk while the worker runs) and the worker's uid, which
// must own both the directory and the file.
struct guard_policy {
    std::vector<std::string> dirs;
    uid_t worker_uid = 0;
    // The worker process (the supervisor's child): stopped (SIGSTOP) for
    // the moment a rename lifts the append-only flag, so that nothing of it
    // runs while the flag is off. 0: not stopped (tests, fuzzing).
    pid_t worker_pid = 0;
};

// The decider, pure: is this request allowed, given the policy and what
// fstat and FS_IOC_GETFLAGS saw? Returns why not, or nullopt.
struct guard_file_state {
    bool dir_is_directory = false;
    uid_t dir_owner = 0;
    bool is_regular = false;
    uid_t owner = 0;
    std::uint64_t links = 0;
    bool flags_supported = true; // FS_IOC_GETFLAGS worked
    bool append_only = false;
    bool immutable = false;
};
std::optional<std::string> check_guard_request(const guard_policy& policy, const guard_request& r);
std::optional<std::string> check_guard_file(const guard_policy& policy, const guard_request& r,
                                            const guard_file_state& st);

// Carries out an allowed request (as root): opens the directory and the file
// without following symbolic links, checks them, changes the flags. Returns
// 0 or an errno value; *refusal is set when the request was refused by the
// checks (EPERM then), which the supervisor logs as a violation.
// ENOTTY/EOPNOTSUPP: the filesystem has no such attributes (a rename is then
// still done).
int execute_guard_request(const guard_policy& policy, const guard_request& r, std::string* refusal);

} // namespace adist::privileged
