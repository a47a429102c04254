// Status rendering (see status.hpp). Boost.JSON, header-only, does the
// escaping: host names and errors come from configs and peers.
#include "common/status.hpp"

#include <boost/json.hpp>
#include <boost/json/src.hpp>

#include <ctime>
#include <sstream>

namespace adist::common {

std::string format_wall_time(wall_time t) {
    std::time_t secs = std::chrono::system_clock::to_time_t(t);
    std::tm tm{};
    ::gmtime_r(&secs, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buf;
}

std::optional<wall_time> parse_wall_time(std::string_view text) {
    // YYYY-MM-DDThh:mm:ssZ, digits where the form has them.
    static constexpr std::string_view form = "dddd-dd-ddTdd:dd:ddZ";
    if (text.size() != form.size()) return std::nullopt;
    for (std::size_t i = 0; i < form.size(); ++i) {
        bool digit = text[i] >= '0' && text[i] <= '9';
        if (form[i] == 'd' ? !digit : text[i] != form[i]) return std::nullopt;
    }
    auto num = [&](std::size_t at, std::size_t n) {
        int v = 0;
        for (std::size_t i = at; i < at + n; ++i)
            v = v * 10 + (text[i] - '0');
        return v;
    };
    std::tm tm{};
    tm.tm_year = num(0, 4) - 1900;
    tm.tm_mon = num(5, 2) - 1;
    tm.tm_mday = num(8, 2);
    tm.tm_hour = num(11, 2);
    tm.tm_min = num(14, 2);
    tm.tm_sec = num(17, 2);
    // 1970 to 2200: within what system_clock counts in nanoseconds.
    if (tm.tm_year < 70 || tm.tm_year > 300 || tm.tm_mon > 11 || tm.tm_mday < 1 ||
        tm.tm_mday > 31 || tm.tm_hour > 23 || tm.tm_min > 59 || tm.tm_sec > 60)
        return std::nullopt;
    std::time_t t = ::timegm(&tm);
    if (t == static_cast<std::time_t>(-1)) return std::nullopt;
    auto back = std::chrono::system_clock::from_time_t(t);
    if (format_wall_time(back) != text) return std::nullopt; // 31 February and the like
    return back;
}

std::string format_bytes(std::uint64_t n) {
    const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    if (n < 1024) return std::to_string(n) + " B";
    double v = static_cast<double>(n);
    int u = 0;
    while (v >= 1024 && u < 4) {
        v /= 1024;
        ++u;
    }
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.1f %s", v, units[u]);
    return buf;
}

std::string format_ago(wall_time t, wall_time now) {
    auto s = std::chrono::duration_cast<std::chrono::seconds>(now - t).count();
    if (s < 0) s = 0;
    std::ostringstream out;
    out << format_wall_time(t) << " (";
    if (s < 120) {
        out << s << " s";
    } else if (s < 7200) {
        out << s / 60 << " min";
    } else {
        out << s / 3600 << " h";
    }
    out << " ago)";
    return out.str();
}

boost::json::value time_or_null(const std::optional<wall_time>& t) {
    if (!t) return nullptr;
    return boost::json::value(format_wall_time(*t));
}

namespace {

boost::json::object by_reason(const std::map<std::string, std::uint64_t>& m) {
    boost::json::object o;
    for (const auto& [reason, n] : m) o[reason] = n;
    return o;
}

boost::json::object counters_json(const host_counters& c) {
    boost::json::object o;
    o["bytes"] = c.bytes;
    o["files"] = c.files;
    o["connections"] = c.connections;
    o["handshake_failures"] = by_reason(c.handshake_failures);
    o["refusals"] = by_reason(c.refusals);
    o["fsyncs"] = c.fsyncs;
    o["fsync_seconds"] = static_cast<double>(c.fsync_ns) / 1e9;
    o["missed_files"] = c.missed_files;
    return o;
}

} // namespace

std::string render_status_json(const std::vector<host_status>& hosts) {
    boost::json::array list;
    for (const auto& h : hosts) {
        boost::json::object o;
        o["role"] = h.role;
        o["host"] = h.host;
        o["remote"] = h.remote;
        o["connected"] = h.connected;
        o["since"] = time_or_null(h.since);
        o["file"] = h.file.empty() ? boost::json::value(nullptr) : boost::json::value(h.file);
        o["offset"] = h.offset;
        o["unacked_bytes"] = h.unacked ? boost::json::value(*h.unacked) : boost::json::value(nullptr);
        o["last_ack"] = time_or_null(h.last_data_ack); // alias, kept for older monitors
        o["last_data_ack"] = time_or_null(h.last_data_ack);
        o["last_heard"] = time_or_null(h.last_heard);
        o["waiting_since"] = time_or_null(h.waiting_since);
        o["last_error"] = h.last_error.empty() ? boost::json::value(nullptr)
                                                : boost::json::value(h.last_error);
        o["last_error_at"] = time_or_null(h.last_error_at);
        o["refused"] =
            h.refused.empty() ? boost::json::value(nullptr) : boost::json::value(h.refused);
        o["stalled"] = h.stalled;
        o["lagging"] =
            h.lagging.empty() ? boost::json::value(nullptr) : boost::json::value(h.lagging);
        o["receipt"] =
            h.receipt.empty() ? boost::json::value(nullptr) : boost::json::value(h.receipt);
        o["receipt_alert"] = h.receipt_alert.empty() ? boost::json::value(nullptr)
                                                     : boost::json::value(h.receipt_alert);
        o["counters"] = counters_json(h.counters);
        list.push_back(std::move(o));
    }
    boost::json::object root;
    root["hosts"] = std::move(list);
    return boost::json::serialize(root) + "\n";
}

std::string render_status_text(const std::vector<host_status>& hosts, wall_time now) {
    std::ostringstream out;
    if (hosts.empty()) out << "no hosts configured\n";
    for (const auto& h : hosts) {
        out << h.role << " " << h.host << " (" << h.remote << "): "
            << (h.connected ? "connected" : "not connected");
        if (h.since) out << " since " << format_ago(*h.since, now);
        out << "\n";
        out << "  file:        " << (h.file.empty() ? "-" : h.file);
        if (!h.file.empty()) out << " at offset " << h.offset;
        out << "\n";
        if (h.unacked) out << "  unacked:     " << format_bytes(*h.unacked) << "\n";
        out << "  data acked:  "
            << (h.last_data_ack ? format_ago(*h.last_data_ack, now) : std::string("-")) << "\n";
        out << "  last heard:  "
            << (h.last_heard ? format_ago(*h.last_heard, now) : std::string("-")) << "\n";
        out << "  last error:  " << (h.last_error.empty() ? std::string("-") : h.last_error);
        if (h.last_error_at) out << " at " << format_wall_time(*h.last_error_at);
        out << "\n";
        if (!h.refused.empty()) out << "  REFUSED:     " << h.refused << "\n";
        if (h.stalled) out << "  STALLED:     data waiting and none acknowledged for too long\n";
        if (!h.lagging.empty()) out << "  LAGGING:     " << h.lagging << "\n";
        if (!h.receipt.empty()) out << "  receipt:     " << h.receipt << "\n";
        if (!h.receipt_alert.empty()) out << "  RECEIPT:     " << h.receipt_alert << "\n";
        if (h.counters.missed_files != 0) {
            out << "  missed:      " << h.counters.missed_files
                << " trail(s) removed before this optional receiver got them\n";
        }
    }
    return out.str();
}

} // namespace adist::common
