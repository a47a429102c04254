// The auditd_log linker (see audit_log_linker.hpp): the I/O around
// decide_links(). Every link is made from an O_PATH descriptor of the file
// the decider saw (linkat AT_EMPTY_PATH), so a rotation between the look and
// the link can never link the wrong generation under a name.
#include "privileged/audit_log_linker.hpp"

#include "common/dir_list.hpp"
#include "common/log.hpp"
#include "privileged/audit_log_state.hpp"
#include "proto/trail_name.hpp"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <climits>
#include <cstring>
#include <ctime>
#include <fcntl.h>
#include <filesystem>
#include <stdio.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

namespace adist::privileged {
namespace {

constexpr std::size_t max_generations = 10000; // auditd's num_logs is at most 999
constexpr int max_event_reads = 64;

// "audit.log" -> 0, "audit.log.7" -> 7, anything else -> -1.
long generation_number(const std::string& name, const std::string& base) {
    if (name == base) return 0;
    if (name.size() <= base.size() + 1 || name.compare(0, base.size(), base) != 0 ||
        name[base.size()] != '.' || name.size() > base.size() + 7) {
        return -1;
    }
    auto digits = name.substr(base.size() + 1);
    if (!std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; }))
        return -1;
    long n = std::stol(digits);
    return n > 0 ? n : -1;
}

// statx of `name` in `dir` (or of `dir` itself with name ""), birth included.
bool stat_file(int dir, const char* name, struct statx& stx) {
    int flags = AT_SYMLINK_NOFOLLOW | (*name == '\0' ? AT_EMPTY_PATH : 0);
    return ::statx(dir, name, flags, STATX_BASIC_STATS | STATX_BTIME, &stx) == 0;
}

std::int64_t birth_of(const struct statx& stx) {
    if ((stx.stx_mask & STATX_BTIME) == 0) return 0;
    return stx.stx_btime.tv_sec * 1'000'000'000LL + stx.stx_btime.tv_nsec;
}

std::uint64_t dev_of(const struct statx& stx) {
    return makedev(stx.stx_dev_major, stx.stx_dev_minor);
}

// Oldest first by birth, which a rename during the listing cannot shuffle as
// it can the numbers; the log itself last.
void order_by_birth(audit_log_linker_scan& s) {
    // Without birth times (a filesystem that has none) the numbers' order.
    for (const auto& g : s.seen)
        if (g.birth == 0) return;
    std::vector<std::size_t> order(s.seen.size());
    for (std::size_t i = 0; i < order.size(); ++i)
        order[i] = i;
    std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
        const auto &x = s.seen[a], &y = s.seen[b];
        if (x.current != y.current) return y.current;
        return x.birth < y.birth;
    });
    audit_log_linker_scan sorted;
    for (auto i : order) {
        sorted.seen.push_back(std::move(s.seen[i]));
        sorted.fds.push_back(std::move(s.fds[i]));
    }
    s = std::move(sorted);
}

std::string errno_text() {
    return std::strerror(errno);
}

} // namespace

audit_log_linker::audit_log_linker(audit_log_source source, std::string state_dir)
    : source_(std::move(source)) {
    std::filesystem::path p(source_.log_path);
    log_dir_ = p.parent_path().string();
    log_name_ = p.filename().string();
    state_path_ = audit_log_state_path(state_dir, source_.dist_dir);
}

bool audit_log_linker::start(std::string* error) {
    auto state = read_audit_log_state(state_path_, error);
    if (!state) return false;
    state_ = std::move(*state);
    // Seen as of now: the first listing may miss a file being renamed.
    for (auto& l : state_.linked)
        l.seen_at = std::time(nullptr);
    inotify_.reset(::inotify_init1(IN_NONBLOCK | IN_CLOEXEC));
    if (!inotify_) {
        *error = "inotify_init1: " + errno_text();
        return false;
    }
    // auditd: its writes (IN_MODIFY: the size seen, for the truncation
    // check), fchmod (IN_ATTRIB), close (IN_CLOSE_WRITE), the rename chain
    // (IN_MOVED_*), the new log (IN_CREATE). A truncation is IN_MODIFY too.
    std::uint32_t mask = IN_CREATE | IN_MOVED_FROM | IN_MOVED_TO | IN_DELETE | IN_CLOSE_WRITE |
                         IN_ATTRIB | IN_MODIFY | IN_ONLYDIR | IN_DONT_FOLLOW;
    if (::inotify_add_watch(inotify_.get(), log_dir_.c_str(), mask) < 0) {
        *error = "cannot watch " + log_dir_ + ": " + errno_text();
        return false;
    }
    log::info("auditd_log: linking the generations of ", source_.log_path, " into ",
              source_.dist_dir, " (record: ", state_path_, ")");
    sync();
    return true;
}

