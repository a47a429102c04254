// Where a sender resumes after the handshake: which local trails the
// receiver already has, which one continues the receiver's newest file, and
// which come next. Pure: the uplink executes the plan.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace adist::sender {

struct resume_plan {
    // Older than the receiver's newest trail: shipped and closed (the
    // receiver only creates a newer file after syncing the older one).
    std::vector<std::string> shipped;
    // Local name of the receiver's newest trail, now or after a rename; the
    // uplink reopens it under the receiver's name at the receiver's size.
    std::optional<std::string> continuation;
    // Same trail as the receiver's newest but not a continuation of it
    // (e.g. X.not_terminated when the receiver has X.end): never sent.
    std::vector<std::string> conflicts;
    // Newer trails, in order.
    std::vector<std::string> pending;
};

// `local` must be sorted valid trail names; `remote_newest` is the name the
// receiver reported ("" when it has nothing for us).
resume_plan plan_resume(const std::vector<std::string>& local, std::string_view remote_newest);

// The first name in sorted `local` of a trail newer than `last` ("" = any).
std::optional<std::string> next_trail(const std::vector<std::string>& local, std::string_view last);

} // namespace adist::sender
