// Fan-out decisions (see fanout_decider.hpp).
#include "sender/fanout_decider.hpp"

#include "proto/trail_name.hpp"

#include <algorithm>

namespace adist::sender {

std::string trail_key(std::string_view name) {
    return std::string(proto::trail_start(name));
}

namespace {
bool holds(const fanout_member& m, const std::string& key) {
    return m.has.count(key) != 0;
}
} // namespace

std::vector<std::string> needed_by(const std::vector<fanout_member>& members,
                                   std::string_view trail) {
    auto key = trail_key(trail);
    std::vector<std::string> out;
    for (const auto& m : members) {
        if (!m.optional && !holds(m, key)) out.push_back(m.host);
    }
    return out;
}

bool may_remove(const std::vector<fanout_member>& members, std::string_view trail) {
    bool any_required = std::any_of(members.begin(), members.end(),
                                    [](const fanout_member& m) { return !m.optional; });
    return any_required && needed_by(members, trail).empty();
}

bool held_for_others(const std::vector<fanout_member>& members, std::string_view host,
                     std::string_view trail) {
    auto key = trail_key(trail);
    return std::any_of(members.begin(), members.end(), [&](const fanout_member& m) {
        return m.host != host && !m.optional && !holds(m, key);
    });
}

std::vector<std::string> missed_by(const std::vector<fanout_member>& members,
                                   std::string_view trail) {
    auto key = trail_key(trail);
    std::vector<std::string> out;
    for (const auto& m : members) {
        if (m.optional && !holds(m, key)) out.push_back(m.host);
    }
    return out;
}

std::vector<std::string> held_before(const std::vector<std::string>& candidates,
                                     std::string_view cursor) {
    std::vector<std::string> out;
    if (cursor.empty()) return out;
    auto limit = trail_key(cursor);
    for (const auto& name : candidates) {
        if (trail_key(name) < limit) out.push_back(name);
    }
    return out;
}

} // namespace adist::sender

namespace adist::sender {

std::string lag_problem(std::uint64_t unacked, std::uint64_t missed, std::uint64_t max_lag_bytes) {
    if (max_lag_bytes == 0) return {};
    std::uint64_t lag = unacked + missed;
    if (lag < unacked) lag = UINT64_MAX; // cannot happen with real sizes; never wrap
    if (lag <= max_lag_bytes) return {};
    std::string what =
        std::to_string(lag) + " bytes behind (" + std::to_string(unacked) + " not acknowledged";
    if (missed != 0) what += ", " + std::to_string(missed) + " removed before it got them";
    return what + "), more than max_lag_bytes " + std::to_string(max_lag_bytes);
}

} // namespace adist::sender
