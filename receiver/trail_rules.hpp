// The receiver's tamper-resistance rules as one pure decider: given the
// host directory's newest trail name and the file open in this session, may
// this OPEN/APPEND/CLOSE/ERROR happen, and what does it do? No I/O; the trail
// store executes the decision. Unit tests and the fuzzer drive it.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "proto/wire.hpp"

namespace adist::receiver {

struct store_view {
    std::string newest;    // greatest valid trail name in the directory, "" if none
    std::string open_name; // file open in this session, "" if none
};

enum class open_action {
    reject,             // reply with decision.error
    reopen,             // append to the existing newest file
    rename_then_append, // newest is X.not_terminated, OPEN names its final name
    create,             // exclusive create of a newer file
};

struct open_decision {
    open_action action = open_action::reject;
    proto::reply_error error = proto::reply_error::ok;
};

enum class close_action { reject, close, rename_then_close };

struct close_decision {
    close_action action = close_action::reject;
    proto::reply_error error = proto::reply_error::ok;
};

// The receiver's clock, a parameter so the rules stay pure: a trail may not
// start more than max_skew seconds after `now` (a name from a sender clock
// years ahead would become the newest and wedge the host for good).
struct trail_clock {
    std::int64_t now = 0;      // seconds since the epoch, UTC
    std::int64_t max_skew = 0; // seconds, >= 0
};

// True when `name` is a valid trail name starting more than max_skew after now.
bool starts_too_late(std::string_view name, const trail_clock& clock);

// OPEN `name` when no file is open in the session (the session closes an open
// file first). Only a name with real times starting no later than the clock
// allows; only the newest may be reopened, only a newer name created, and
// only `.not_terminated` renamed to a final name of the same trail.
open_decision decide_open(std::string_view newest, std::string_view name,
                          const trail_clock& clock);

// APPEND: needs an open file.
proto::reply_error decide_append(const store_view& view);

// CLOSE `name`: the open file's own name, or a valid final name for it.
close_decision decide_close(const store_view& view, std::string_view name);

// ERROR (the sender cannot read its file): needs an open file; it is closed
// under its current name.
proto::reply_error decide_error(const store_view& view);

// The state after an allowed OPEN/CLOSE, for callers and the fuzzer.
store_view after_open(const store_view& view, std::string_view name);
store_view after_close(const store_view& view, std::string_view name);

} // namespace adist::receiver
