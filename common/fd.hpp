// File-descriptor ownership and the few filesystem helpers both roles share
// (errno text, directory opening). Used by the trail store, the dist-directory
// watcher, the pidfile and the daemon plumbing.
#pragma once

#include <string>
#include <sys/stat.h>
#include <utility>

namespace adist::common {

class unique_fd {
public:
    unique_fd() = default;
    explicit unique_fd(int fd) : fd_(fd) {}
    unique_fd(unique_fd&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
    unique_fd& operator=(unique_fd&& o) noexcept {
        if (this != &o) reset(std::exchange(o.fd_, -1));
        return *this;
    }
    unique_fd(const unique_fd&) = delete;
    unique_fd& operator=(const unique_fd&) = delete;
    ~unique_fd() { reset(); }

    int get() const { return fd_; }
    explicit operator bool() const { return fd_ >= 0; }
    void reset(int fd = -1);
    // Gives the descriptor up without closing it.
    int release() { return std::exchange(fd_, -1); }

private:
    int fd_ = -1;
};

// strerror(errno) as a std::string, thread-safe.
std::string errno_text(int err);

// Opens an existing directory (O_DIRECTORY|O_NOFOLLOW|O_CLOEXEC) or returns
// an invalid fd with errno set.
unique_fd open_directory(const std::string& path);

// Which file a descriptor was open on (device and inode), to find it again.
struct file_id {
    dev_t dev = 0;
    ino_t ino = 0;
    static file_id of(const struct ::stat& st) { return {st.st_dev, st.st_ino}; }
    bool operator==(const file_id&) const = default;
};

// Opens `path` again (`flags`, O_CLOEXEC added) into *out, only if it is
// still the file `id` names. Returns 0, ESTALE when another file is at the
// path now (moved or replaced), or the errno of the open.
int reopen_same(const std::string& path, int flags, file_id id, unique_fd* out);

// Creates `path` and missing parents with `mode` (existing ones are left as
// they are). Returns 0 or an errno value.
int make_directories(const std::string& path, unsigned mode);

} // namespace adist::common
