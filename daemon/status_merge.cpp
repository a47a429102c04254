// The two status answers put together (see status_merge.hpp).
#include "daemon/status_merge.hpp"

#include "common/status_check.hpp"

#include <boost/json.hpp>
#include <cmath>

namespace adist::daemon {
namespace {

// No number that would serialize as something JSON has not (1e999 parses
// to infinity), at any depth (bounded: Boost.JSON's parser stops at 32).
bool finite_numbers(const boost::json::value& v, int depth = 0) {
    if (depth > 64) return false;
    if (v.is_double()) return std::isfinite(v.get_double());
    if (v.is_array()) {
        for (const auto& e : v.get_array())
            if (!finite_numbers(e, depth + 1)) return false;
    }
    if (v.is_object()) {
        for (const auto& kv : v.get_object())
            if (!finite_numbers(kv.value(), depth + 1)) return false;
    }
    return true;
}

std::optional<boost::json::object> parse_object(const std::string& text) {
    boost::system::error_code ec;
    auto v = boost::json::parse(text, ec);
    if (ec || !v.is_object() || !finite_numbers(v)) return std::nullopt;
    return std::move(v.as_object());
}

// CRITICAL > WARNING > UNKNOWN > OK.
int severity(common::check_code c) {
    switch (c) {
    case common::check_code::ok:
        return 0;
    case common::check_code::unknown:
        return 1;
    case common::check_code::warning:
        return 2;
    case common::check_code::critical:
        return 3;
    }
    return 1;
}

std::string render_check(common::check_code code, const std::string& text,
                         const std::string& perf) {
    std::string line = "AUDITDISTD " + std::string(common::to_string(code)) + " - " + text;
    if (!perf.empty()) line += " | " + perf;
    return "check " + std::to_string(static_cast<int>(code)) + " " + line + "\n";
}

} // namespace

// "check 0 AUDITDISTD OK - 2 hosts connected | hosts=2\n"; nullopt when it
// is not one line of that shape.
std::optional<check_answer> parse_check_answer(const std::string& answer) {
    if (answer.size() < 9 || answer.rfind("check ", 0) != 0 || answer[6] < '0' || answer[6] > '3' ||
        answer[7] != ' ' || answer.back() != '\n')
        return std::nullopt;
    std::string line = answer.substr(8, answer.size() - 9);
    if (line.find('\n') != std::string::npos) return std::nullopt;
    auto dash = line.find(" - ");
    if (dash == std::string::npos) return std::nullopt;
    check_answer a;
    a.code = static_cast<common::check_code>(answer[6] - '0');
    auto bar = line.rfind(" | ");
    if (bar != std::string::npos && bar > dash) {
        a.text = line.substr(dash + 3, bar - dash - 3);
        a.perf = line.substr(bar + 3);
    } else {
        a.text = line.substr(dash + 3);
    }
    return a;
}

std::optional<std::string>
merge_collector_json(const std::string& hosts,
                     const std::optional<std::vector<collector::stream_status>>& streams,
                     const std::string& error) {
    auto h = parse_object(hosts);
    if (!h || !h->if_contains("hosts")) return std::nullopt;
    if (streams) {
        auto rendered = boost::json::parse(collector::render_collector_json(*streams));
        (*h)["collector"] = std::move(rendered.as_object()["collector"]);
    } else {
        h->erase("collector"); // only ever ours
        (*h)["collector_error"] = error;
    }
    return boost::json::serialize(*h) + "\n";
}

std::string combine_check_answers(const std::string& hosts, const std::string& collector) {
    auto h = parse_check_answer(hosts);
    if (!h) h = check_answer{common::check_code::unknown, "unexpected answer from the daemon", ""};
    auto c = parse_check_answer(collector);
    if (!c) c = check_answer{common::check_code::unknown, "collector: unexpected answer", ""};
    if (h->code == common::check_code::unknown && h->text.rfind("no hosts configured", 0) == 0)
        return render_check(c->code, c->text, c->perf);
    auto code = severity(c->code) > severity(h->code) ? c->code : h->code;
    std::string perf = h->perf;
    if (!c->perf.empty()) perf += (perf.empty() ? "" : " ") + c->perf;
    return render_check(code, h->text + "; " + c->text, perf);
}

std::string printable_text(const std::string& text) {
    std::string out;
    out.reserve(text.size());
    for (std::size_t i = 0; i < text.size(); ++i) {
        auto u = static_cast<unsigned char>(text[i]);
        auto next = i + 1 < text.size() ? static_cast<unsigned char>(text[i + 1]) : 0;
        if (u == 0xc2 && next >= 0x80 && next <= 0x9f) { // C1, U+0080 to U+009F
            out += '?';
            ++i;
        } else if ((u < 0x20 && u != '\n' && u != '\t') || u == 0x7f) {
            out += '?';
        } else {
            out += text[i];
        }
    }
    return out;
}

} // namespace adist::daemon
