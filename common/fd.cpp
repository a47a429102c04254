// File-descriptor helpers (see fd.hpp).
#include "common/fd.hpp"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace adist::common {

void unique_fd::reset(int fd) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = fd;
}

std::string errno_text(int err) {
    char buf[256];
    // GNU strerror_r returns the message pointer (may not use buf).
    return ::strerror_r(err, buf, sizeof buf);
}

unique_fd open_directory(const std::string& path) {
    return unique_fd(::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
}

int reopen_same(const std::string& path, int flags, file_id id, unique_fd* out) {
    unique_fd fd(::open(path.c_str(), flags | O_CLOEXEC));
    struct stat st {};
    if (!fd || ::fstat(fd.get(), &st) != 0) return errno;
    if (!(file_id::of(st) == id)) return ESTALE;
    *out = std::move(fd);
    return 0;
}

int make_directories(const std::string& path, unsigned mode) {
    if (path.empty() || path[0] != '/') return EINVAL;
    std::string partial;
    std::size_t pos = 1;
    while (pos <= path.size()) {
        std::size_t next = path.find('/', pos);
        if (next == std::string::npos) next = path.size();
        partial = path.substr(0, next);
        if (!partial.empty() && ::mkdir(partial.c_str(), mode) != 0 && errno != EEXIST) {
            return errno;
        }
        pos = next + 1;
    }
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) return errno;
    return S_ISDIR(st.st_mode) ? 0 : ENOTDIR;
}

} // namespace adist::common
