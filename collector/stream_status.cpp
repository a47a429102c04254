// The collector's status (see stream_status.hpp). Boost.JSON does the
// escaping: file names and errors may hold anything a directory does.
#include "collector/stream_status.hpp"

#include <algorithm>
#include <boost/json.hpp>
#include <sstream>

namespace adist::collector {
namespace {

boost::json::value text_or_null(const std::string& s) {
    if (s.empty()) return nullptr;
    return boost::json::value(s);
}

boost::json::value time_or_null(const std::optional<wall_time>& t) {
    if (!t) return nullptr;
    return boost::json::value(common::format_wall_time(*t));
}

long long age(wall_time t, wall_time now) {
    return std::max<long long>(0,
                               std::chrono::duration_cast<std::chrono::seconds>(now - t).count());
}

// What is wrong with one stream, with its code (ok: nothing).
common::check_result judge(const stream_status& s, wall_time now, std::chrono::seconds max_lag) {
    if (!s.writing)
        return {common::check_code::critical,
                "not writing" + (s.last_error.empty() ? std::string() : ": " + s.last_error)};
    if (!s.tamper_alert.empty())
        return {common::check_code::warning, "tampered with: " + s.tamper_alert};
    if (!s.last_error.empty() && s.last_error_at && age(*s.last_error_at, now) <= max_lag.count())
        return {common::check_code::warning,
                "error " + std::to_string(age(*s.last_error_at, now)) + " s ago: " + s.last_error};
    return {common::check_code::ok, ""};
}

// The rest of `request` after `prefix`; nullopt when it does not start so.
std::optional<std::string> after_prefix(const std::string& request, std::string_view prefix) {
    if (request.rfind(prefix, 0) != 0) return std::nullopt;
    return request.substr(prefix.size());
}

} // namespace

stream_status stream_tally::snapshot(const common::collector_config& cfg, const record_file* file,
                                     bool writing) const {
    stream_status s = s_;
    s.socket = cfg.socket;
    s.directory = cfg.directory;
    s.writing = writing && file != nullptr && file->is_open();
    if (file != nullptr) {
        s.file = file->file_name();
        s.records = file->records_written();
        s.bytes = file->bytes_written();
    }
    return s;
}

std::string render_collector_json(const std::vector<stream_status>& streams) {
    boost::json::array list;
    for (const auto& s : streams) {
        boost::json::object o;
        o["stream"] = s.stream;
        o["socket"] = s.socket;
        o["directory"] = s.directory;
        o["file"] = text_or_null(s.file);
        o["writing"] = s.writing;
        o["records"] = s.records;
        o["bytes"] = s.bytes;
        o["accepted"] = s.accepted;
        o["suppressed"] = s.suppressed;
        o["tampers"] = s.tampers;
        o["last_record"] = time_or_null(s.last_record);
        o["last_error"] = text_or_null(s.last_error);
        o["last_error_at"] = time_or_null(s.last_error_at);
        o["tamper_alert"] = text_or_null(s.tamper_alert);
        list.push_back(std::move(o));
    }
    boost::json::object root;
    root["collector"] = std::move(list);
    return boost::json::serialize(root) + "\n";
}

std::string render_collector_text(const std::vector<stream_status>& streams, wall_time now) {
    std::ostringstream out;
    for (const auto& s : streams) {
        bool commands = s.stream == "commands";
        out << "collector " << s.stream << " (" << s.socket
            << "): " << (s.writing ? "writing" : "NOT WRITING") << "\n";
        out << "  file:        " << (s.file.empty() ? "-" : s.directory + "/" + s.file) << "\n";
        out << "  written:     " << s.records << (s.records == 1 ? " record, " : " records, ")
            << common::format_bytes(s.bytes) << " since the start\n";
        out << "  " << (commands ? "commands:    " : "sessions:    ") << s.accepted
            << (commands ? " acknowledged" : " opened");
        if (commands) out << ", " << s.suppressed << " suppressed over the rate limit";
        out << "\n";
        out << "  last record: "
            << (s.last_record ? common::format_ago(*s.last_record, now) : std::string("-")) << "\n";
        out << "  last error:  " << (s.last_error.empty() ? std::string("-") : s.last_error);
        if (s.last_error_at) out << " at " << common::format_wall_time(*s.last_error_at);
        out << "\n";
        if (!s.tamper_alert.empty())
            out << "  TAMPERED:    " << s.tamper_alert << " (" << s.tampers
                << " alert(s) since the start)\n";
    }
    return out.str();
}

std::string render_collector_prometheus(const std::vector<stream_status>& streams) {
    struct family {
        const char* name;
        const char* type;
        const char* help;
        std::uint64_t stream_status::*field;
    };
    static const family families[] = {
        {"auditdistd_collector_records_total", "counter",
         "Records written to the stream's files since the daemon started.",
         &stream_status::records},
        {"auditdistd_collector_bytes_total", "counter",
         "Bytes written to the stream's files since the daemon started.", &stream_status::bytes},
        {"auditdistd_collector_accepted_total", "counter",
         "Commands acknowledged to their client, or sudo sessions opened.",
         &stream_status::accepted},
        {"auditdistd_collector_suppressed_total", "counter",
         "Commands refused over the per-uid rate limit.", &stream_status::suppressed},
        {"auditdistd_collector_tampers_total", "counter",
         "Tamper alerts: the open file was not what the collector wrote.", &stream_status::tampers},
    };
    std::ostringstream out;
    for (const auto& f : families) {
        out << "# HELP " << f.name << " " << f.help << "\n# TYPE " << f.name << " " << f.type
            << "\n";
        for (const auto& s : streams)
            out << f.name << "{stream=\"" << s.stream << "\"} " << s.*(f.field) << "\n";
    }
    out << "# HELP auditdistd_collector_writing 1 while the stream writes its files.\n"
           "# TYPE auditdistd_collector_writing gauge\n";
    for (const auto& s : streams)
        out << "auditdistd_collector_writing{stream=\"" << s.stream << "\"} " << (s.writing ? 1 : 0)
            << "\n";
    return out.str();
}

common::check_result decide_collector_check(const std::vector<stream_status>& streams,
                                            wall_time now, std::chrono::seconds max_lag) {
    using common::check_code;
    if (streams.empty()) return {check_code::unknown, "AUDITDISTD UNKNOWN - collector: no stream"};
    check_code worst = check_code::ok;
    std::string problems;
    std::uint64_t records = 0;
    for (const auto& s : streams) {
        records += s.records;
        auto j = judge(s, now, max_lag);
        if (j.code == check_code::ok) continue;
        worst = std::max(worst, j.code);
        problems += (problems.empty() ? "" : "; ") + s.stream + " " + j.line;
    }
    std::string line = "AUDITDISTD " + std::string(common::to_string(worst)) + " - collector: ";
    line += problems.empty() ? std::to_string(streams.size()) + " stream(s) writing" : problems;
    line += " | collector_records=" + std::to_string(records);
    std::replace(line.begin(), line.end(), '\n', ' ');
    return {worst, line};
}

std::string respond_collector_status(const std::string& request,
                                     const std::vector<stream_status>& streams, wall_time now) {
    if (request == "status json") return render_collector_json(streams);
    if (request == "status text") return render_collector_text(streams, now);
    if (request == "status prometheus") return render_collector_prometheus(streams);
    if (auto lag_text = after_prefix(request, "status check ")) {
        auto lag = common::parse_max_lag(*lag_text);
        if (!lag) return "error: bad max lag\n";
        auto r = decide_collector_check(streams, now, std::chrono::seconds(*lag));
        return "check " + std::to_string(static_cast<int>(r.code)) + " " + r.line + "\n";
    }
    return "error: unknown request\n";
}

} // namespace adist::collector
