// libFuzzer target for receiver/trail_rules: random OPEN/APPEND/CLOSE/ERROR
// sequences against an in-memory directory that applies only what the
// decider allows. Invariants: a stored byte never changes, a file is never
// removed, only the open file grows, and a trail is never stored twice.
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>

#include "proto/trail_name.hpp"
#include "receiver/trail_rules.hpp"

using namespace adist::receiver;
using adist::proto::reply_error;

namespace {
void require(bool c) {
    if (!c) __builtin_trap();
}

const char* names[] = {
    "20240101000000.not_terminated", "20240101000000.20240101010000",
    "20240101000000.crash_recovery", "20240102000000.not_terminated",
    "20240102000000.20240102010000", "20231231000000.20240101000000",
    "20240101000000.not_terminat/x", "x", "99991231235959.not_terminated",
    "20241399999999.not_terminated", "20240103000000.20240102000000",
};

std::string pick(std::uint8_t b) { return names[b % (sizeof names / sizeof *names)]; }
} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::map<std::string, std::string> dir; // name -> content
    store_view view;
    // The receiver's clock: 2024-01-01 00:00 UTC, a skew of 0, 12 or 24 hours.
    const trail_clock clock{1704067200, size > 0 ? (data[0] % 3) * 43200 : 0};
    for (std::size_t i = 0; i + 1 < size; i += 2) {
        auto before = dir;
        std::string name = pick(data[i + 1]);
        switch (data[i] % 4) {
        case 0: {
            if (!view.open_name.empty()) view = after_close(view, view.open_name);
            auto d = decide_open(view.newest, name, clock);
            if (d.action == open_action::reject) break;
            require(adist::proto::is_valid_trail_name(name));
            require(!starts_too_late(name, clock));
            if (d.action == open_action::create) {
                require(!dir.count(name));
                for (auto& [n, c] : dir) require(!adist::proto::same_trail(n, name));
                dir[name];
            } else if (d.action == open_action::rename_then_append) {
                auto node = dir.extract(view.newest);
                node.key() = name;
                dir.insert(std::move(node));
            } else {
                require(dir.count(name) && name == view.newest);
            }
            view = after_open(view, name);
            break;
        }
        case 1:
            if (decide_append(view) == reply_error::ok) dir[view.open_name] += char(data[i + 1]);
            break;
        case 2: {
            auto d = decide_close(view, name);
            if (d.action == close_action::rename_then_close) {
                auto node = dir.extract(view.open_name);
                node.key() = name;
                dir.insert(std::move(node));
            }
            if (d.action != close_action::reject) view = after_close(view, name);
            break;
        }
        default:
            if (decide_error(view) == reply_error::ok) view.open_name.clear();
            break;
        }
        // Every old file still exists (maybe renamed) with its old bytes as a prefix.
        require(dir.size() >= before.size());
        for (auto& [n, c] : before) {
            bool found = false;
            for (auto& [m, d] : dir) {
                if ((m == n || adist::proto::same_trail(m, n)) && d.compare(0, c.size(), c) == 0) found = true;
            }
            require(found);
        }
    }
    return 0;
}
