// The status client's pure parts (daemon/control.cpp): `auditdistd status`
// asks the worker for the hosts and, when the daemon runs a collector, the
// collector process for its streams (collector/stream_status.hpp, checked
// and rendered by the client), and prints one answer. What comes from
// either daemon process is untrusted text.
#pragma once

#include "collector/stream_status.hpp"
#include "common/status_check.hpp"

#include <optional>
#include <string>
#include <vector>

namespace adist::daemon {

// The worker's {"hosts":[...]} with the collector's streams added as
// "collector":[...], or, when it gave none, "collector_error":"why";
// nullopt when the worker's answer is not such an object.
std::optional<std::string>
merge_collector_json(const std::string& hosts,
                     const std::optional<std::vector<collector::stream_status>>& streams,
                     const std::string& error);

// "check N AUDITDISTD <CODE> - <text> | <perfdata>\n", one line, N 0 to 3.
struct check_answer {
    common::check_code code = common::check_code::unknown;
    std::string text, perf; // between " - " and " | ", and after it
};
std::optional<check_answer> parse_check_answer(const std::string& answer);

// Two such answers (the worker's, the collector's) -> one: the worse code
// (CRITICAL, WARNING, UNKNOWN, OK in that order), both texts and both
// perfdata. The worker's "no hosts configured" (a machine that only
// collects) gives way to the collector's verdict. A malformed answer from
// either makes the result UNKNOWN at best.
std::string combine_check_answers(const std::string& hosts, const std::string& collector);

// Text for a terminal: control characters (C0 but newline and tab, DEL,
// and C1 as UTF-8 writes them) become '?', so that no escape sequence from
// a daemon's answer reaches the operator's terminal.
std::string printable_text(const std::string& text);

} // namespace adist::daemon
