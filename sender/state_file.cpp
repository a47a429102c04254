// The sender's own state files (see state_file.hpp).
#include "sender/state_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

namespace adist::sender {

common::unique_fd open_state_file(const std::string& path, int extra_flags, std::string* problem) {
    auto slash = path.rfind('/');
    std::string dir = slash == 0 ? "/" : path.substr(0, slash);
    if (int err = common::make_directories(dir, 0700); err != 0) {
        *problem = "cannot make " + dir + ": " + common::errno_text(err);
        return {};
    }
    common::unique_fd fd(
        ::open(path.c_str(), O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC | extra_flags, 0600));
    struct stat st {};
    if (!fd || ::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode)) {
        *problem = "cannot open " + path + ": " +
                   (fd ? std::string("not a regular file") : common::errno_text(errno));
        return {};
    }
    // Ours alone: not a file someone else put there, nor another name of one.
    if (st.st_uid != ::geteuid() || st.st_nlink != 1) {
        *problem = "not using " + path + ": it " +
                   (st.st_uid != ::geteuid() ? "belongs to uid " + std::to_string(st.st_uid)
                                             : "has " + std::to_string(st.st_nlink) + " links") +
                   "; move it aside";
        return {};
    }
    // The file's name is durable before anything is kept in it.
    if (auto d = common::open_directory(dir)) ::fsync(d.get());
    return fd;
}

} // namespace adist::sender
