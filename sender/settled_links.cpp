// Removing settled fan-out links (see settled_links.hpp).
#include "sender/settled_links.hpp"

#include "common/fd.hpp"
#include "common/log.hpp"

#include <cerrno>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace adist::sender {

void remove_settled(fanout_group& g, int dir_fd, std::string_view why) {
    for (const auto& link : g.settled()) {
        struct stat st {};
        if (::fstatat(dir_fd, link.name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
            if (errno == ENOENT) g.removed(link.name, 0);
            continue;
        }
        if (st.st_dev != link.dev || st.st_ino != link.ino)
            continue; // another file now: left alone
        if (::unlinkat(dir_fd, link.name.c_str(), 0) != 0) {
            log::error("cannot remove ", g.directory(), "/", link.name, ": ",
                       common::errno_text(errno));
            continue;
        }
        g.removed(link.name, static_cast<std::uint64_t>(st.st_size));
        log::info("shipped ", g.directory(), "/", link.name, ": ", why);
    }
}

} // namespace adist::sender
