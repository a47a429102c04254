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
// (docs/operations.md, "Rotating and archiving").
#pragma once

#include <cstdint>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <sys/types.h>
#include <vector>

namespace adist::common {

enum class guard_op : std::uint8_t {
    protect = 1, // set append-only on a trail the worker just created or reopened
    rename = 2,  // rename an append-only X.not_terminated to its final name, keep append-only
    seal = 3,    // set immutable on a trail closed under a final name
};

struct guard_request {
    std::uint32_t id = 0; // echoed in the reply, so a late reply is never taken for another's
    guard_op op = guard_op::protect;
    std::string dir;      // a host directory, exactly as in the configuration
    std::string name;     // a valid trail name in it
    std::string to;       // rename only: the new name
};

// Wire form (host byte order is never used): id (4 bytes LE), op (1), dir
// length (2 LE), name length (1), to length (1), then the three strings.
// Decoding rejects everything else: unknown op, lengths over the limits,
// bytes left over, NUL bytes, a relative dir, invalid trail names, a `to`
// on anything but rename.
inline constexpr std::size_t max_guard_dir = 4096;
std::vector<std::byte> encode_guard_request(const guard_request& r);
std::optional<guard_request> decode_guard_request(std::span<const std::byte> message);

// Reply: id (4 bytes LE), then 0 or an errno value (4 bytes LE).
std::vector<std::byte> encode_guard_reply(std::uint32_t id, int err);
std::optional<std::pair<std::uint32_t, int>> decode_guard_reply(std::span<const std::byte> message);

// What the supervisor allows: the configured host directories (grown by
// reloads, never shrunk while the worker runs) and the worker's uid, which
// must own both the directory and the file.
struct guard_policy {
    std::vector<std::string> dirs;
    uid_t worker_uid = 0;
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

// True for the errno values meaning "this filesystem has no such flags".
bool flags_unsupported(int err);

// Whether the filesystem of the open directory `dirfd` takes the append-only
// attribute: tried on an unnamed O_TMPFILE (root only). Returns 0 (it does),
// or the errno that says why not.
int probe_append_only(int dirfd);

// The worker's end: one request at a time (the pool's threads share it),
// answered within 5 s or ETIMEDOUT. A broken channel answers EPIPE.
class guard_client {
public:
    explicit guard_client(int fd) : fd_(fd) {}
    guard_client(const guard_client&) = delete;
    guard_client& operator=(const guard_client&) = delete;
    ~guard_client();
    int call(guard_request r);

private:
    int fd_;
    std::mutex mutex_;
    std::uint32_t next_id_ = 1;
};

} // namespace adist::common
