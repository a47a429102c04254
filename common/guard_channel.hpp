// The worker's channel to the root supervisor for the kernel's protection of
// received trails (privileged/guard_executor.hpp says what the supervisor
// does with it): the three requests, their SOCK_SEQPACKET wire form and the
// worker's client. Shared by the receiver worker (client) and the supervisor
// (decoder). Also what both sides need to know about the attributes: which
// errors mean "not supported here", and the startup probe.
#pragma once

#include <cstdint>
#include <mutex>
#include <optional>
#include <span>
#include <string>
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

// FS_IOC_GETFLAGS / FS_IOC_SETFLAGS: 0 or an errno value. Setting needs
// CAP_LINUX_IMMUTABLE (the supervisor; the worker's seccomp filter refuses it).
int get_attribute_flags(int fd, int* flags);
int set_attribute_flags(int fd, int flags);

// True for the errno values meaning "this filesystem has no such flags".
bool flags_unsupported(int err);

// Sets the append-only attribute on the open file `fd` (already set: 0).
// 0 or an errno value; needs CAP_LINUX_IMMUTABLE (root).
int make_append_only(int fd);

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
