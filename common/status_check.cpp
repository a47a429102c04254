// The status check's decider (see status_check.hpp).
#include "common/status_check.hpp"

#include <algorithm>

namespace adist::common {
namespace {

long long age(wall_time t, wall_time now) {
    return std::max<long long>(0,
                               std::chrono::duration_cast<std::chrono::seconds>(now - t).count());
}

struct finding {
    check_code code;
    std::string what;
};

// What a stall is measured from (see is_stalled).
std::optional<wall_time> stall_reference(const host_status& h) {
    if (!h.last_data_ack) return h.since;
    if (h.waiting_since && *h.waiting_since > *h.last_data_ack) return h.waiting_since;
    return h.last_data_ack;
}

// The worst thing about one host, or OK.
finding judge(const host_status& h, wall_time now, std::chrono::seconds max_lag) {
    if (!h.refused.empty()) return {check_code::critical, "refused: " + h.refused};
    if (is_stalled(h, now, max_lag)) {
        auto waited = age(*stall_reference(h), now);
        return {check_code::critical, "stalled: " + format_bytes(*h.unacked) +
                                          " not acknowledged, no data acknowledged for " +
                                          std::to_string(waited) + " s"};
    }
    if (!h.lagging.empty()) return {check_code::critical, "lagging: " + h.lagging};
    if (!h.receipt_alert.empty()) return {check_code::critical, "receipt: " + h.receipt_alert};
    if (!h.connected) {
        if (!h.since || age(*h.since, now) > max_lag.count()) {
            return {check_code::critical,
                    "not connected" + (h.since ? " for " + std::to_string(age(*h.since, now)) + " s"
                                               : std::string())};
        }
        return {check_code::warning,
                "not connected for " + std::to_string(age(*h.since, now)) + " s"};
    }
    if (!h.last_error.empty() && h.last_error_at && age(*h.last_error_at, now) <= max_lag.count()) {
        return {check_code::warning,
                "error " + std::to_string(age(*h.last_error_at, now)) + " s ago: " + h.last_error};
    }
    return {check_code::ok, ""};
}

} // namespace

std::string_view to_string(check_code c) {
    switch (c) {
    case check_code::ok:
        return "OK";
    case check_code::warning:
        return "WARNING";
    case check_code::critical:
        return "CRITICAL";
    case check_code::unknown:
        break;
    }
    return "UNKNOWN";
}

std::optional<long> parse_max_lag(const std::string& text) {
    if (text.empty() || text.size() > 9) return std::nullopt;
    long v = 0;
    for (char c : text) {
        if (c < '0' || c > '9') return std::nullopt;
        v = v * 10 + (c - '0');
    }
    if (v < 1 || v > 100'000'000) return std::nullopt;
    return v;
}

bool is_stalled(const host_status& h, wall_time now, std::chrono::seconds max_lag) {
    if (h.role != "sender" || !h.unacked || *h.unacked == 0) return false;
    auto ref = stall_reference(h);
    return ref && age(*ref, now) > max_lag.count();
}

bool may_read_status(unsigned uid, unsigned gid, const std::vector<unsigned>& groups,
                     std::optional<unsigned> status_gid) {
    if (uid == 0) return true;
    if (!status_gid) return false;
    return gid == *status_gid ||
           std::find(groups.begin(), groups.end(), *status_gid) != groups.end();
}

void mark_stalled(std::vector<host_status>& hosts, wall_time now, std::chrono::seconds max_lag) {
    for (auto& h : hosts)
        h.stalled = is_stalled(h, now, max_lag);
}

check_result decide_check(const std::vector<host_status>& hosts, wall_time now,
                          std::chrono::seconds max_lag) {
    if (hosts.empty()) return {check_code::unknown, "AUDITDISTD UNKNOWN - no hosts configured"};
    check_code worst = check_code::ok;
    std::string problems;
    std::uint64_t unacked = 0;
    for (const auto& h : hosts) {
        if (h.unacked) unacked += *h.unacked;
        auto f = judge(h, now, max_lag);
        if (f.code == check_code::ok) continue;
        worst = std::max(worst, f.code);
        problems += (problems.empty() ? "" : "; ") + h.role + " " + h.host + ": " + f.what;
    }
    std::string line = "AUDITDISTD " + std::string(to_string(worst)) + " - ";
    line += problems.empty() ? std::to_string(hosts.size()) + " hosts connected and shipping"
                             : problems;
    line += " | hosts=" + std::to_string(hosts.size()) +
            " unacked_bytes=" + std::to_string(unacked) + "B";
    std::replace(line.begin(), line.end(), '\n', ' ');
    return {worst, line};
}

} // namespace adist::common
