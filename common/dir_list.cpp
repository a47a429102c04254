// Directory listing with errors as values (see dir_list.hpp); shared by the
// sender's dist directory and the receiver's host directories.
#include "common/dir_list.hpp"

#include <cerrno>
#include <dirent.h>
#include <fcntl.h>
#include <string_view>
#include <unistd.h>

namespace adist::common {

dir_listing list_directory(int dir_fd) {
    dir_listing out;
    int fd = ::openat(dir_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
        out.error = errno;
        return out;
    }
    DIR* d = ::fdopendir(fd);
    if (d == nullptr) {
        out.error = errno;
        ::close(fd);
        return out;
    }
    for (;;) {
        errno = 0;
        dirent* e = ::readdir(d);
        if (e == nullptr) {
            out.error = errno; // 0 at the end, else readdir failed part way
            break;
        }
        std::string_view name = e->d_name;
        if (name == "." || name == "..") continue;
        out.names.emplace_back(name);
    }
    ::closedir(d);
    return out;
}

} // namespace adist::common
