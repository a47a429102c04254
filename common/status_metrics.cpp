// `auditdistd status --prometheus`: the status records in the Prometheus
// text exposition format (version 0.0.4), for node_exporter's textfile
// collector or a cron line. Pure.
#include "common/status.hpp"

#include <chrono>
#include <cstdio>
#include <functional>
#include <sstream>

namespace adist::common {
namespace {

// Label values: backslash, double quote and newline are escaped.
std::string escape_label(const std::string& v) {
    std::string out;
    for (char c : v) {
        if (c == '\\' || c == '"') {
            out += '\\';
            out += c;
        } else if (c == '\n') {
            out += "\\n";
        } else {
            out += c;
        }
    }
    return out;
}

std::string labels(const host_status& h, const std::string& reason = {}) {
    std::string out =
        "{role=\"" + escape_label(h.role) + "\",host=\"" + escape_label(h.host) + "\"";
    if (!reason.empty()) out += ",reason=\"" + escape_label(reason) + "\"";
    return out + "}";
}

// Whole numbers as integers (counters, Unix times), others to the nanosecond.
std::string number(double v) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.9f", v);
    std::string out = buf;
    out.erase(out.find_last_not_of('0') + 1);
    if (out.back() == '.') out.pop_back();
    return out;
}

double seconds_since_epoch(wall_time t) {
    return std::chrono::duration<double>(t.time_since_epoch()).count();
}

struct family {
    const char* name;
    const char* type;
    const char* help;
};

void header(std::ostringstream& out, const family& f) {
    out << "# HELP auditdistd_" << f.name << " " << f.help << "\n"
        << "# TYPE auditdistd_" << f.name << " " << f.type << "\n";
}

// One sample per host; `value` returns nothing for a host it does not apply to.
using sample = std::function<std::optional<double>(const host_status&)>;

void per_host(std::ostringstream& out, const std::vector<host_status>& hosts, const family& f,
              const sample& value) {
    header(out, f);
    for (const auto& h : hosts) {
        if (auto v = value(h))
            out << "auditdistd_" << f.name << labels(h) << " " << number(*v) << "\n";
    }
}

using reasons = std::map<std::string, std::uint64_t> host_counters::*;

void per_reason(std::ostringstream& out, const std::vector<host_status>& hosts, const family& f,
                reasons field) {
    header(out, f);
    for (const auto& h : hosts) {
        for (const auto& [reason, n] : h.counters.*field) {
            out << "auditdistd_" << f.name << labels(h, reason) << " " << n << "\n";
        }
    }
}

std::optional<double> time_value(const std::optional<wall_time>& t) {
    if (!t) return std::nullopt;
    return seconds_since_epoch(*t);
}

using hs = const host_status&;

void gauges(std::ostringstream& out, const std::vector<host_status>& hosts) {
    per_host(out, hosts, {"connected", "gauge", "1 when the host's connection is up"},
             [](hs h) { return h.connected ? 1.0 : 0.0; });
    per_host(out, hosts,
             {"stalled", "gauge", "1 when data waits and none was acknowledged for the max lag"},
             [](hs h) { return h.stalled ? 1.0 : 0.0; });
    per_host(out, hosts,
             {"refused", "gauge", "1 when the receiver refuses the host until an operator acts"},
             [](hs h) { return h.refused.empty() ? 0.0 : 1.0; });
    per_host(out, hosts,
             {"lagging", "gauge", "sender: 1 when the receiver lags past its max_lag_bytes"},
             [](hs h) -> std::optional<double> {
                 if (h.role != "sender") return std::nullopt;
                 return h.lagging.empty() ? 0.0 : 1.0;
             });
    per_host(out, hosts,
             {"receipt_alert", "gauge",
              "sender with ledger_key: 1 when a signed ledger head was refused or receipts cannot be kept"},
             [](hs h) -> std::optional<double> {
                 if (h.receipt.empty() && h.receipt_alert.empty()) return std::nullopt;
                 return h.receipt_alert.empty() ? 0.0 : 1.0;
             });
    per_host(out, hosts,
             {"unacked_bytes", "gauge", "sender: bytes in the dist directory not acknowledged"},
             [](hs h) -> std::optional<double> {
                 if (!h.unacked) return std::nullopt;
                 return static_cast<double>(*h.unacked);
             });
    per_host(
        out, hosts,
        {"last_data_ack_timestamp_seconds", "gauge", "when data was last acknowledged (Unix time)"},
        [](hs h) { return time_value(h.last_data_ack); });
    per_host(
        out, hosts,
        {"last_heard_timestamp_seconds", "gauge", "when the peer was last heard from (Unix time)"},
        [](hs h) { return time_value(h.last_heard); });
}

void counters(std::ostringstream& out, const std::vector<host_status>& hosts) {
    per_host(
        out, hosts,
        {"bytes_total", "counter", "bytes shipped and acknowledged (sender) or stored (receiver)"},
        [](hs h) { return static_cast<double>(h.counters.bytes); });
    per_host(out, hosts,
             {"files_total", "counter", "trails shipped whole (sender) or closed (receiver)"},
             [](hs h) { return static_cast<double>(h.counters.files); });
    per_host(out, hosts, {"connections_total", "counter", "connections that passed the handshake"},
             [](hs h) { return static_cast<double>(h.counters.connections); });
    per_host(out, hosts,
             {"missed_files_total", "counter",
              "sender, optional receiver: trails removed before it got them"},
             [](hs h) -> std::optional<double> {
                 if (h.role != "sender") return std::nullopt;
                 return static_cast<double>(h.counters.missed_files);
             });
    per_reason(out, hosts, {"handshake_failures_total", "counter", "failed handshakes by reason"},
               &host_counters::handshake_failures);
    per_reason(out, hosts, {"refusals_total", "counter", "refused requests or sessions by reason"},
               &host_counters::refusals);
    per_host(out, hosts, {"fsyncs_total", "counter", "receiver: fdatasync calls"},
             [](hs h) -> std::optional<double> {
                 if (h.role != "receiver") return std::nullopt;
                 return static_cast<double>(h.counters.fsyncs);
             });
    per_host(out, hosts, {"fsync_seconds_total", "counter", "receiver: time spent in fdatasync"},
             [](hs h) -> std::optional<double> {
                 if (h.role != "receiver") return std::nullopt;
                 return static_cast<double>(h.counters.fsync_ns) / 1e9;
             });
}

} // namespace

std::string render_status_prometheus(const std::vector<host_status>& hosts) {
    std::ostringstream out;
    gauges(out, hosts);
    counters(out, hosts);
    return out.str();
}

} // namespace adist::common
