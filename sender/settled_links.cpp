// Removing settled fan-out links (see settled_links.hpp).
#include "sender/settled_links.hpp"

#include "common/dir_list.hpp"
#include "common/fd.hpp"
#include "common/log.hpp"

#include <cerrno>
#include <fcntl.h>
#include <string>
#include <sys/stat.h>
#include <unistd.h>

namespace adist::sender {
namespace {

enum class found { here, other_file, gone, unknown };

// Where `link`'s file is now: under its name, or under another name of the
// same trail (X.not_terminated renamed since); `name` and `st` say which.
found find_link(int dir_fd, const held_link& link, std::string& name, struct stat& st) {
    name = link.name;
    if (::fstatat(dir_fd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0)
        return st.st_dev == link.dev && st.st_ino == link.ino ? found::here : found::other_file;
    if (errno != ENOENT) return found::unknown;
    auto listing = common::list_directory(dir_fd);
    if (!listing.ok()) return found::unknown;
    for (const auto& n : listing.names) {
        if (n == link.name || trail_key(n) != trail_key(link.name)) continue;
        if (::fstatat(dir_fd, n.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 && st.st_dev == link.dev &&
            st.st_ino == link.ino) {
            name = n;
            return found::here;
        }
    }
    return found::gone;
}

} // namespace

void remove_settled(fanout_group& g, int dir_fd, std::string_view why) {
    for (const auto& link : g.settled()) {
        std::string name;
        struct stat st {};
        auto where = find_link(dir_fd, link, name, st);
        if (where == found::gone) g.removed(link.name, 0);
        if (where != found::here) continue; // another file now, or unknown: left alone
        // Grown since it was acknowledged: the receivers lack the rest.
        if (link.size != 0 && static_cast<std::uint64_t>(st.st_size) != link.size) continue;
        if (::unlinkat(dir_fd, name.c_str(), 0) != 0) {
            log::error("cannot remove ", g.directory(), "/", name, ": ", common::errno_text(errno));
            continue;
        }
        g.removed(link.name, static_cast<std::uint64_t>(st.st_size));
        log::info("shipped ", g.directory(), "/", name, ": ", why);
    }
}

} // namespace adist::sender
