// A host's ledger and its tracked trail's digest (see trail_ledger.hpp).
#include "receiver/trail_ledger.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <ctime>
#include <map>
#include <vector>

#include "common/dir_list.hpp"
#include "common/log.hpp"
#include "proto/trail_name.hpp"

namespace adist::receiver {
using common::errno_text;
using common::unique_fd;
using proto::ledger_entry;
using proto::ledger_entry_size;
using proto::ledger_kind;

namespace {
// Bounds the checkpoints kept between commits (a --no-sync receiver never
// commits); a commit that finds none reads its bytes back instead.
constexpr std::size_t max_checkpoints = 65536;
// How far back a restart looks for the open trail's last entry.
constexpr std::uint64_t max_entries_back = 1 << 20;

int make_owned_dir(const std::string& path, std::optional<common::user_ids> owner) {
    if (::mkdir(path.c_str(), 0700) != 0) return errno == EEXIST ? 0 : errno;
    if (owner && ::chown(path.c_str(), owner->uid, owner->gid) != 0) return errno;
    return 0;
}

int sync_parent(const std::string& path) {
    auto slash = path.find_last_of('/');
    unique_fd dir = common::open_directory(slash == 0 ? "/" : path.substr(0, slash));
    if (!dir || ::fsync(dir.get()) != 0) return errno;
    return 0;
}
} // namespace

std::unique_ptr<trail_ledger> trail_ledger::open(const std::string& host_dir, int dir_fd,
                                                 std::optional<common::user_ids> owner,
                                                 std::string* error) {
    std::string root = proto::ledger_root(host_dir), dir = proto::ledger_directory(host_dir);
    for (const auto& d : {root, dir}) {
        if (int err = make_owned_dir(d, owner); err != 0 || (err = sync_parent(d)) != 0) {
            *error = "cannot create the ledger directory " + d + ": " + errno_text(err);
            return nullptr;
        }
    }
    std::string path = dir + "/" + std::string(proto::ledger_file_name);
    unique_fd fd(::open(path.c_str(), O_RDWR | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600));
    struct stat st {};
    if (!fd || ::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode)) {
        *error = "cannot open the ledger " + path + ": " + errno_text(fd ? EINVAL : errno);
        return nullptr;
    }
    if (owner && st.st_uid != owner->uid && ::fchown(fd.get(), owner->uid, owner->gid) != 0) {
        *error = "cannot give the ledger " + path + " to the daemon user: " + errno_text(errno);
        return nullptr;
    }
    std::unique_ptr<trail_ledger> l(new trail_ledger(path, std::move(fd), common::file_id::of(st)));
    *error = l->attach_head();
    bool empty = false;
    if (error->empty()) {
        std::lock_guard lock(l->head_->mutex);
        empty = l->head_->seq == 0;
    }
    if (error->empty() && empty) *error = l->adopt_all(dir_fd);
    if (!error->empty()) return nullptr;
    return l;
}

// The head state of this file: the one another trail_ledger of it in this
// process keeps, else read from the file.
std::string trail_ledger::attach_head() {
    static std::mutex registry_mutex;
    static std::map<std::string, std::weak_ptr<head_state>> registry;
    std::lock_guard lock(registry_mutex);
    for (auto it = registry.begin(); it != registry.end();) // bounded: one per host
        it = it->second.expired() ? registry.erase(it) : std::next(it);
    if (auto live = registry[path_].lock()) {
        head_ = live;
        return {};
    }
    head_ = std::make_shared<head_state>();
    auto problem = load_head();
    if (problem.empty()) registry[path_] = head_;
    return problem;
}

