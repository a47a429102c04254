// sudo's I/O log files and the gap decider of `auditdistd sudo-extract`
// (sudo_iolog.hpp). Pure. The layout follows what sudoers writes and
// sudoreplay reads (sudoers(5), "I/O LOG FILES"); the code is ours.
#include "daemon/sudo_iolog.hpp"

#include "collector/record.hpp"

#include <charconv>
#include <cstdio>
#include <sstream>

namespace adist::daemon {
namespace {

constexpr std::array<std::string_view, 5> stream_names = {"stdin", "stdout", "stderr", "ttyin",
                                                          "ttyout"};

void json_string(std::string& out, std::string_view key, std::string_view value, bool comma = true) {
    out += comma ? ",\n    \"" : "\n    \"";
    out += key;
    out += "\": ";
    collector::append_json_string(out, value);
}

void json_number(std::string& out, std::string_view key, std::string_view digits) {
    if (digits.empty() || digits.find_first_not_of("0123456789") != std::string_view::npos)
        return; // a value that is not a number is left out
    out += ",\n    \"";
    out += key;
    out += "\": ";
    out += digits;
}

void json_list(std::string& out, std::string_view key, const std::vector<std::string>& list) {
    out += ",\n    \"";
    out += key;
    out += "\": [";
    for (std::size_t i = 0; i < list.size(); ++i) {
        out += i == 0 ? "\n        " : ",\n        ";
        collector::append_json_string(out, list[i]);
    }
    out += "\n    ]";
}

// A field of the legacy log's first line: its separators and newlines out.
std::string field(std::string s) {
    for (char& c : s)
        if (c == ':' || c == '\n') c = '_';
    return s;
}

std::string one_line(std::string s) {
    for (char& c : s)
        if (c == '\n') c = ' ';
    return s;
}

} // namespace

std::string info_value(const std::vector<std::string>& list, std::string_view key) {
    for (const auto& kv : list)
        if (kv.size() > key.size() && kv.starts_with(key) && kv[key.size()] == '=')
            return kv.substr(key.size() + 1);
    return "";
}

std::string iolog_log_text(const iolog_info& i) {
    std::string cmd = info_value(i.command_info, "command");
    for (std::size_t a = 1; a < i.argv.size(); ++a)
        cmd += " " + i.argv[a];
    std::string out = std::to_string(i.start_sec) + ":" + field(info_value(i.user_info, "user")) +
                      ":" + field(i.runas_user.value_or(info_value(i.command_info, "runas_uid"))) +
                      ":" + field(i.runas_group.value_or("")) + ":" +
                      field(info_value(i.user_info, "tty")) + ":" +
                      field(info_value(i.user_info, "lines")) + ":" +
                      field(info_value(i.user_info, "cols")) + "\n";
    return out + one_line(info_value(i.user_info, "cwd")) + "\n" + one_line(cmd) + "\n";
}

std::string iolog_log_json(const iolog_info& i) {
    std::string out = "{\n    \"timestamp\": {\n        \"seconds\": " +
                      std::to_string(i.start_sec) +
                      ",\n        \"nanoseconds\": " + std::to_string(i.start_nsec) + "\n    }";
    json_string(out, "submituser", info_value(i.user_info, "user"));
    json_string(out, "command", info_value(i.command_info, "command"));
    json_string(out, "runuser", i.runas_user.value_or(info_value(i.command_info, "runas_uid")));
    if (i.runas_group) json_string(out, "rungroup", *i.runas_group);
    std::string tty = info_value(i.user_info, "tty");
    if (!tty.empty()) json_string(out, "ttyname", tty);
    json_string(out, "submithost", info_value(i.user_info, "host"));
    json_string(out, "submitcwd", info_value(i.user_info, "cwd"));
    std::string runcwd = info_value(i.command_info, "cwd");
    if (!runcwd.empty()) json_string(out, "runcwd", runcwd);
    std::string iolog = info_value(i.command_info, "iolog_path");
    if (!iolog.empty()) json_string(out, "sudoers_iolog_path", iolog);
    json_number(out, "runuid", info_value(i.command_info, "runas_uid"));
    json_number(out, "rungid", info_value(i.command_info, "runas_gid"));
    json_number(out, "columns", info_value(i.user_info, "cols"));
    json_number(out, "lines", info_value(i.user_info, "lines"));
    json_list(out, "runargv", i.argv);
    json_list(out, "runenv", i.env);
    return out + "\n}\n";
}

std::optional<iolog_event> stream_event(std::string_view stream) {
    int n = stream_number(stream);
    if (n < 0) return std::nullopt;
    return iolog_event(n); // the stream numbers are sudo's event numbers
}

std::string timing_line(iolog_event e, std::uint64_t delay_ns, std::string_view extra) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%d %llu.%09llu ", int(e),
                  static_cast<unsigned long long>(delay_ns / 1000000000u),
                  static_cast<unsigned long long>(delay_ns % 1000000000u));
    return std::string(buf) + std::string(extra) + "\n";
}

