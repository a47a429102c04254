// Removing the dist links a fan-out group no longer keeps for anyone
// (fanout_group::settled): after a reload made a host optional or removed
// it, and after a receiver's resume point showed that it holds a trail whose
// CLOSE another receiver acknowledged, or whose own acknowledgement was lost.
// A link goes only if its name still leads to the file that was
// acknowledged, as in unlink_shipped.cpp.
#pragma once

#include "sender/fanout_group.hpp"

#include <string_view>

namespace adist::sender {

// `dir_fd`: the group's directory, open. `why` ends the log line of each
// link removed ("shipped <dir>/<name>: <why>").
void remove_settled(fanout_group& g, int dir_fd, std::string_view why);

} // namespace adist::sender
