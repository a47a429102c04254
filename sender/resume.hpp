// Where a sender resumes after the handshake: which local trails the
// receiver already has, which one continues the receiver's newest file, and
// which come next. Pure: the uplink executes the plan.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace adist::sender {

struct resume_plan {
    // Older than the receiver's newest trail: never sent, because the
    // receiver only accepts its newest trail or a newer one. Either shipped
    // before this sender was killed (between the CLOSE ack and the unlink),
    // or a trail that sorts before one already shipped (a clock set back, a
    // link added late). The sender cannot tell which: it reports them and
    // leaves the links alone (docs/faults.md, "The dist directory").
    std::vector<std::string> older;
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

// The names in `local` of trails older than `last` (none when `last` is "").
std::vector<std::string> older_trails(const std::vector<std::string>& local, std::string_view last);

// A trail that could not be opened (EACCES, EIO...) is tried again after
// the returned delay: 1, 2, 4, 8 and 16 s after the 1st to 5th failure (the
// sender cuts each by up to a fifth at random). After the 6th (25 to 31 s)
// it is given up (nullopt) and skipped, so that one bad file does not hold
// back the trails after it forever.
std::optional<std::chrono::milliseconds> open_retry_delay(unsigned failures);

// auditd writes one trail at a time. An open-ended trail (.not_terminated)
// that sits unchanged at its end this long while a newer trail exists was
// left behind (its producer crashed before renaming it): it is closed as is.
inline constexpr std::chrono::milliseconds abandoned_grace{2000};

} // namespace adist::sender
