// The worker's sandbox: umask 077, no new privileges, not dumpable, a
// Landlock ruleset (its directories, and where TCP may connect) and a seccomp
// allowlist of system calls. Entered once by the worker (daemon/run.cpp) after
// the privilege drop and before any thread exists; it cannot be left.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace adist::privileged {

// Filesystem access a path_rule grants (mapped to Landlock access rights).
// Everything not granted is denied beneath the rules, in particular
// truncation (Landlock ABI >= 3), executing, making links, symlinks, devices,
// fifos and sockets, removing directories and moving files between
// directories (LANDLOCK_ACCESS_FS_REFER).
namespace fs_access {
inline constexpr unsigned read_file = 1u << 0;   // open for reading
inline constexpr unsigned write_file = 1u << 1;  // open for writing (appending)
inline constexpr unsigned read_dir = 1u << 2;    // list a directory
inline constexpr unsigned remove_file = 1u << 3; // unlink, or rename away from a directory
inline constexpr unsigned make_reg = 1u << 4;    // create a regular file (or rename into)
inline constexpr unsigned make_dir = 1u << 5;    // create a directory
inline constexpr unsigned refer = 1u << 6;       // link or rename into another directory (ABI >= 2)
} // namespace fs_access

struct path_rule {
    std::string path;     // a directory (the rule covers all beneath it) or a file
    unsigned access = 0;  // fs_access bits; on a file only read_file/write_file apply
    bool optional = false; // skipped when missing or out of our reach (EACCES), not fatal
};

struct sandbox_spec {
    std::vector<path_rule> paths;
    // Landlock ABI >= 4: TCP connect is allowed to these ports only (empty:
    // no TCP connect at all). TCP bind stays allowed (a reload may listen).
    std::vector<std::uint16_t> connect_ports;
    bool sender = false;   // seccomp: the sender's system calls (inotify, unlink)
    bool receiver = false; // seccomp: the receiver's (mkdir, fdatasync)
    // seccomp: rename allowed (a receiver without a supervisor renames its
    // own trails; with one, the supervisor does and the worker cannot).
    bool rename_files = false;
    // seccomp: unlink allowed (the sender's shipped links; the pidfile and
    // status socket at exit when there is no supervisor). Otherwise unlink
    // fails with EPERM.
    bool remove_files = false;
    // seccomp: the collector's calls (linkat into dist, renameat of its own
    // files, fdatasync).
    bool collector = false;
};

// Enters the sandbox for good: umask 077, PR_SET_NO_NEW_PRIVS,
// PR_SET_DUMPABLE 0, Landlock (the best ABI the kernel has, rights it does
// not know are dropped), then the seccomp allowlist (anything else kills the
// process with SIGSYS, in all threads). Must be called before any thread is
// created. Returns 0, or a sysexits code with *error set: the caller must
// exit. A kernel without Landlock is not an error: *notice says that the
// filesystem and network confinement is off (log it as a warning); seccomp
// still applies. Sanitizer builds relax a few things, see docs/security.md.
int enter_sandbox(const sandbox_spec& spec, std::string* error, std::string* notice);

// The Landlock ABI version of the running kernel (0: none or disabled).
int landlock_abi();

} // namespace adist::privileged
