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

// C0, DEL, or C1 as UTF-8 writes it (U+0080 to U+009F).
bool has_control(std::string_view s) {
    for (std::size_t i = 0; i < s.size(); ++i) {
        auto u = static_cast<unsigned char>(s[i]);
        if (u < 0x20 || u == 0x7f) return true;
        if (u == 0xc2 && i + 1 < s.size() && static_cast<unsigned char>(s[i + 1]) >= 0x80 &&
            static_cast<unsigned char>(s[i + 1]) <= 0x9f)
            return true;
    }
    return false;
}

// A stream's name: a lowercase word ("commands", "sudo").
bool stream_name(const std::string& s) {
    return !s.empty() && s.size() <= 32 && std::all_of(s.begin(), s.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || c == '_';
    });
}

// A label value as the exposition format writes it: \\, \" and \n escaped.
std::string label_value(const std::string& v) {
    std::string out;
    for (char c : v) {
        if (c == '\\' || c == '"')
            out += {'\\', c};
        else if (c == '\n')
            out += "\\n";
        else
            out += c;
    }
    return out;
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

// One entry of the collector's list read field by field; `ok` turns false
// at the first field that is missing or not what it must be.
struct field_reader {
    const boost::json::object& o;
    bool ok = true;

    // A string (or null, when `nullable`) of at most max_status_text bytes
    // and no control character: a line break would let it print what
    // looks like another row, an escape would reach the terminal.
    void text(const char* key, std::string& into, bool nullable) {
        const auto* v = o.if_contains(key);
        if (v != nullptr && nullable && v->is_null()) return;
        if (v == nullptr || !v->is_string() || v->as_string().size() > max_status_text ||
            has_control(std::string_view(v->as_string().data(), v->as_string().size()))) {
            ok = false;
            return;
        }
        into.assign(v->as_string().data(), v->as_string().size());
    }
    void count(const char* key, std::uint64_t& into) {
        const auto* v = o.if_contains(key);
        if (v != nullptr && v->is_uint64())
            into = v->get_uint64();
        else if (v != nullptr && v->is_int64() && v->get_int64() >= 0)
            into = static_cast<std::uint64_t>(v->get_int64());
        else
            ok = false;
    }
    void time(const char* key, std::optional<wall_time>& into) {
        std::string t;
        text(key, t, true);
        if (!ok || t.empty()) return;
        into = common::parse_wall_time(t);
        if (!into) ok = false;
    }
    void flag(const char* key, bool& into) {
        const auto* v = o.if_contains(key);
        if (v == nullptr || !v->is_bool())
            ok = false;
        else
            into = v->get_bool();
    }
};

} // namespace

stream_status stream_tally::snapshot(const common::collector_config& cfg, const record_file* file,
                                     bool writing) const {
    stream_status s;
    {
        std::lock_guard lock(m_);
        s = s_;
    }
    s.socket = cfg.socket;
    s.directory = cfg.directory;
    s.writing = writing;
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
        o["last_record"] = common::time_or_null(s.last_record);
        o["last_error"] = text_or_null(s.last_error);
        o["last_error_at"] = common::time_or_null(s.last_error_at);
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
            out << f.name << "{stream=\"" << label_value(s.stream) << "\"} " << s.*(f.field)
                << "\n";
    }
    out << "# HELP auditdistd_collector_writing 1 while the stream writes its files.\n"
           "# TYPE auditdistd_collector_writing gauge\n";
    for (const auto& s : streams)
        out << "auditdistd_collector_writing{stream=\"" << label_value(s.stream) << "\"} "
            << (s.writing ? 1 : 0) << "\n";
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
    // A '|' would start the perfdata early (monitors split at the first).
    std::replace(line.begin(), line.end(), '\n', ' ');
    std::replace(line.begin(), line.end(), '|', '/');
    line += " | collector_records=" + std::to_string(records);
    return {worst, line};
}

std::string respond_collector_status(const std::string& request,
                                     const std::vector<stream_status>& streams) {
    if (request == "status json") return render_collector_json(streams);
    return "error: unknown request (the collector's socket answers \"status json\")\n";
}

std::optional<std::vector<stream_status>> parse_collector_json(const std::string& text) {
    boost::system::error_code ec;
    auto root = boost::json::parse(text, ec);
    if (ec || !root.is_object()) return std::nullopt;
    const auto* list = root.as_object().if_contains("collector");
    if (list == nullptr || !list->is_array() || list->as_array().size() > max_streams)
        return std::nullopt;
    std::vector<stream_status> out;
    for (const auto& item : list->as_array()) {
        if (!item.is_object()) return std::nullopt;
        field_reader r{item.as_object()};
        stream_status s;
        r.text("stream", s.stream, false);
        r.text("socket", s.socket, false);
        r.text("directory", s.directory, false);
        r.text("file", s.file, true);
        r.text("last_error", s.last_error, true);
        r.text("tamper_alert", s.tamper_alert, true);
        r.count("records", s.records);
        r.count("bytes", s.bytes);
        r.count("accepted", s.accepted);
        r.count("suppressed", s.suppressed);
        r.count("tampers", s.tampers);
        r.time("last_record", s.last_record);
        r.time("last_error_at", s.last_error_at);
        r.flag("writing", s.writing);
        if (!r.ok || !stream_name(s.stream)) return std::nullopt;
        out.push_back(std::move(s));
    }
    return out;
}

} // namespace adist::collector
