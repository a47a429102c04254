// Resume planning (see resume.hpp).
#include "sender/resume.hpp"

#include "proto/trail_name.hpp"

namespace adist::sender {
using proto::trail_start;

resume_plan plan_resume(const std::vector<std::string>& local, std::string_view remote_newest) {
    resume_plan plan;
    for (const auto& name : local) {
        if (remote_newest.empty() || trail_start(name) > trail_start(remote_newest)) {
            plan.pending.push_back(name);
        } else if (trail_start(name) < trail_start(remote_newest)) {
            plan.older.push_back(name);
        } else if (name == remote_newest || proto::is_valid_rename(remote_newest, name)) {
            plan.continuation = name;
        } else {
            plan.conflicts.push_back(name);
        }
    }
    return plan;
}

std::optional<std::string> next_trail(const std::vector<std::string>& local, std::string_view last) {
    for (const auto& name : local) {
        if (last.empty() || trail_start(name) > trail_start(last)) return name;
    }
    return std::nullopt;
}

std::vector<std::string> older_trails(const std::vector<std::string>& local, std::string_view last) {
    std::vector<std::string> out;
    for (const auto& name : local) {
        if (!last.empty() && trail_start(name) < trail_start(last)) out.push_back(name);
    }
    return out;
}

std::optional<std::chrono::milliseconds> open_retry_delay(unsigned failures) {
    constexpr unsigned give_up_after = 6;
    if (failures == 0 || failures >= give_up_after) return std::nullopt;
    return std::chrono::milliseconds(1000L << (failures - 1));
}

} // namespace adist::sender
