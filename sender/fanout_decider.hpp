// Fan-out: several receivers (sender `host` blocks) take one dist directory.
// Who still needs a trail's link, and what a receiver's resume point proves
// it holds. Pure: the fan-out group (fanout_group.hpp) keeps the state and
// acts. A trail is known by its key, the name's "YYYYMMDDhhmmss." prefix, so
// that X.not_terminated and X.<end> are one trail.
#pragma once

#include <cstdint>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace adist::sender {

// What the sender knows of one receiver of a shared dist directory.
struct fanout_member {
    std::string host;
    bool optional = false;     // `optional yes`: never holds a link
    std::set<std::string> has; // keys of trails it holds whole (CLOSE acknowledged)
};

// The key of trail `name` (its first 15 characters).
std::string trail_key(std::string_view name);

// The required members that do not hold `trail` yet, in member order.
std::vector<std::string> needed_by(const std::vector<fanout_member>& members,
                                   std::string_view trail);

// The link of `trail` may go: there is a required member and every required
// member holds it. Optional members never count.
bool may_remove(const std::vector<fanout_member>& members, std::string_view trail);

// The link of `trail` stays for a required member other than `host`.
bool held_for_others(const std::vector<fanout_member>& members, std::string_view host,
                     std::string_view trail);

// The optional members that do not hold `trail`: when its link goes, they
// will never get it (a gap, reported to them).
std::vector<std::string> missed_by(const std::vector<fanout_member>& members,
                                   std::string_view trail);

// What a receiver that reports `cursor` as its newest trail holds whole,
// among `candidates`: the trails that sort strictly before it (it only
// accepts newer trails, so it finished each of those). The cursor's own trail
// may still be open there: it is not included. None when `cursor` is "".
std::vector<std::string> held_before(const std::vector<std::string>& candidates,
                                     std::string_view cursor);

} // namespace adist::sender

namespace adist::sender {

// Why a receiver lags past `max_lag_bytes` (0: no limit): `unacked` bytes in
// the dist directory it has not acknowledged plus `missed` bytes removed
// before it got them (optional receivers); "" when within the limit.
std::string lag_problem(std::uint64_t unacked, std::uint64_t missed, std::uint64_t max_lag_bytes);

} // namespace adist::sender