// Most events are auditd's writes (IN_MODIFY of the log): those only update
// the size seen (the truncation check needs it), with one statx; anything
// else, or a log that shrank, is a full sync. inotify merges repeated
// identical events, so a busy log costs one wake-up per loop, not per write.
void audit_log_linker::on_readable() {
    alignas(inotify_event) char buf[8192];
    bool any = false, other = false;
    for (int i = 0; i < max_event_reads; ++i) {
        ssize_t n = ::read(inotify_.get(), buf, sizeof buf);
        if (n <= 0) break;
        any = true;
        for (ssize_t off = 0; off + static_cast<ssize_t>(sizeof(inotify_event)) <= n;) {
            const auto* e = reinterpret_cast<const inotify_event*>(buf + off);
            bool write = e->mask == IN_MODIFY && e->len > 0 && log_name_ == e->name;
            other = other || !write;
            off += static_cast<ssize_t>(sizeof(inotify_event) + e->len);
        }
    }
    if (!any) return;
    if (other || !note_size()) sync();
}

// The log grew (or stayed): remembers its size. False when a sync is due.
bool audit_log_linker::note_size() {
    struct statx st {};
    if (!stat_file(AT_FDCWD, source_.log_path.c_str(), st)) return false;
    for (auto& l : state_.linked) {
        if (l.dev != dev_of(st) || l.ino != st.stx_ino || l.birth != birth_of(st)) continue;
        if (proto::classify_trail_name(l.name) != proto::trail_kind::not_terminated) return false;
        if (st.stx_size < l.size) return false;
        l.size = st.stx_size;
        return true;
    }
    return false;
}

void audit_log_linker::report(const std::string& problem) {
    if (problem == last_problem_) return;
    last_problem_ = problem;
    if (!problem.empty()) log::error("auditd_log ", source_.log_path, ": ", problem);
}