// The next entry's number and the hash it chains to, from the last entry.
std::string trail_ledger::load_head() {
    struct stat st {};
    if (::fstat(fd_.get(), &st) != 0) return "cannot stat " + path_ + ": " + errno_text(errno);
    auto size = static_cast<std::uint64_t>(st.st_size);
    if (size % ledger_entry_size != 0) {
        return path_ + " ends in a partial entry (" + std::to_string(size % ledger_entry_size) +
               " bytes): damaged; run auditdistd verify on the host directory";
    }
    if (size == 0) return {};
    std::array<std::byte, ledger_entry_size> buf{};
    if (::pread(fd_.get(), buf.data(), buf.size(), static_cast<off_t>(size - buf.size())) !=
        static_cast<ssize_t>(buf.size())) {
        return "cannot read " + path_ + ": " + errno_text(errno);
    }
    std::string why;
    auto e = proto::decode_ledger_entry(buf, &why);
    if (!e || e->seq + 1 != size / ledger_entry_size) {
        return path_ + ": its last entry is damaged (" + (e ? "numbered wrong" : why) +
               "); run auditdistd verify on the host directory";
    }
    head_->seq = e->seq + 1;
    head_->prev = proto::ledger_hash(buf);
    return {};
}

// A new ledger over an existing directory: every trail in it, whole.
std::string trail_ledger::adopt_all(int dir_fd) {
    auto listing = common::list_directory(dir_fd);
    if (!listing.ok()) return "cannot list the host directory: " + errno_text(listing.error);
    std::vector<std::string> names;
    for (auto& n : listing.names)
        if (proto::is_valid_trail_name(n)) names.push_back(n);
    std::sort(names.begin(), names.end());
    for (const auto& n : names) {
        struct stat st {};
        if (::fstatat(dir_fd, n.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISREG(st.st_mode)) continue;
        if (auto problem = track(dir_fd, n, static_cast<std::uint64_t>(st.st_size)); !problem.empty())
            return problem;
    }
    if (!names.empty()) log::info(path_, ": new ledger; adopted ", names.size(), " stored trails");
    return {};
}

// The rename renamed() could not write, if it was to `name` and nothing was
// written to the ledger since (under state_mutex_).
std::optional<ledger_entry> trail_ledger::unrecorded_rename_to(const std::string& name) {
    if (!unrecorded_rename_ || unrecorded_rename_->entry.trail != name) return std::nullopt;
    std::lock_guard lock(head_->mutex);
    if (head_->seq != unrecorded_rename_->at) return std::nullopt;
    return unrecorded_rename_->entry;
}

// Writes the entry renamed() owes (under state_mutex_). "" or what is wrong.
std::string trail_ledger::write_unrecorded_rename(const ledger_entry& e) {
    bool chained = false;
    int err = write_entry(e, &chained);
    if (chained) unrecorded_rename_.reset();
    if (err != 0) return "cannot write " + path_ + ": " + errno_text(err);
    log::warning(path_, ": the entry of the rename of ", e.from, " to ", e.trail,
                 " found no room then: written now");
    return {};
}

// The newest entry about `name`, looking back at most max_entries_back
// entries and stopping at an older trail's.
std::optional<ledger_entry> trail_ledger::last_entry_of(const std::string& name) {
    std::uint64_t count;
    {
        std::lock_guard lock(head_->mutex);
        count = head_->seq;
    }
    std::array<std::byte, ledger_entry_size> buf{};
    for (std::uint64_t i = count, seen = 0; i > 0 && seen < max_entries_back; --i, ++seen) {
        if (::pread(fd_.get(), buf.data(), buf.size(), static_cast<off_t>((i - 1) * ledger_entry_size)) !=
            static_cast<ssize_t>(buf.size()))
            return std::nullopt;
        std::string why;
        auto e = proto::decode_ledger_entry(buf, &why);
        if (!e) return std::nullopt;
        if (e->trail == name) return e;
        if (proto::trail_start(e->trail) < proto::trail_start(name)) return std::nullopt;
    }
    return std::nullopt;
}

int trail_ledger::read_into(int fd, std::uint64_t from, std::uint64_t to, proto::sha256_state& state) {
    std::vector<std::byte> buf(1 << 20);
    while (from < to) {
        auto chunk = static_cast<std::size_t>(std::min<std::uint64_t>(buf.size(), to - from));
        ssize_t got = ::pread(fd, buf.data(), chunk, static_cast<off_t>(from));
        if (got < 0 && errno == EINTR) continue;
        if (got <= 0) return got < 0 ? errno : EIO;
        state.update(std::span(buf.data(), static_cast<std::size_t>(got)));
        from += static_cast<std::uint64_t>(got);
        reread_ += static_cast<std::uint64_t>(got);
    }
    return 0;
}

std::string trail_ledger::track(int dir_fd, const std::string& name, std::uint64_t size) {
    std::lock_guard lock(state_mutex_);
    if (name_ == name && committed_.size() == size && working_.size() == size) return {};
    // The last entry is read back below: it must be whole.
    if (int err = finish_pending(); err != 0)
        return "cannot write " + path_ + ": " + errno_text(err);
    auto last = last_entry_of(name);
    std::optional<ledger_entry> rename;
    if (!last) last = rename = unrecorded_rename_to(name);
    proto::sha256_state state;
    if (last) state = *proto::sha256_state::resume(last->state);
    if (state.size() > size) {
        return name + " is " + std::to_string(size) + " bytes but the ledger recorded " +
               std::to_string(state.size()) + " of it: cut after it was acknowledged (see "
               "auditdistd verify)";
    }
    if (rename) {
        if (auto problem = write_unrecorded_rename(*rename); !problem.empty()) return problem;
    }
    unique_fd fd(::openat(dir_fd, name.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
    auto before = reread_;
    if (state.size() < size) {
        if (!fd) return "cannot read " + name + ": " + errno_text(errno);
        std::uint64_t from = state.size();
        if (int err = read_into(fd.get(), from, size, state); err != 0)
            return "cannot read " + name + ": " + errno_text(err);
        ledger_entry e;
        e.kind = last ? ledger_kind::recovered : ledger_kind::adopted;
        e.trail = name;
        e.offset = from;
        e.length = size - from;
        e.prefix = state.current().sha256;
        e.state = state.midstate();
        if (int err = write_entry(e); err != 0) return "cannot write " + path_ + ": " + errno_text(err);
    }
    log::info(path_, ": digest of ", name, " at ", size, " bytes: ",
              last ? "from the ledger, " : "not in the ledger, ", reread_ - before, " bytes read back");
    name_ = name;
    committed_ = state;
    working_ = state;
    checkpoints_.clear();
    return {};
}

int trail_ledger::track_new(const std::string& name) {
    ledger_entry e;
    {
        std::lock_guard lock(state_mutex_);
        name_ = name;
        committed_ = proto::sha256_state();
        working_ = committed_;
        checkpoints_.clear();
        e.trail = name;
        e.prefix = committed_.current().sha256;
        e.state = committed_.midstate();
    }
    // An empty commit: the ledger knows the trail from its creation, so
    // bytes a crash leaves past it are `recovered`, not `adopted`.
    e.kind = ledger_kind::commit;
    return write_entry(e);
}

int trail_ledger::append(int fd, std::span<const std::byte> data, std::size_t* written) {
    std::lock_guard lock(state_mutex_);
    *written = 0;
    while (*written < data.size()) {
        auto rest = data.subspan(*written);
        ssize_t n = ::write(fd, rest.data(), rest.size());
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return n < 0 ? errno : EIO;
        working_.update(rest.first(static_cast<std::size_t>(n)));
        *written += static_cast<std::size_t>(n);
    }
    if (checkpoints_.size() >= max_checkpoints) checkpoints_.pop_front();
    checkpoints_.push_back({working_.size(), working_});
    return 0;
}

int trail_ledger::commit(int dir_fd, std::uint64_t size) {
    // An entry cut short covers bytes acknowledged by this commit too: it
    // must be whole and synced first, even with nothing new to add.
    if (int err = finish_pending(); err != 0) return err;
    ledger_entry e;
    std::optional<proto::sha256_state> next;
    {
        std::lock_guard lock(state_mutex_);
        if (name_.empty() || size <= committed_.size()) return 0;
        std::uint64_t from = committed_.size();
        // No append() is writing while the lock is held: the file's size now
        // is what append() wrote, unless someone else wrote to it too.
        struct stat st {};
        if (::fstatat(dir_fd, name_.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) return errno;
        if (static_cast<std::uint64_t>(st.st_size) == working_.size()) {
            // The last whole APPEND the sync covered (`size` may fall inside
            // one that was being written: its bytes go with the next commit).
            // Kept until the entry is in the chain: one that found no room
            // is written by the next commit from the same checkpoint.
            std::optional<proto::sha256_state> last;
            for (const auto& c : checkpoints_) {
                if (c.end > size) break;
                last = c.state;
            }
            if (!last || last->size() <= from) {
                while (!checkpoints_.empty() && checkpoints_.front().end <= size)
                    checkpoints_.pop_front();
                return 0;
            }
            next = *last;
        } else if (int err = read_foreign(dir_fd, size, static_cast<std::uint64_t>(st.st_size), &next);
                   err != 0) {
            return err;
        }
        e.trail = name_;
        e.offset = from;
        e.length = next->size() - from;
        e.prefix = next->current().sha256;
        e.state = next->midstate();
    }
    e.kind = ledger_kind::commit;
    bool chained = false;
    int err = write_entry(e, &chained);
    // Only an entry in the chain moves the commit on: a failed one leaves no
    // gap, and one cut short (its rest pending) no overlap with the next.
    if (chained) {
        std::lock_guard lock(state_mutex_);
        if (name_ == e.trail && committed_.size() <= next->size()) committed_ = *next;
        while (!checkpoints_.empty() && checkpoints_.front().end <= next->size())
            checkpoints_.pop_front();
    }
    return err;
}

// The file is not what append() wrote (someone else's bytes): the file is
// the truth. Reads what this commit covers, then the rest written since.
int trail_ledger::read_foreign(int dir_fd, std::uint64_t size, std::uint64_t now,
                               std::optional<proto::sha256_state>* next) {
    log::warning(path_, ": ", name_, " is ", now, " bytes where this receiver wrote ", working_.size(),
                 ": reading the bytes past the last commit back from the file");
    unique_fd fd(::openat(dir_fd, name_.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
    if (!fd) return errno;
    proto::sha256_state upto = committed_;
    if (int err = read_into(fd.get(), committed_.size(), size, upto); err != 0) return err;
    *next = upto;
    working_ = upto;
    if (int err = read_into(fd.get(), size, std::max(size, now), working_); err != 0) return err;
    checkpoints_.clear();
    checkpoints_.push_back({working_.size(), working_});
    return 0;
}

int trail_ledger::renamed(const std::string& to, bool close) {
    ledger_entry e;
    std::uint64_t at = 0; // the ledger's length before: anything written since voids the debt
    {
        std::lock_guard head(head_->mutex);
        at = head_->seq;
    }
    {
        std::lock_guard lock(state_mutex_);
        if (name_.empty()) return 0;
        e.kind = close ? ledger_kind::close : ledger_kind::rename;
        e.trail = to;
        e.from = name_;
        e.length = committed_.size();
        e.prefix = committed_.current().sha256;
        e.state = committed_.midstate();
    }
    // The new name (or none, closed) once the entry is in the chain: one
    // that found no room leaves the ledger where its chain is, and later
    // commits fail on the old name instead of going on under the new one.
    bool chained = false;
    int err = finish_pending();
    if (err == 0) err = write_entry(e, &chained);
    std::lock_guard lock(state_mutex_);
    if (chained) {
        if (name_ == e.from) name_ = close ? std::string() : to;
    } else if (err == ENOSPC && e.from != e.trail) {
        // No room (any other failure is a failed sync, for the operator):
        // the file is under its new name already and the entry is owed. As
        // a rename even for a CLOSE, which was refused: the trail is open
        // until the sender closes it again.
        e.kind = ledger_kind::rename;
        unrecorded_rename_ = unrecorded_rename{e, at};
    }
    return err;
}

std::optional<proto::file_digest> trail_ledger::committed(const std::string& name) const {
    std::lock_guard lock(state_mutex_);
    if (name_ != name) return std::nullopt;
    return committed_.current();
}

} // namespace adist::receiver
