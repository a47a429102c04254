// The root supervisor's children (supervisor.hpp): the worker (sender,
// receiver, status) and, when the collector runs as a user of its own, the
// collector process. Each has its control channel; the first to end stops
// the others, and the supervisor exits with that first one's status (the
// service manager restarts the whole daemon, as it did with one worker).
#pragma once

#include <chrono>
#include <cstddef>
#include <initializer_list>
#include <optional>
#include <vector>
#include <signal.h>
#include <sys/types.h>

#include "common/fd.hpp"

namespace adist::privileged {

struct worker_channels;

// In a child just forked: restores the signal mask `old`, closes the
// supervisor's ends, sets *channels; returns -1 (run_supervisor's "child").
int become_child(worker_channels* channels, const sigset_t& old, int control, int guard,
                 std::initializer_list<int> parent_ends, bool collector);

// Forks the collector process with a control channel of its own (closing
// the worker's ends in it). Returns its pid with *control set, -1 in the
// child, 0 on failure.
pid_t fork_collector(worker_channels* channels, const sigset_t& old, int worker_control,
                     int worker_guard, int* control);

class worker_children {
public:
    struct child {
        pid_t pid = 0;
        const char* name = "";   // "the worker", "the collector process"
        common::unique_fd control; // the supervisor's end of its control channel
        bool speaks = true;      // until it closes its end
        bool ready = false;      // said once that it serves
        bool exited = false;
        // The collector process: is handed only its own sections
        // (common::collector_sections_text), never the file.
        bool collector = false;
    };

    void add(pid_t pid, const char* name, int control_fd, bool collector = false);
    std::vector<child>& all() { return all_; }

    // A ready byte from child `i`: true once every child has said it (then
    // systemd may be told; again after each reload).
    bool mark_ready(std::size_t i);
    // SIGTERM, SIGINT: to every child still running.
    void signal_all(int sig);
    // SIGCHLD: reaps the children that ended (logging how); the first end
    // sends SIGTERM to the others and, past a bound, SIGKILL (tick). True
    // once none is left.
    bool reap();
    void tick();
    // How long poll() may wait while the others are being stopped (-1: no
    // bound of ours), combined with `other` (-1: none).
    int timeout_ms(int other) const;
    // The first child's end as an exit code: its status, or 128 + signal.
    int exit_code() const;

private:
    std::vector<child> all_;
    std::optional<int> first_status_;
    std::optional<std::chrono::steady_clock::time_point> kill_at_;
};

} // namespace adist::privileged