// The log's generations, oldest first (audit.log.N ... audit.log.1, audit.log).
bool audit_log_linker::scan_log(scanned& out) {
    common::unique_fd dir(::open(log_dir_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!dir) {
        report("cannot open " + log_dir_ + ": " + errno_text());
        return false;
    }
    auto listing = common::list_directory(dir.get());
    if (!listing.ok()) {
        errno = listing.error;
        report("cannot list " + log_dir_ + ": " + errno_text());
        return false;
    }
    std::vector<std::pair<long, std::string>> names;
    for (auto& n : listing.names) {
        long g = generation_number(n, log_name_);
        if (g >= 0 && names.size() < max_generations) names.emplace_back(g, std::move(n));
    }
    std::sort(names.begin(), names.end(), [](const auto& a, const auto& b) {
        return (a.first == 0 ? LONG_MAX : -a.first) < (b.first == 0 ? LONG_MAX : -b.first);
    });
    for (const auto& [g, name] : names) {
        common::unique_fd f(::openat(dir.get(), name.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC));
        struct statx st {};
        if (!f || !stat_file(f.get(), "", st)) continue; // rotated away since the listing
        // Settled: read-only as auditd leaves it, or untouched for 2 s.
        bool settled = g == 0 || (st.stx_mode & 0222) == 0 ||
                       st.stx_mtime.tv_sec + 2 <= static_cast<std::int64_t>(std::time(nullptr));
        out.seen.push_back({name, dev_of(st), st.stx_ino, st.stx_size, st.stx_mode, birth_of(st),
                            g == 0, settled});
        out.fds.push_back(std::move(f));
    }
    order_by_birth(out);
    return true;
}

bool audit_log_linker::scan_dist(int dist_fd, std::vector<dist_trail>& out) {
    auto listing = common::list_directory(dist_fd);
    if (!listing.ok()) {
        errno = listing.error;
        report("cannot list " + source_.dist_dir + ": " + errno_text());
        return false;
    }
    for (const auto& n : listing.names) {
        struct statx st {};
        if (!proto::is_valid_trail_name(n) || !stat_file(dist_fd, n.c_str(), st) ||
            !S_ISREG(st.stx_mode)) {
            continue;
        }
        out.push_back({n, dev_of(st), st.stx_ino, birth_of(st)});
    }
    return true;
}

bool audit_log_linker::execute(const link_action& a, int dist_fd, const scanned& s) {
    if (a.what == link_action::kind::rename) {
        // Never over another name: RENAME_NOREPLACE.
        if (::renameat2(dist_fd, a.from.c_str(), dist_fd, a.to.c_str(), RENAME_NOREPLACE) != 0) {
            report("cannot rename " + source_.dist_dir + "/" + a.from + " to " + a.to + ": " +
                   errno_text());
            return false;
        }
        log::info("auditd_log: ", source_.dist_dir, "/", a.from, " -> ", a.to);
        return true;
    }
    for (std::size_t i = 0; i < s.seen.size(); ++i) {
        if (s.seen[i].dev != a.dev || s.seen[i].ino != a.ino) continue;
        if (::linkat(s.fds[i].get(), "", dist_fd, a.to.c_str(), AT_EMPTY_PATH) != 0) {
            report("cannot link " + a.file + " as " + source_.dist_dir + "/" + a.to + ": " +
                   errno_text());
            return false;
        }
        log::info("auditd_log: linked ", log_dir_, "/", a.file, " as ", source_.dist_dir, "/",
                  a.to);
        return true;
    }
    return false;
}

void audit_log_linker::sync() {
    scanned s;
    std::vector<dist_trail> dist;
    common::unique_fd dist_fd(
        ::open(source_.dist_dir.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!dist_fd) {
        report("cannot open the dist directory " + source_.dist_dir + ": " + errno_text());
        return;
    }
    // The dist directory is looked at only when what it holds may differ
    // from the record: at the start (a crash between a link and its record)
    // and after a failed step. Not at every sync: a backlog of thousands of
    // unsent links would make each look slow, and a slow linker misses
    // generations in a storm of rotations.
    bool listed = dist_unknown_;
    if (!scan_log(s) || (listed && !scan_dist(dist_fd.get(), dist))) return;
    dist_unknown_ = false;
    auto d = decide_links(state_, s.seen, dist, static_cast<std::int64_t>(std::time(nullptr)),
                          listed);
    for (const auto& w : d.warnings)
        log::error("auditd_log ", source_.log_path, ": ", w);
    // A failed step stops here; the next sync finds what was done in the
    // dist directory (the decider adopts it) and tries the rest again.
    for (const auto& a : d.actions) {
        if (!execute(a, dist_fd.get(), s)) {
            dist_unknown_ = true;
            return;
        }
    }
    if (!d.actions.empty() || d.next.linked.size() != state_.linked.size()) unrecorded_ = true;
    state_ = std::move(d.next);
    record_if_due();
}

// Each change is recorded at once, unless the last record is recent in
// proportion to what a record costs: recording may take at most a tenth of
// the linker's time (never waiting more than record_interval). On storage
// where a record takes 0.4 ms, as here, that is 3.6 ms; on a disk where
// its two fsyncs take 10 ms, a storm of rotations is recorded every 90 ms,
// since a linker blocked on records for num_logs rotations would miss
// generations. What a later record leaves open is a duplicate after a
// crash, never a loss (docs/operations.md).
std::chrono::steady_clock::time_point audit_log_linker::record_due() const {
    return last_record_ +
           std::min<std::chrono::steady_clock::duration>(record_interval, 9 * record_cost_);
}

int audit_log_linker::record_due_in_ms() const {
    if (!unrecorded_) return -1;
    auto left = record_due() - std::chrono::steady_clock::now();
    auto ms = std::chrono::ceil<std::chrono::milliseconds>(left).count();
    return static_cast<int>(std::clamp<long long>(ms, 1, record_interval.count()));
}

void audit_log_linker::record_if_due(bool now_or_never) {
    auto now = std::chrono::steady_clock::now();
    if (!unrecorded_ || (!now_or_never && now < record_due())) return;
    std::string error;
    if (!write_audit_log_state(state_path_, state_, &error)) {
        report("cannot record what was linked: " + error);
        return;
    }
    unrecorded_ = false;
    last_record_ = std::chrono::steady_clock::now();
    record_cost_ = last_record_ - now;
    report("");
}

} // namespace adist::privileged
