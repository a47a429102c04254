// The trusted block of a command record: what the kernel says about the
// peer of an accepted socket (SO_PEERCRED, SO_PEERPIDFD) and about that
// process in /proc, read while the client waits for its ack. Run by the
// collector's server; docs/collector.md says what /proc can vouch for.
#pragma once

#include "collector/ancestry_cache.hpp"
#include "collector/record.hpp"

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <sys/socket.h>
#include <unordered_map>

namespace adist::collector {

// "pts/3", "tty1", "ttyS0" for a stat tty_nr; "" for none (0); otherwise
// "dev:<major>:<minor>". Pure.
std::string tty_name(unsigned long tty_nr);

// Whether the peer's /proc/<pid> is read by its number when SO_PEERPIDFD
// failed with `pidfd_error` (the record is then never `verified`): on a
// kernel without that option (before 6.5), or when no descriptor could be
// had (EMFILE, ENFILE, ENOMEM); not when the failure says the peer is gone
// (EINVAL, ESRCH) or has no pid (ENODATA): its pid may name another
// process already. Pure.
bool proc_without_pidfd(int pidfd_error);

// Leaves only the fields SO_PEERCRED gives (pid, uid, gid and their names),
// unverified: for a peer found to have exited.
void forget_proc_fields(trusted_info& t);

// The fields of /proc/<pid>/stat after the command name: state is [0], so
// ppid is [1], session [3], tty_nr [4], starttime [19]. Pure; empty when
// the text has no ")".
struct stat_fields {
    std::string comm;
    std::int64_t ppid = 0, session = 0;
    unsigned long tty_nr = 0;
    unsigned long long starttime = 0;
    bool ok = false;
};
stat_fields parse_proc_stat(std::string_view text);

// One process's stat fields and effective uid through /proc/<pid>
// (stat.ok false when unreadable).
struct proc_process {
    stat_fields stat;
    std::uint32_t euid = std::uint32_t(-1);
};
proc_process read_proc_process(std::int64_t pid);

// The uid SO_PEERCRED gives for a connected unix socket, or nullopt.
std::optional<std::uint32_t> peer_uid(int fd);
// SO_PEERCRED whole (pid, uid, gid), or nullopt.
std::optional<ucred> peer_cred(int fd);

// The user database's name of `uid` ("" when it has none).
std::string user_name(std::uint32_t uid);

// User and group names looked up at most once a minute per id (the user
// database is a file parsed on each lookup). Bounded: cleared when full.
// A name that cannot be looked up any more keeps the one known before:
// once sandboxed, the worker reads only the /etc/passwd and /etc/group it
// found at the start (Landlock's rule follows the file, and every change
// of the database replaces it), so preload() reads both whole, as root,
// before the sandbox.
class name_cache {
  public:
    // Every user and group of the databases (at most max_entries each).
    void preload();
    std::string user(std::uint32_t uid, std::chrono::steady_clock::time_point now);
    std::string group(std::uint32_t gid, std::chrono::steady_clock::time_point now);
    static constexpr std::size_t max_entries = 200000;

    struct entry {
        std::string name;
        std::chrono::steady_clock::time_point at;
    };
    std::unordered_map<std::uint32_t, entry> users_, groups_;
};

// Everything the kernel tells about the peer of `fd` (a connected unix
// stream socket). Reads /proc/<pid> through a directory descriptor opened
// first, then checks with the peer's pidfd that the process is still alive:
// only then is `verified` set (the pid cannot have been reused while it
// lived). Names come from the user and group databases, the parents from
// `parents` (read again when older than its ttl).
// `known`: SO_PEERCRED of `fd` when the caller asked already (one system
// call less).
// The parents a record names, at most.
inline constexpr std::size_t max_parents = 8;

trusted_info read_peer(int fd, name_cache& names, ancestry_cache& parents,
                       std::size_t max_parents = 8, const ucred* known = nullptr);

} // namespace adist::collector
