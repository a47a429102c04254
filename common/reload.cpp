// Configuration reload planning and the supervisor's message (see reload.hpp).
#include "common/reload.hpp"

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <tuple>

namespace adist::common {
namespace {

template <typename Host, typename Same>
void diff_hosts(const std::vector<Host>& running, const std::vector<Host>& next, Same same,
                std::vector<std::string>& added, std::vector<std::string>& removed,
                std::vector<std::string>& changed) {
    for (const auto& h : next) {
        auto it = std::find_if(running.begin(), running.end(),
                               [&](const Host& r) { return r.name == h.name; });
        if (it == running.end()) {
            added.push_back(h.name);
        } else if (!same(*it, h)) {
            changed.push_back(h.name);
        }
    }
    for (const auto& r : running) {
        if (std::none_of(next.begin(), next.end(), [&](const Host& h) { return h.name == r.name; })) {
            removed.push_back(r.name);
        }
    }
}

bool same_endpoint(const endpoint_spec& a, const endpoint_spec& b) {
    return a.to_string() == b.to_string();
}

// A collector or sudo section's settings, wherever in the file they are.
bool same_settings(collector_config a, const collector_config& b) {
    a.line = b.line;
    return a == b;
}

void append(std::string& out, const char* what, const std::vector<std::string>& names) {
    if (names.empty()) return;
    if (!out.empty()) out += "; ";
    out += what;
    out += ": ";
    for (std::size_t i = 0; i < names.size(); ++i) out += (i ? ", " : "") + names[i];
}

// The supervisor starts the auditd_log linkers once (privileged/
// audit_log_linker.hpp): a change to what they watch needs a restart.
void auditd_log_changes(const config& running, const config& next, reload_plan& p) {
    auto log_of = [](const config& c, const std::string& dir) {
        for (const auto& h : c.senders)
            if (h.directory == dir) return h.auditd_log;
        return std::string();
    };
    for (const auto* c : {&running, &next}) {
        for (const auto& h : c->senders) {
            if (log_of(running, h.directory) != log_of(next, h.directory) &&
                !lists(p.needs_restart, "auditd_log of dist directory " + h.directory)) {
                p.needs_restart.push_back("auditd_log of dist directory " + h.directory);
            }
        }
    }
}

} // namespace

reload_plan plan_reload(const config& running, const config& next) {
    reload_plan p;
    if (running.pidfile != next.pidfile) p.needs_restart.push_back("the pidfile");
    if (running.status_group != next.status_group) p.needs_restart.push_back("status_group");
    if (running.has_sender != next.has_sender) {
        p.needs_restart.push_back(next.has_sender ? "a sender section added" : "the sender section removed");
    }
    if (running.has_receiver != next.has_receiver) {
        p.needs_restart.push_back(next.has_receiver ? "a receiver section added"
                                                    : "the receiver section removed");
    }
    // The collector's socket and directories are opened as root at the start.
    if (running.collector.has_value() != next.collector.has_value()) {
        p.needs_restart.push_back(next.collector ? "a collector section added"
                                                 : "the collector section removed");
    } else if (running.collector &&
               (running.collector->socket != next.collector->socket ||
                running.collector->directory != next.collector->directory ||
                running.collector->dist != next.collector->dist ||
                running.collector->user != next.collector->user)) {
        p.needs_restart.push_back("the collector's socket, directory, dist or user");
    }
    if (running.sudo.has_value() != next.sudo.has_value()) {
        p.needs_restart.push_back(next.sudo ? "a sudo section added" : "the sudo section removed");
    } else if (running.sudo &&
               (running.sudo->socket != next.sudo->socket ||
                running.sudo->directory != next.sudo->directory ||
                running.sudo->dist != next.sudo->dist ||
                running.sudo->user != next.sudo->user)) {
        p.needs_restart.push_back("the sudo section's socket, directory, dist or user");
    }
    for (auto [name, a, b] : {std::tuple{"collector", &running.collector, &next.collector},
                              std::tuple{"sudo", &running.sudo, &next.sudo}}) {
        if (*a && *b && !same_settings(**a, **b)) p.sections_changed.push_back(name);
    }
    p.timeout_changed = running.timeout != next.timeout;

    std::vector<std::string> old_listen, new_listen;
    for (const auto& l : running.listen) old_listen.push_back(l.to_string());
    for (const auto& l : next.listen) new_listen.push_back(l.to_string());
    for (const auto& l : new_listen) {
        if (!lists(old_listen, l)) p.listen_added.push_back(l);
    }
    for (const auto& l : old_listen) {
        if (!lists(new_listen, l)) p.listen_removed.push_back(l);
    }
    p.tls_files_changed = running.certfile != next.certfile || running.keyfile != next.keyfile;
    diff_hosts(running.receivers, next.receivers,
               [](const receiver_host& a, const receiver_host& b) {
                   return same_endpoint(a.remote, b.remote) && a.directory == b.directory &&
                          a.password == b.password && a.tls_min_version == b.tls_min_version &&
                          a.min_protocol_version == b.min_protocol_version;
               },
               p.receiver_hosts_added, p.receiver_hosts_removed, p.receiver_hosts_changed);

    p.restart_all_uplinks = running.name != next.name || p.timeout_changed;
    diff_hosts(running.senders, next.senders,
               [](const sender_host& a, const sender_host& b) {
                   bool same_source = a.source.has_value() == b.source.has_value() &&
                                      (!a.source || same_endpoint(*a.source, *b.source));
                   return same_endpoint(a.remote, b.remote) && same_source &&
                          a.directory == b.directory && a.fingerprint == b.fingerprint &&
                          a.password == b.password && a.tls_min_version == b.tls_min_version &&
                          a.min_protocol_version == b.min_protocol_version &&
                          a.own_name == b.own_name && a.optional == b.optional &&
                          a.max_lag_bytes == b.max_lag_bytes && a.ledger_key == b.ledger_key &&
                          a.receipt_file == b.receipt_file;
               },
               p.sender_hosts_added, p.sender_hosts_removed, p.sender_hosts_changed);
    auditd_log_changes(running, next, p);
    return p;
}

bool path_within(const std::string& path, const std::string& root) {
    auto p = std::filesystem::path(path).lexically_normal();
    auto r = std::filesystem::path(root).lexically_normal();
    if (!p.is_absolute() || !r.is_absolute()) return false;
    auto rel = p.lexically_relative(r);
    return !rel.empty() && *rel.begin() != "..";
}

void check_sandbox_limits(reload_plan& p, const config& next, const sandbox_limits& limits) {
    auto within_any = [](const std::string& dir, const std::vector<std::string>& roots) {
        return std::any_of(roots.begin(), roots.end(),
                           [&](const std::string& r) { return path_within(dir, r); });
    };
    const char* outside = ", outside the sandbox";
    if (limits.filesystem && next.has_receiver) {
        for (const auto& h : next.receivers) {
            if (!within_any(h.directory, limits.receiver_dirs)) {
                p.needs_restart.push_back("host " + h.name + "'s directory " + h.directory +
                                          outside);
            }
        }
        for (const auto* f : {&next.certfile, &next.keyfile}) {
            if (p.tls_files_changed && !lists(limits.tls_files, *f)) {
                p.needs_restart.push_back("the TLS file " + *f + outside);
            }
        }
    }
    if (next.has_sender) {
        for (const auto& h : next.senders) {
            if (limits.filesystem && !within_any(h.directory, limits.sender_dirs)) {
                p.needs_restart.push_back("host " + h.name + "'s dist directory " + h.directory +
                                          outside);
            }
            if (limits.network && std::find(limits.ports.begin(), limits.ports.end(),
                                            h.remote.port) == limits.ports.end()) {
                p.needs_restart.push_back("host " + h.name + "'s remote port " +
                                          std::to_string(h.remote.port) + outside);
            }
        }
    }
}

bool lists(const std::vector<std::string>& names, const std::string& name) {
    return std::find(names.begin(), names.end(), name) != names.end();
}

bool reload_plan::empty() const {
    return needs_restart.empty() && listen_added.empty() && listen_removed.empty() &&
           receiver_hosts_added.empty() && receiver_hosts_removed.empty() &&
           receiver_hosts_changed.empty() && !tls_files_changed && sender_hosts_added.empty() &&
           sender_hosts_removed.empty() && sender_hosts_changed.empty() && !restart_all_uplinks &&
           !timeout_changed && sections_changed.empty();
}

std::string reload_plan::summary() const {
    std::string out;
    append(out, "listen added", listen_added);
    append(out, "listen removed", listen_removed);
    append(out, "receiver hosts added", receiver_hosts_added);
    append(out, "receiver hosts removed", receiver_hosts_removed);
    append(out, "receiver hosts changed", receiver_hosts_changed);
    if (tls_files_changed) append(out, "certificate", {"new certfile/keyfile"});
    append(out, "sender hosts added", sender_hosts_added);
    append(out, "sender hosts removed", sender_hosts_removed);
    append(out, "sender hosts changed", sender_hosts_changed);
    if (timeout_changed) append(out, "timeout", {"changed"});
    append(out, "sections changed", sections_changed);
    if (restart_all_uplinks) append(out, "sender connections", {"all restarted (name or timeout)"});
    return out.empty() ? "no changes" : out;
}

std::vector<std::byte> encode_control(control_kind kind, std::string_view payload) {
    std::vector<std::byte> out(5 + payload.size());
    out[0] = std::byte(static_cast<std::uint8_t>(kind));
    auto n = static_cast<std::uint32_t>(payload.size());
    for (int i = 0; i < 4; ++i) out[1 + i] = std::byte((n >> (8 * i)) & 0xff);
    std::memcpy(out.data() + 5, payload.data(), payload.size());
    return out;
}

void control_decoder::feed(std::span<const std::byte> bytes) {
    if (error_) return;
    buf_.insert(buf_.end(), bytes.begin(), bytes.end());
}

std::optional<control_message> control_decoder::next() {
    if (error_ || buf_.size() < 5) return std::nullopt;
    auto kind = static_cast<std::uint8_t>(buf_[0]);
    std::uint32_t n = 0;
    for (int i = 0; i < 4; ++i) n |= static_cast<std::uint32_t>(buf_[1 + i]) << (8 * i);
    if ((kind != 1 && kind != 2) || n > max_config_bytes) {
        error_ = true;
        buf_.clear();
        return std::nullopt;
    }
    if (buf_.size() < 5 + static_cast<std::size_t>(n)) return std::nullopt;
    control_message m{static_cast<control_kind>(kind),
                      std::string(reinterpret_cast<const char*>(buf_.data() + 5), n)};
    buf_.erase(buf_.begin(), buf_.begin() + 5 + n);
    return m;
}

} // namespace adist::common
