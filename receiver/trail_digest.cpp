// Protocol version 1 on the receiver (part of class trail_store,
// trail_store.hpp): the size and SHA-256 of a trail as it is stored, read back
// from the file, so that what is compared with the sender's digest is what
// is on disk, including anything someone else wrote into it.
#include "receiver/trail_store.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <vector>

#include "proto/digest.hpp"

namespace adist::receiver {

std::optional<proto::file_digest> trail_store::stored_digest(std::string_view name,
                                                             std::optional<std::uint64_t> size) {
    std::string n(name);
    common::unique_fd fd(::openat(dir_.get(), n.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
    struct stat st {};
    if (!fd || ::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode)) {
        fail(proto::reply_error::read, "cannot read back " + path_ + "/" + n, fd ? EINVAL : errno);
        return std::nullopt;
    }
    std::uint64_t want = size.value_or(static_cast<std::uint64_t>(st.st_size));
    proto::sha256_stream digest;
    std::vector<std::byte> buf(1 << 20);
    std::uint64_t off = 0;
    while (off < want) {
        auto chunk = static_cast<std::size_t>(std::min<std::uint64_t>(buf.size(), want - off));
        ssize_t got = ::pread(fd.get(), buf.data(), chunk, static_cast<off_t>(off));
        if (got < 0 && errno == EINTR) continue;
        if (got <= 0) {
            fail(proto::reply_error::read, "cannot read back " + path_ + "/" + n, got < 0 ? errno : EIO);
            return std::nullopt;
        }
        digest.update(std::span(buf.data(), static_cast<std::size_t>(got)));
        off += static_cast<std::uint64_t>(got);
    }
    auto d = digest.current();
    // The whole file: its size now (someone may have appended meanwhile).
    if (!size && ::fstat(fd.get(), &st) == 0) d.size = static_cast<std::uint64_t>(st.st_size);
    return d;
}

} // namespace adist::receiver
