// `auditdistd status --check`: the Nagios-plugin verdict over the status
// records (0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN) and the daemon's own
// "stalled" judgement. Pure: time is passed in.
#pragma once

#include "common/status.hpp"

#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace adist::common {

enum class check_code { ok = 0, warning = 1, critical = 2, unknown = 3 };

struct check_result {
    check_code code = check_code::unknown;
    std::string line; // "AUDITDISTD OK - 2 hosts ...", one line, no newline
};

// The daemon's own max lag for the `stalled` flag (--max-lag overrides it
// for a check).
inline constexpr std::chrono::seconds default_max_lag{600};

// A sender with bytes not acknowledged and no data acknowledged (or, never
// acknowledged, no change of connection state) for longer than max_lag.
// Measured from the later of the last data ack and the time data began to
// wait again (an idle host whose new data is on its way is not stalled), or
// from the connection state's change when there was never an ack.
bool is_stalled(const host_status& h, wall_time now, std::chrono::seconds max_lag);
// Sets each record's `stalled` by is_stalled.
void mark_stalled(std::vector<host_status>& hosts, wall_time now, std::chrono::seconds max_lag);

// CRITICAL: a refused host; a stalled sender; a sender lagging past its
// max_lag_bytes (fan-out); a host not connected for
// longer than max_lag. WARNING: a host not connected for less; an error
// within the last max_lag. UNKNOWN: no hosts. Otherwise OK.
check_result decide_check(const std::vector<host_status>& hosts, wall_time now,
                          std::chrono::seconds max_lag);

std::string_view to_string(check_code c);

// A check's max lag as a request carries it: "600" -> 600; digits only,
// 1 to 10^8 seconds.
std::optional<long> parse_max_lag(const std::string& text);

// The status socket's check of its peer (SO_PEERCRED, SO_PEERGROUPS): root,
// or a member of `status_group` (its primary or a supplementary group).
bool may_read_status(unsigned uid, unsigned gid, const std::vector<unsigned>& groups,
                     std::optional<unsigned> status_gid);

} // namespace adist::common
