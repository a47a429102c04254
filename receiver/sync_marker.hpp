// The durable "an fdatasync failed here" marker of a host directory: one
// file whose name can never be a trail name, created (never removed) by the
// receiver and removed by an operator once the disk and the trail are
// checked. While it exists the host is refused (see docs/durability.md).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace adist::receiver {

// Starts with a dot: never a valid trail name, so every trail scan skips it.
inline constexpr std::string_view sync_marker_name = ".auditdistd-sync-failed";

struct sync_marker {
    std::string trail;                   // the file whose fdatasync failed
    std::optional<std::uint64_t> synced; // its size known to be on stable storage, if known
};

// "<trail> <synced bytes or 'unknown'>\n": short, so the marker fits in one
// write and, on file systems with inline data, in the inode itself. Pure.
std::string encode_sync_marker(const sync_marker& m);
// The first line of a marker; nullopt when it is not in that form. Pure.
std::optional<sync_marker> parse_sync_marker(std::string_view text);
// "20261204150000.not_terminated: 1048576 bytes known synced" (for logs and status).
std::string describe(const sync_marker& m);

// Creates the marker in `dir_fd` (O_CREAT|O_EXCL|O_APPEND, one write, then
// fsync of the file and the directory). Returns 0, EEXIST when a marker is
// already there (the first one stays), or the errno of the failing step.
int create_sync_marker(int dir_fd, const sync_marker& m);

struct marker_read {
    bool present = false;               // a file of that name exists (or cannot be checked)
    std::optional<sync_marker> content; // when it could be read and parsed
    int error = 0;                      // errno when its presence cannot be checked
};
// Looks for the marker in `dir_fd` (no symlink followed, at most 4 KiB read).
marker_read read_sync_marker(int dir_fd);

} // namespace adist::receiver
