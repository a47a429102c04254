// Receiver rules (see trail_rules.hpp and docs/protocol.md "Receiver rules").
#include "receiver/trail_rules.hpp"

#include "proto/trail_name.hpp"

namespace adist::receiver {
using proto::reply_error;

bool starts_too_late(std::string_view name, const trail_clock& clock) {
    auto start = proto::trail_start_time(name);
    return start && *start - clock.now > clock.max_skew;
}

open_decision decide_open(std::string_view newest, std::string_view name,
                          const trail_clock& clock) {
    if (!proto::is_valid_trail_name(name)) return {open_action::reject, reply_error::invalid_name};
    if (starts_too_late(name, clock)) return {open_action::reject, reply_error::invalid_name};
    if (newest.empty()) return {open_action::create, reply_error::ok};
    if (name == newest) return {open_action::reopen, reply_error::ok};
    if (proto::same_trail(newest, name)) {
        // The same trail under another name: only the one-way rename of the
        // open-ended file is allowed. Anything else (say X.not_terminated
        // after X.end) would store one trail twice.
        if (proto::is_valid_rename(newest, name)) {
            return {open_action::rename_then_append, reply_error::ok};
        }
        return {open_action::reject, reply_error::open_old};
    }
    if (name > newest) return {open_action::create, reply_error::ok};
    return {open_action::reject, reply_error::open_old};
}

reply_error decide_append(const store_view& view) {
    return view.open_name.empty() ? reply_error::wrong_order : reply_error::ok;
}

close_decision decide_close(const store_view& view, std::string_view name) {
    if (view.open_name.empty()) return {close_action::reject, reply_error::wrong_order};
    if (!proto::is_valid_trail_name(name)) return {close_action::reject, reply_error::invalid_name};
    if (name == view.open_name) return {close_action::close, reply_error::ok};
    if (proto::is_valid_rename(view.open_name, name)) {
        return {close_action::rename_then_close, reply_error::ok};
    }
    return {close_action::reject, reply_error::rename};
}

reply_error decide_error(const store_view& view) {
    return view.open_name.empty() ? reply_error::wrong_order : reply_error::ok;
}

store_view after_open(const store_view& view, std::string_view name) {
    store_view next = view;
    next.open_name = name;
    // Every allowed OPEN leaves `name` as the newest file.
    next.newest = name;
    return next;
}

store_view after_close(const store_view& view, std::string_view name) {
    store_view next = view;
    if (view.newest == view.open_name) next.newest = name;
    next.open_name.clear();
    return next;
}

} // namespace adist::receiver
