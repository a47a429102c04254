// Fan-out in auditdistd.conf(5): several sender hosts with one `directory`.
// The per-host `optional` and `max_lag_bytes` statements, and the
// whole-config check of the hosts that share a dist directory.
#include "common/config_limits.hpp"
#include "common/config_parser.hpp"

#include <map>
#include <vector>

namespace adist::common::config_detail {

// `optional yes|no`: an optional receiver never holds a dist link.
bool parser::optional_value(const token& key, bool& out) {
    std::string text;
    if (!string_value(key, text)) return false;
    if (text != "yes" && text != "no") return fail(key.line, "optional must be yes or no");
    out = text == "yes";
    return true;
}

// `max_lag_bytes SIZE`: K, M, G or T suffixes as for max_host_bytes; 0 is
// no limit.
bool parser::max_lag_value(const token& key, std::optional<std::uint64_t>& out) {
    std::string text;
    if (!string_value(key, text)) return false;
    out = parse_size(text);
    if (!out) {
        return fail(
            key.line,
            "max_lag_bytes must be a size in bytes, optionally with K, M, G or T (0: no limit)");
    }
    return true;
}

std::optional<config_error> check_fanout(const config& cfg, std::string_view file) {
    std::map<std::string, std::vector<const sender_host*>> groups;
    for (const auto& h : cfg.senders)
        groups[h.directory].push_back(&h);
    for (const auto& [dir, hosts] : groups) {
        const sender_host& first = *hosts.front();
        auto at = [&](const sender_host& h, std::string message) {
            return config_error{h.file.empty() ? std::string(file) : h.file, h.line,
                                std::move(message)};
        };
        bool any_required = false;
        for (const auto* h : hosts) {
            any_required = any_required || !h->optional;
            // One supervisor links one auditd log into one directory.
            if (h->auditd_log != first.auditd_log) {
                return at(*h, "sender host " + quoted(h->name) + ": auditd_log " +
                                  quoted(h->auditd_log) + " differs from host " +
                                  quoted(first.name) + "'s " + quoted(first.auditd_log) +
                                  ", and both take directory " + quoted(dir) +
                                  " (hosts that share a dist directory share its auditd_log)");
            }
        }
        if (!any_required) {
            return at(first, "every sender host of directory " + quoted(dir) +
                                 " is optional: nothing would remove its links (make one "
                                 "\"optional no\")");
        }
    }
    return std::nullopt;
}

} // namespace adist::common::config_detail

namespace adist::common {

std::vector<std::string> fanout_summary(const config& cfg) {
    std::map<std::string, std::vector<const sender_host*>> groups;
    for (const auto& h : cfg.senders) groups[h.directory].push_back(&h);
    std::vector<std::string> out;
    for (const auto& [dir, hosts] : groups) {
        if (hosts.size() < 2) continue;
        std::string all, required;
        for (const auto* h : hosts) {
            all += (all.empty() ? "" : ", ") + h->name + (h->optional ? " (optional)" : "");
            if (!h->optional) required += (required.empty() ? "" : ", ") + h->name;
        }
        out.push_back("fan-out: " + dir + " feeds " + all + "; a link goes once " + required +
                      " acknowledged the trail");
    }
    return out;
}

} // namespace adist::common
