// The auditd_log linker's pure decisions (see audit_log_decider.hpp): what to
// link, rename or report, from the recorded state, the log's generations and
// the dist directory's trails. Run by the root supervisor's linker.
#include "privileged/audit_log_decider.hpp"

#include "proto/trail_name.hpp"

#include <algorithm>
#include <ctime>
#include <sys/stat.h>

namespace adist::privileged {
namespace {

// Same device and inode, born at the same time: inode numbers come back once
// a generation is shipped and gone.
template <typename A, typename B> bool same_file(const A& a, const B& b) {
    return a.dev == b.dev && a.ino == b.ino && a.birth == b.birth;
}

std::string prefix_of(const std::string& name) {
    return std::string(proto::trail_start(name));
}

class decider {
  public:
    decider(const linker_state& s, const std::vector<log_generation>& seen,
            const std::vector<dist_trail>& dist, std::int64_t now, bool dist_listed)
        : seen_(seen), dist_(dist), now_(now), dist_listed_(dist_listed) {
        out_.next = s;
        for (const auto& t : dist) {
            if (auto start = proto::trail_start_time(t.name))
                out_.next.last_start = std::max(out_.next.last_start, *start);
        }
    }

    link_decision run() {
        adopt_dist_names();
        for (std::size_t i = 0; i < out_.next.linked.size();) {
            if (close_or_keep(out_.next.linked[i])) {
                ++i;
            } else {
                out_.next.linked.erase(out_.next.linked.begin() + static_cast<long>(i));
            }
        }
        for (const auto& g : seen_)
            link_new(g);
        return std::move(out_);
    }

  private:
    const log_generation* seen_file(const linked_generation& l) const {
        for (const auto& g : seen_)
            if (same_file(g, l)) return &g;
        return nullptr;
    }

    // A link or rename made before a crash but not recorded: the dist
    // directory shows it. A generation found there unrecorded is adopted.
    void adopt_dist_names() {
        for (auto& l : out_.next.linked) {
            for (const auto& t : dist_) {
                if (same_file(t, l) && prefix_of(t.name) == prefix_of(l.name)) l.name = t.name;
            }
        }
        for (const auto& g : seen_) {
            if (recorded(g)) continue;
            for (const auto& t : dist_) {
                if (!same_file(t, g)) continue;
                if (proto::classify_trail_name(t.name) == proto::trail_kind::crash_recovery)
                    continue;
                out_.next.linked.push_back({g.dev, g.ino, g.birth, t.name, g.size, now_});
                break;
            }
        }
    }

    bool recorded(const log_generation& g) const {
        return std::any_of(out_.next.linked.begin(), out_.next.linked.end(),
                           [&](const auto& l) { return same_file(g, l); });
    }

    // Returns false when the record goes (its file left the log directory,
    // or it was closed as crash_recovery and its file is to be linked anew).
    bool close_or_keep(linked_generation& l) {
        const log_generation* g = seen_file(l);
        if (g != nullptr) l.seen_at = now_;
        bool forgotten = g == nullptr && now_ - l.seen_at >= forget_after_s;
        auto kind = proto::classify_trail_name(l.name);
        // Closed as crash_recovery (possibly just before a crash): its file,
        // if still the log, is linked anew.
        if (kind == proto::trail_kind::crash_recovery) return false;
        if (kind != proto::trail_kind::not_terminated) return !forgotten;
        if (g != nullptr && g->current && g->size < l.size) {
            out_.warnings.push_back(
                g->file + " is now " + std::to_string(g->size) + " bytes, shorter than the " +
                std::to_string(l.size) + " already linked as " + l.name +
                " (truncated or rewritten: possible tampering); closing that trail as " +
                prefix_of(l.name) + "crash_recovery and shipping the file as a new trail");
            rename(l, prefix_of(l.name) + "crash_recovery");
            return false;
        }
        if (dist_listed_ && !in_dist(l) && (g != nullptr || forgotten)) return closed_elsewhere(l, g);
        if (g != nullptr && g->current) {
            l.size = std::max(l.size, g->size);
            return true;
        }
        if (g == nullptr && !forgotten) return true; // not proved gone yet
        if (g == nullptr) {
            out_.warnings.push_back("the file of " + l.name +
                                    " left the log directory before its rotation was seen "
                                    "(removed, or rotated past num_logs faster than the "
                                    "linker looked); closing it as it is");
        }
        auto start = proto::trail_start_time(l.name).value_or(now_);
        rename(l, prefix_of(l.name) + trail_time(std::max(now_, start)));
        return g != nullptr;
    }

    bool in_dist(const linked_generation& l) const {
        return std::any_of(dist_.begin(), dist_.end(),
                           [&](const auto& t) { return t.name == l.name && same_file(t, l); });
    }

    // The open link `l` is missing from the dist directory (see the header).
    bool closed_elsewhere(linked_generation& l, const log_generation* g) {
        if (g != nullptr && g->current) {
            out_.warnings.push_back(l.name + " was removed from the dist directory while " +
                                    g->file + " is still written (by hand, or by someone with "
                                    "the daemon's rights: possible tampering); linked again "
                                    "under the same name, the sender resumes where the "
                                    "receiver stopped");
            out_.actions.push_back({link_action::kind::link, g->file, g->dev, g->ino, {}, l.name});
            l.size = std::max(l.size, g->size);
            return true;
        }
        out_.warnings.push_back(l.name + " is no longer in the dist directory: taken as renamed, "
                                "shipped and removed before a crash let its rename be "
                                "recorded (if it was removed by hand, what it held past the "
                                "receiver's copy was not shipped)");
        auto start = proto::trail_start_time(l.name).value_or(now_);
        l.name = prefix_of(l.name) + trail_time(std::max(now_, start));
        return g != nullptr;
    }

    void rename(linked_generation& l, std::string to) {
        out_.actions.push_back({link_action::kind::rename, {}, 0, 0, l.name, to});
        l.name = std::move(to);
    }

    void link_new(const log_generation& g) {
        if (waiting_ || recorded(g)) return;
        if (!g.current && !g.settled) {
            waiting_ = true; // names must follow the generations' order
            return;
        }
        if (!S_ISREG(g.mode)) {
            out_.warnings.push_back(g.file + " is not a regular file: not linked");
            return;
        }
        std::int64_t start = std::max(now_, out_.next.last_start + 1);
        out_.next.last_start = start;
        std::string name =
            trail_time(start) + "." + (g.current ? "not_terminated" : trail_time(start));
        out_.actions.push_back({link_action::kind::link, g.file, g.dev, g.ino, {}, name});
        out_.next.linked.push_back({g.dev, g.ino, g.birth, name, g.size, now_});
    }

    const std::vector<log_generation>& seen_;
    const std::vector<dist_trail>& dist_;
    std::int64_t now_;
    bool dist_listed_;
    bool waiting_ = false; // for a generation that is not settled
    link_decision out_;
};

} // namespace

std::string trail_time(std::int64_t t) {
    std::time_t tt = static_cast<std::time_t>(t);
    std::tm tm{};
    ::gmtime_r(&tt, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y%m%d%H%M%S", &tm);
    return buf;
}

link_decision decide_links(const linker_state& state, const std::vector<log_generation>& seen,
                           const std::vector<dist_trail>& dist, std::int64_t now,
                           bool dist_listed) {
    return decider(state, seen, dist, now, dist_listed).run();
}

} // namespace adist::privileged
