// Dist directory listing and watching (see dist_dir.hpp).
#include "sender/dist_dir.hpp"
#include "sender/link_status.hpp"

#include <fcntl.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "common/dir_list.hpp"
#include "common/log.hpp"
#include "proto/trail_name.hpp"

namespace adist::sender {

bool dist_notes::first(const std::string& key) {
    if (seen_.size() >= max_entries) return false;
    bool inserted = seen_.insert(key).second;
    if (inserted && seen_.size() == max_entries) {
        log::warning("more than ", max_entries,
                     " odd entries in the dist directory: not reporting any more of them");
    }
    return inserted;
}

dist_notes::open_failure* dist_notes::failure(const std::string& name) {
    auto it = failures_.find(name);
    if (it != failures_.end()) return &it->second;
    if (failures_.size() >= max_entries) return nullptr;
    return &failures_[name];
}

const dist_notes::open_failure* dist_notes::find_failure(const std::string& name) const {
    auto it = failures_.find(name);
    return it == failures_.end() ? nullptr : &it->second;
}

namespace {
const char* file_type(mode_t mode) {
    if (S_ISLNK(mode)) return "a symbolic link";
    if (S_ISDIR(mode)) return "a directory";
    if (S_ISFIFO(mode)) return "a FIFO";
    if (S_ISSOCK(mode)) return "a socket";
    if (S_ISCHR(mode) || S_ISBLK(mode)) return "a device";
    return "a special file";
}

// The directory's trail names, sorted (the order they started in); other
// names are reported once. Nullopt when it cannot be listed whole.
std::optional<std::vector<std::string>> trail_names(int dir_fd, const std::string& dir_path,
                                                    dist_notes* notes) {
    auto listing = common::list_directory(dir_fd);
    if (!listing.ok()) {
        // Part of a listing is no listing: the caller must not act on it.
        log::error("cannot list ", dir_path, ": ", common::errno_text(listing.error));
        return std::nullopt;
    }
    std::vector<std::string> names;
    names.reserve(listing.names.size());
    for (auto& name : listing.names) {
        if (!proto::is_valid_trail_name(name)) {
            if (notes != nullptr && notes->first("name:" + name)) {
                log::warning("ignoring ", dir_path, "/", log::printable(name),
                             ": not a trail file name (YYYYMMDDhhmmss.YYYYMMDDhhmmss, "
                             ".not_terminated or .crash_recovery, with real times)");
            }
            continue;
        }
        names.push_back(std::move(name));
    }
    std::sort(names.begin(), names.end());
    return names;
}

// One pass: the trail names that are regular files. *raced is set when a
// listed name was gone by the time it was examined (removed, or renamed:
// the new name may then be missing too). With `after`, the examination ends
// at the first regular file that starts later than *after (any, when it is
// empty): that one is the last listed.
std::vector<std::string> list_trails_once(int dir_fd, const std::string& dir_path, bool* ok,
                                          dist_notes* notes, bool* raced,
                                          const std::string* after) {
    std::vector<std::string> out;
    if (ok != nullptr) *ok = true;
    auto names = trail_names(dir_fd, dir_path, notes);
    if (!names) {
        if (ok != nullptr) *ok = false;
        return out;
    }
    for (auto& name : *names) {
        struct stat st {};
        if (::fstatat(dir_fd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
            if (errno == ENOENT) { // removed or renamed since the listing
                *raced = true;
                continue;
            }
            // Leaving it out would let the next trail pass it, and it would
            // then be "older" and never sent: no listing at all instead.
            int err = errno;
            if (notes == nullptr || notes->first("stat:" + name)) {
                log::error("cannot examine ", dir_path, "/", log::printable(name), ": ",
                           common::errno_text(err), "; nothing after it is sent until it can be");
            }
            if (ok != nullptr) *ok = false;
            return {};
        }
        if (!S_ISREG(st.st_mode)) {
            if (notes != nullptr && notes->first("type:" + name)) {
                log::warning("ignoring ", dir_path, "/", name, ": ", file_type(st.st_mode),
                             ", not a regular file; trails after it are shipped as usual");
            }
            continue;
        }
        bool next = after != nullptr &&
                    (after->empty() || proto::trail_start(name) > proto::trail_start(*after));
        out.push_back(std::move(name));
        if (next) break;
    }
    return out;
}

// A rename while the directory is read can hide both names (the old one is
// listed, then gone when examined): such a listing is taken again, up to
// three times in all; the last one stands.
std::vector<std::string> list_trails_until(int dir_fd, const std::string& dir_path, bool* ok,
                                           dist_notes* notes, const std::string* after) {
    std::vector<std::string> out;
    for (int pass = 0; pass < 3; ++pass) {
        bool raced = false;
        out = list_trails_once(dir_fd, dir_path, ok, notes, &raced, after);
        if (!raced) break;
    }
    return out;
}
} // namespace

std::vector<std::string> list_trails(int dir_fd, const std::string& dir_path, bool* ok,
                                     dist_notes* notes) {
    return list_trails_until(dir_fd, dir_path, ok, notes, nullptr);
}

std::vector<std::string> list_trails_through_next(int dir_fd, const std::string& dir_path,
                                                  const std::string& last, bool* ok,
                                                  dist_notes* notes) {
    return list_trails_until(dir_fd, dir_path, ok, notes, &last);
}

std::optional<std::string> current_name(int dir_fd, const std::string& dir_path,
                                        const std::string& name, ino_t ino, bool* ok) {
    struct stat st {};
    if (::fstatat(dir_fd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 && st.st_ino == ino) {
        *ok = true;
        return name;
    }
    for (const auto& other : list_trails(dir_fd, dir_path, ok)) {
        if (other == name || !proto::same_trail(other, name)) continue;
        if (::fstatat(dir_fd, other.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 && st.st_ino == ino) {
            return other;
        }
    }
    return std::nullopt;
}

dist_watch::dist_watch(const asio::any_io_executor& ex, common::event& wake)
    : inotify_(ex), wake_(wake) {}

dist_watch::~dist_watch() { stop(); }

bool dist_watch::start(const std::string& dir, std::string* error) {
    int fd = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    if (fd < 0) {
        *error = "inotify_init1: " + common::errno_text(errno);
        return false;
    }
    inotify_.assign(fd);
    dir_wd_ = ::inotify_add_watch(fd, dir.c_str(),
                                  IN_CREATE | IN_MOVED_TO | IN_MOVED_FROM | IN_MODIFY |
                                      IN_CLOSE_WRITE | IN_DELETE | IN_ATTRIB | IN_ONLYDIR);
    if (dir_wd_ < 0) {
        *error = "cannot watch " + dir + ": " + common::errno_text(errno);
        boost::system::error_code ignored;
        inotify_.close(ignored); // so that the next start() can try again
        return false;
    }
    stopped_ = false;
    asio::co_spawn(inotify_.get_executor(), run(++generation_), asio::detached);
    return true;
}

void dist_watch::watch_file(const std::string& path) {
    unwatch_file();
    if (!inotify_.is_open()) return;
    file_wd_ = ::inotify_add_watch(inotify_.native_handle(), path.c_str(),
                                   IN_MODIFY | IN_MOVE_SELF | IN_ATTRIB | IN_DELETE_SELF |
                                       IN_DONT_FOLLOW);
}

void dist_watch::unwatch_file() {
    if (file_wd_ >= 0 && file_wd_ != dir_wd_ && inotify_.is_open()) {
        ::inotify_rm_watch(inotify_.native_handle(), file_wd_);
    }
    file_wd_ = -1;
}

void dist_watch::stop() {
    stopped_ = true;
    boost::system::error_code ignored;
    inotify_.close(ignored);
}

asio::awaitable<void> dist_watch::run(unsigned generation) {
    // Event contents do not matter: any event means "look again". Reading
    // them all in one go coalesces a burst of writes into one wake-up.
    alignas(inotify_event) char buf[16384];
    while (!stopped_ && generation == generation_) {
        auto [ec, n] = co_await inotify_.async_read_some(asio::buffer(buf),
                                                          asio::as_tuple(asio::use_awaitable));
        if (ec) {
            if (!stopped_ && generation == generation_) {
                log::error("inotify read failed: ", ec.message());
            }
            break;
        }
        wake_.notify();
    }
}

} // namespace adist::sender

namespace adist::sender {

std::uint64_t unacked_bytes(int dir_fd, const std::string& dir_path, const link_status& s,
                            const std::function<bool(const std::string&)>& kept_for_others) {
    std::uint64_t total = 0;
    for (const auto& name : list_trails(dir_fd, dir_path)) {
        if (s.acked_file.empty() && !s.last_closed.empty() &&
            proto::trail_start(name) == proto::trail_start(s.last_closed)) {
            continue; // acknowledged whole; its link is on its way out
        }
        if (kept_for_others && kept_for_others(name)) continue;
        struct stat st {};
        if (::fstatat(dir_fd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) continue;
        auto size = static_cast<std::uint64_t>(st.st_size);
        if (!s.acked_file.empty() && proto::trail_start(name) == proto::trail_start(s.acked_file)) {
            size -= std::min(size, s.acked_offset);
        }
        total += size;
    }
    return total;
}

} // namespace adist::sender
