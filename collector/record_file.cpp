// The collector's files (record_file.hpp): naming, creating and linking,
// appending, syncing, the tamper check, rotation and the recovery of files a
// killed collector left open. Runs on the collector role's thread.
#include "collector/record_file.hpp"

#include "common/dir_list.hpp"
#include "proto/trail_name.hpp"

#include <algorithm>
#include <cerrno>
#include <ctime>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <utility>

namespace adist::collector {
namespace {

// A file's end is read back from its last 64 KiB on, and no further than
// max_line_scan: more than the longest line the collector writes (a command
// of max_record_size, at most 1 MiB, and the claimed fields of 1 KiB each,
// every byte escaped to 6, plus the trusted block).
constexpr std::size_t tail_size = 65536;
constexpr std::uint64_t max_line_scan = 16 * 1024 * 1024;

struct tail_facts {
    std::optional<std::uint64_t> last_seq;
    bool partial = false; // the file does not end with a newline
    std::int64_t mtime = 0;
    std::uint64_t size = 0;
};

// The sequence number of the last whole line of `buf` that has one. `buf`
// is the file from `from` on: a line is whole once its start is in it (the
// file's start, or after a newline).
std::optional<std::uint64_t> last_seq_in(const std::string& buf, std::uint64_t from, bool* more) {
    *more = false;
    auto end = buf.rfind('\n');
    *more = end == std::string::npos && from > 0; // one partial line so far
    while (end != std::string::npos) {
        auto nl = end == 0 ? std::string::npos : buf.rfind('\n', end - 1);
        if (nl == std::string::npos && from > 0) {
            *more = true; // this line starts before what was read
            return std::nullopt;
        }
        auto begin = nl == std::string::npos ? 0 : nl + 1;
        if (auto seq = record_seq(std::string_view(buf).substr(begin, end - begin))) return seq;
        if (begin == 0) break;
        end = begin - 1;
    }
    return std::nullopt;
}

// The last complete line's sequence number and whether a line was cut. A
// long last line is read back whole, in reads that double from 64 KiB: its
// number is where the sequence continues after a restart.
tail_facts read_tail(int dir, const std::string& name) {
    tail_facts t;
    common::unique_fd fd(::openat(dir, name.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
    struct stat st {};
    if (!fd || ::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode)) return t;
    t.mtime = st.st_mtime;
    t.size = std::uint64_t(st.st_size);
    std::string buf;
    std::uint64_t from = t.size;
    while (from > 0 && t.size - from < max_line_scan) {
        std::size_t n = std::min<std::uint64_t>(from, std::max(tail_size, buf.size()));
        std::string chunk(n, '\0');
        if (::pread(fd.get(), chunk.data(), n, off_t(from - n)) != ssize_t(n)) return t;
        from -= n;
        buf.insert(0, chunk);
        if (from + n == t.size) t.partial = buf.back() != '\n';
        bool more = false;
        t.last_seq = last_seq_in(buf, from, &more);
        if (!more) break;
    }
    return t;
}

std::string errno_at(const std::string& what) {
    return what + ": " + common::errno_text(errno);
}

} // namespace

std::string trail_time_text(std::int64_t seconds) {
    std::time_t t = seconds;
    std::tm tm{};
    ::gmtime_r(&t, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y%m%d%H%M%S", &tm);
    return buf;
}

std::optional<std::string> tamper_problem(const file_facts& expected, const file_facts& seen) {
    if (!seen.name_is_file) return "its name no longer leads to the file (renamed or removed)";
    if (seen.owner != expected.owner)
        return "owner changed from uid " + std::to_string(expected.owner) + " to " +
               std::to_string(seen.owner);
    if (seen.mode != expected.mode) {
        char buf[64];
        std::snprintf(buf, sizeof buf, "mode changed from %04o to %04o", unsigned(expected.mode),
                      unsigned(seen.mode));
        return std::string(buf);
    }
    if (seen.links != expected.links)
        return "link count is " + std::to_string(seen.links) + ", not " +
               std::to_string(expected.links) + " (a link added or the dist link removed)";
    if (seen.size != expected.size)
        return "size is " + std::to_string(seen.size) + " bytes, but " +
               std::to_string(expected.size) + " were written (" +
               (seen.size > expected.size ? "appended to" : "truncated") + ")";
    return std::nullopt;
}

bool rotation_due(common::collector_rotate rotate, std::uint64_t limit, std::int64_t start,
                  std::int64_t now, std::uint64_t size, std::size_t next) {
    if (rotate == common::collector_rotate::size) return size > 0 && size + next > limit;
    auto day = [](std::int64_t s) { return s >= 0 ? s / 86400 : (s - 86399) / 86400; };
    return day(now) > day(start);
}

record_file::~record_file() = default;

std::optional<std::string> record_file::open_directories() {
    dir_ = common::open_directory(o_.directory);
    if (!dir_) return errno_at("cannot open " + o_.directory);
    dist_ = common::open_directory(o_.dist);
    if (!dist_) return errno_at("cannot open " + o_.dist);
    return std::nullopt;
}

std::optional<std::string> record_file::open(std::int64_t now_ns) {
    if (auto e = open_directories()) return e;
    if (auto e = recover(now_ns)) return e;
    return start_file(now_ns, {});
}

record_base record_file::base(std::int64_t now_ns) const {
    return {next_seq_, now_ns, o_.host, o_.boot_id};
}

// Files of a previous run still named .not_terminated: a line cut by a
// kill is ended and marked, then the file is renamed to <start>.<end>
// (first in dist, so a crash in between leaves the dist name final).
std::optional<std::string> record_file::recover(std::int64_t now_ns) {
    auto listing = common::list_directory(dir_.get());
    if (!listing.ok())
        return "cannot list " + o_.directory + ": " + common::errno_text(listing.error);
    std::sort(listing.names.begin(), listing.names.end());
    for (const auto& n : listing.names) {
        auto kind = proto::classify_trail_name(n);
        if (kind == proto::trail_kind::invalid) continue;
        start_ = std::max<std::int64_t>(start_, *proto::trail_start_time(n));
        auto tail = read_tail(dir_.get(), n);
        if (tail.last_seq) next_seq_ = std::max(next_seq_, *tail.last_seq + 1);
        if (kind == proto::trail_kind::terminated) continue;
        name_ = n;
        written_ = tail.size;
        file_.reset(::openat(dir_.get(), n.c_str(), O_WRONLY | O_APPEND | O_NOFOLLOW | O_CLOEXEC));
        if (!file_) return errno_at("cannot open " + o_.directory + "/" + n);
        std::string line = "\n" + encode_recovery(base(now_ns), n, tail.partial);
        if (!tail.partial) line.erase(0, 1);
        std::string error;
        if (!append_record(line, &error)) return error;
        if (auto e = close_file(std::max<std::int64_t>(tail.mtime, now_ns / 1000000000))) return e;
    }
    return std::nullopt;
}

std::optional<std::string> record_file::start_file(std::int64_t now_ns,
                                                   const std::string& previous) {
    std::int64_t now = now_ns / 1000000000;
    std::int64_t start = std::max(now, start_ + 1); // names increase, one file per second
    std::string name = trail_time_text(start) + ".not_terminated";
    common::unique_fd fd(::openat(dir_.get(), name.c_str(),
                                  O_WRONLY | O_APPEND | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                                  0600));
    if (!fd) return errno_at("cannot create " + o_.directory + "/" + name);
    if (::linkat(dir_.get(), name.c_str(), dist_.get(), name.c_str(), 0) != 0)
        return errno_at("cannot link " + name + " into " + o_.dist);
    struct stat st {};
    if (::fstat(fd.get(), &st) != 0) return errno_at("cannot examine " + name);
    // The new names must survive a crash before the sender sees them.
    if (::fsync(dir_.get()) != 0 || ::fsync(dist_.get()) != 0)
        return errno_at("cannot sync " + o_.directory + " or " + o_.dist);
    file_ = std::move(fd);
    name_ = name;
    start_ = start;
    written_ = 0;
    ino_ = st.st_ino;
    std::string error;
    if (!append_record(encode_header(base(now_ns), next_seq_, previous), &error)) return error;
    return std::nullopt;
}

std::optional<std::string> record_file::close_file(std::int64_t now) {
    std::string ignored;
    if (staged_count_ > 0 && file_) {
        std::string data = std::move(staged_);
        staged_.clear();
        if (append(data, &staged_lost_))
            count_written(staged_count_);
        else if (staged_lost_.empty())
            staged_lost_ = "cannot write " + o_.directory + "/" + name_;
        staged_count_ = 0;
    }
    sync(&ignored);
    file_.reset();
    std::string done =
        std::string(proto::trail_start(name_)) + trail_time_text(std::max(now, start_));
    if (::renameat(dist_.get(), name_.c_str(), dist_.get(), done.c_str()) != 0 && errno != ENOENT)
        return errno_at("cannot rename " + o_.dist + "/" + name_);
    if (::renameat(dir_.get(), name_.c_str(), dir_.get(), done.c_str()) != 0 && errno != ENOENT)
        return errno_at("cannot rename " + o_.directory + "/" + name_);
    ::fsync(dist_.get());
    ::fsync(dir_.get());
    name_ = done;
    return std::nullopt;
}

// Writes `data` whole (bounded retries); written_ counts what went in.
bool record_file::append(const std::string& data, std::string* error) {
    std::size_t done = 0;
    for (int tries = 0; done < data.size() && tries < 8; ++tries) {
        ssize_t n = ::write(file_.get(), data.data() + done, data.size() - done);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            *error = errno_at("cannot write " + o_.directory + "/" + name_);
            written_ += done;
            bytes_total_ += done;
            return false;
        }
        done += std::size_t(n);
    }
    written_ += done;
    bytes_total_ += done;
    if (done < data.size()) {
        *error = "short write to " + o_.directory + "/" + name_;
        return false;
    }
    return true;
}

// One record of our own (header, recovery) straight into the file.
bool record_file::append_record(const std::string& line, std::string* error) {
    if (!append(line, error)) return false;
    ++next_seq_;
    count_written(1);
    return true;
}

bool record_file::stage(std::string& line, std::int64_t now_ns, std::string* error) {
    bool due = file_ && rotation_due(o_.rotate, o_.rotate_size, start_, now_ns / 1000000000,
                                     written_ + staged_.size(), line.size());
    if (due || !file_) {
        // A rotation (or a file started after a failure) writes a header,
        // which takes the next seq.
        auto e = due ? rotate(now_ns) : start_file(now_ns, name_);
        if (e) {
            *error = *e;
            return false;
        }
        restamp_seq(line, next_seq_);
    }
    staged_ += line;
    ++staged_count_;
    ++next_seq_;
    return true;
}

bool record_file::flush(std::int64_t now_ns, std::string* error) {
    if (!staged_lost_.empty()) {
        // Lines staged before a rotation, written by close_file, failed.
        *error = std::exchange(staged_lost_, {});
        staged_.clear();
        staged_count_ = 0;
        return false;
    }
    if (staged_count_ == 0) return true;
    std::string data = std::move(staged_);
    auto count = staged_count_;
    staged_.clear();
    staged_count_ = 0;
    if (file_ && append(data, error)) {
        count_written(count);
        return true;
    }
    if (!file_) *error = "no open file in " + o_.directory;
    // A line that is not whole must not be followed by another: new file.
    if (file_) close_file(now_ns / 1000000000);
    return false;
}

bool record_file::write(std::string line, std::int64_t now_ns, std::string* error) {
    return stage(line, now_ns, error) && flush(now_ns, error);
}

std::optional<std::string> record_file::rotate_if_due(std::int64_t now_ns, std::size_t next) {
    if (!file_ ||
        !rotation_due(o_.rotate, o_.rotate_size, start_, now_ns / 1000000000, written_, next))
        return std::nullopt;
    return rotate(now_ns);
}

bool record_file::sync(std::string* error) {
    if (!file_ || unsynced_ == 0) return true;
    if (::fdatasync(file_.get()) != 0) {
        *error = errno_at("cannot sync " + o_.directory + "/" + name_);
        return false;
    }
    unsynced_ = 0;
    return true;
}

common::unique_fd record_file::take_for_sync() {
    if (!file_ || unsynced_ == 0) return {};
    unsynced_ = 0;
    return common::unique_fd(::fcntl(file_.get(), F_DUPFD_CLOEXEC, 0));
}

std::optional<std::string> record_file::check() const {
    if (!file_) return std::nullopt;
    struct stat st {
    }, by_name{};
    if (::fstat(file_.get(), &st) != 0) return errno_at("cannot examine the open file");
    bool named = ::fstatat(dir_.get(), name_.c_str(), &by_name, AT_SYMLINK_NOFOLLOW) == 0 &&
                 by_name.st_ino == ino_ && by_name.st_dev == st.st_dev;
    file_facts seen{st.st_uid, mode_t(st.st_mode & 07777), st.st_nlink, std::uint64_t(st.st_size),
                    named};
    file_facts expected{::geteuid(), 0600, 2, written_, true};
    return tamper_problem(expected, seen);
}

std::optional<std::string> record_file::rotate(std::int64_t now_ns) {
    std::string previous = name_;
    if (file_) {
        if (auto e = close_file(now_ns / 1000000000)) return e;
        previous = name_;
    }
    return start_file(now_ns, previous);
}

std::optional<std::string> record_file::reopen(std::int64_t now_ns) {
    if (file_) {
        if (auto e = close_file(now_ns / 1000000000)) return e;
    }
    std::string previous = name_;
    if (auto e = open_directories()) return e;
    return start_file(now_ns, previous);
}

} // namespace adist::collector