int stream_number(std::string_view stream) {
    for (std::size_t i = 0; i < stream_names.size(); ++i)
        if (stream_names[i] == stream) return int(i);
    return -1;
}

std::vector<std::string> record_gaps(const extract_state& s, const extract_record& r,
                                     std::int64_t heartbeat_s) {
    std::vector<std::string> gaps;
    std::uint64_t expected = r.type == "header" ? r.first_seq : r.seq;
    if (s.next_seq && expected != *s.next_seq)
        gaps.push_back("record sequence jumps from " + std::to_string(*s.next_seq) + " to " +
                       std::to_string(expected));
    if (s.last_time_ns > 0 && r.time_ns - s.last_time_ns > 2 * heartbeat_s * 1000000000)
        gaps.push_back("no record (heartbeat missing) for " +
                       std::to_string((r.time_ns - s.last_time_ns) / 1000000000) + " s before seq " +
                       std::to_string(r.seq));
    if (r.session.empty() || r.type == "open") return gaps;
    auto it = s.sessions.find(r.session);
    if (it == s.sessions.end()) {
        gaps.push_back("session " + r.session + ": a " + r.type + " record of a session whose open was not seen");
        return gaps;
    }
    if (r.sseq != it->second.next_sseq)
        gaps.push_back("session " + r.session + ": sequence jumps from " +
                       std::to_string(it->second.next_sseq) + " to " + std::to_string(r.sseq));
    int n = stream_number(r.stream);
    if (r.type == "io" && n >= 0 && r.offset != it->second.offsets[std::size_t(n)])
        gaps.push_back("session " + r.session + ": " + r.stream + " offset " +
                       std::to_string(r.offset) + " does not follow " +
                       std::to_string(it->second.offsets[std::size_t(n)]));
    return gaps;
}

std::string state_text(const extract_state& s) {
    std::string out = "adist-sudo-extract 1\n";
    out += "file " + (s.file_start.empty() ? std::string("-") : s.file_start) + " " +
           std::to_string(s.file_offset) + "\n";
    out += "seq " + (s.next_seq ? std::to_string(*s.next_seq) : std::string("-")) + "\n";
    out += "time " + std::to_string(s.last_time_ns) + "\n";
    for (const auto& [id, x] : s.sessions) {
        out += "session " + id + " " + std::to_string(x.next_sseq) + " " +
               std::to_string(x.last_elapsed);
        for (auto o : x.offsets)
            out += " " + std::to_string(o);
        out += "\n";
    }
    return out;
}

std::optional<extract_state> parse_state(std::string_view text) {
    std::istringstream in{std::string(text)};
    std::string magic, version, word, file, seq;
    extract_state s;
    if (!(in >> magic >> version) || magic != "adist-sudo-extract" || version != "1")
        return std::nullopt;
    if (!(in >> word >> file >> s.file_offset) || word != "file") return std::nullopt;
    if (file != "-") s.file_start = file;
    if (!(in >> word >> seq) || word != "seq") return std::nullopt;
    if (seq != "-") {
        std::uint64_t v = 0;
        auto [p, ec] = std::from_chars(seq.data(), seq.data() + seq.size(), v);
        if (ec != std::errc() || p != seq.data() + seq.size()) return std::nullopt;
        s.next_seq = v;
    }
    if (!(in >> word >> s.last_time_ns) || word != "time") return std::nullopt;
    while (in >> word) {
        std::string id;
        extract_session x;
        if (word != "session" || !(in >> id >> x.next_sseq >> x.last_elapsed)) return std::nullopt;
        for (auto& o : x.offsets)
            if (!(in >> o)) return std::nullopt;
        s.sessions[id] = x;
    }
    return s;
}

} // namespace adist::daemon
