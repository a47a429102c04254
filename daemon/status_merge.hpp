// `auditdistd status` asks two sockets when the daemon runs a collector
// (the worker's, for the hosts, and the collector process's): their answers
// put together, as one answer in the format asked for. Pure; both answers
// are untrusted text (a compromised process may answer anything).
#pragma once

#include <optional>
#include <string>

namespace adist::daemon {

// {"hosts":[...]} and {"collector":[...]} -> {"hosts":[...],"collector":[...]};
// nullopt when either is not such an object.
std::optional<std::string> merge_status_json(const std::string& hosts,
                                             const std::string& collector);

// Two "check N AUDITDISTD <CODE> - <text> | <perfdata>\n" answers -> one:
// the worse code (CRITICAL, WARNING, UNKNOWN, OK in that order), both texts
// and both perfdata. The worker's "no hosts configured" (a machine that
// only collects) gives way to the collector's verdict. A malformed
// answer from either makes the result UNKNOWN at best.
std::string combine_check_answers(const std::string& hosts, const std::string& collector);

// The collector's Prometheus answer, only its own lines: comments and
// samples of auditdistd_collector_* families (a compromised collector
// cannot add samples to the hosts' families).
std::string collector_prometheus_lines(const std::string& collector);

// A text answer for a terminal: control characters other than newline and
// tab become '?' (no escape sequence reaches the operator's terminal).
std::string printable_text(const std::string& text);

} // namespace adist::daemon
