// The newest signed head of a host's ledger (see signed_head.hpp).
#include "receiver/signed_head.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/fd.hpp"
#include "proto/ledger.hpp"

namespace adist::receiver {

std::optional<proto::signed_head_bytes> newest_signed_head(const std::string& host_dir) {
    std::string path = proto::ledger_directory(host_dir) + "/" + std::string(proto::ledger_heads_name);
    common::unique_fd fd(::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC));
    struct stat st {};
    constexpr auto record = static_cast<off_t>(proto::ledger_head_size);
    if (!fd || ::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode) || st.st_size < record)
        return std::nullopt;
    // A record the supervisor is still writing is not whole yet: the one before.
    off_t at = st.st_size - st.st_size % record - record;
    proto::signed_head_bytes out{};
    if (::pread(fd.get(), out.data(), out.size(), at) != static_cast<ssize_t>(out.size()))
        return std::nullopt;
    return out;
}

} // namespace adist::receiver
