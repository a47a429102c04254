// Linux: the root supervisor's auditd_log linker. It watches the directory of
// auditd's log with inotify and does what FreeBSD's auditd does with dist:on
// (hard links into the dist directory, renamed when auditd rotates); the
// decisions are audit_log_decider.hpp's, the record audit_log_state.hpp's.
#pragma once

#include "common/fd.hpp"
#include "privileged/audit_log_decider.hpp"

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace adist::privileged {

// One look at the log's directory: the generations, and an O_PATH
// descriptor of each (what a link is made from).
struct audit_log_linker_scan {
    std::vector<log_generation> seen;
    std::vector<common::unique_fd> fds;
};

struct audit_log_source {
    std::string log_path; // e.g. /var/log/audit/audit.log
    std::string dist_dir; // the sender host's directory, same filesystem
};

class audit_log_linker {
  public:
    audit_log_linker(audit_log_source source, std::string state_dir);

    // inotify on the log's directory, the record read; false with *error
    // when either fails (the daemon then does not start).
    bool start(std::string* error);
    // The inotify descriptor, for poll().
    int fd() const { return inotify_.get(); }
    // Drains the inotify events (bounded) and syncs if any came.
    void on_readable();
    // Looks at both directories, links and renames what the decider says,
    // and records it. Called on events and at least once a second.
    void sync();

  private:
    using scanned = audit_log_linker_scan;
    bool scan_log(scanned& out);
    bool scan_dist(int dist_fd, std::vector<dist_trail>& out);
    bool execute(const link_action& a, int dist_fd, const scanned& s);
    void report(const std::string& problem);
    bool note_size();
    std::chrono::steady_clock::time_point record_due() const;

  public:
    static constexpr std::chrono::milliseconds record_interval{100}; // the longest wait
    // Milliseconds until record_if_due() writes the change not recorded
    // yet (at least 1), or -1 when everything is recorded.
    int record_due_in_ms() const;
    // `now_or_never`: at the supervisor's end, whatever the interval.
    void record_if_due(bool now_or_never = false);

  private:
    audit_log_source source_;
    std::string log_dir_, log_name_, state_path_;
    common::unique_fd inotify_;
    linker_state state_;
    std::string last_problem_; // logged once until it changes or clears
    bool dist_unknown_ = true; // the next sync lists the dist directory
    bool unrecorded_ = false;
    std::chrono::steady_clock::time_point last_record_{};
    std::chrono::steady_clock::duration record_cost_{}; // what the last record took
};

} // namespace adist::privileged
