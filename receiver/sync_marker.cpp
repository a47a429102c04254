// Sync-failure marker of a host directory (see sync_marker.hpp).
#include "receiver/sync_marker.hpp"

#include "common/fd.hpp"

#include <cerrno>
#include <charconv>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace adist::receiver {

std::string encode_sync_marker(const sync_marker& m) {
    return m.trail + " " + (m.synced ? std::to_string(*m.synced) : std::string("unknown")) + "\n";
}

std::optional<sync_marker> parse_sync_marker(std::string_view text) {
    auto eol = text.find('\n');
    if (eol == std::string_view::npos) return std::nullopt;
    auto line = text.substr(0, eol);
    auto space = line.find(' ');
    if (space == std::string_view::npos || space == 0) return std::nullopt;
    sync_marker m{std::string(line.substr(0, space)), std::nullopt};
    auto size = line.substr(space + 1);
    if (size == "unknown") return m;
    std::uint64_t n = 0;
    auto [end, ec] = std::from_chars(size.data(), size.data() + size.size(), n);
    if (ec != std::errc{} || end != size.data() + size.size() || size.empty()) return std::nullopt;
    m.synced = n;
    return m;
}

std::string describe(const sync_marker& m) {
    return m.trail + ": " +
           (m.synced ? std::to_string(*m.synced) + " bytes known synced"
                     : std::string("synced size unknown"));
}

int create_sync_marker(int dir_fd, const sync_marker& m) {
    std::string name(sync_marker_name);
    // Create or append only: the worker may never rename or remove a file.
    common::unique_fd fd(::openat(dir_fd, name.c_str(),
                                  O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_NOFOLLOW | O_CLOEXEC,
                                  0600));
    if (!fd) return errno;
    std::string line = encode_sync_marker(m);
    ssize_t n = -1;
    for (int attempt = 0; attempt < 3; ++attempt) {
        n = ::write(fd.get(), line.data(), line.size());
        if (n >= 0 || errno != EINTR) break;
    }
    if (n < 0) return errno;
    if (static_cast<std::size_t>(n) != line.size()) return EIO;
    if (::fsync(fd.get()) != 0) return errno;
    if (::fsync(dir_fd) != 0) return errno;
    return 0;
}

marker_read read_sync_marker(int dir_fd) {
    marker_read out;
    std::string name(sync_marker_name);
    struct stat st {};
    if (::fstatat(dir_fd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
        if (errno == ENOENT) return out;
        out.present = true; // cannot tell: fail closed
        out.error = errno;
        return out;
    }
    out.present = true;
    common::unique_fd fd(
        ::openat(dir_fd, name.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC));
    if (!fd || !S_ISREG(st.st_mode)) return out;
    char buf[4096];
    ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n > 0) out.content = parse_sync_marker(std::string_view(buf, static_cast<std::size_t>(n)));
    return out;
}

} // namespace adist::receiver
