// libFuzzer target: what `auditdistd status` does with the daemon's
// answers, the collector process's untrusted above all
// (collector::parse_collector_json, daemon/status_merge). The input is
// split in two at its first byte: the worker's answer and the collector's.
// What the collector's answer yields renders back to JSON that parses to
// the same; a merged JSON is one object with the hosts and the collector;
// a combined check is one well-formed line, never OK unless both answers
// said so (or the worker had no hosts); printable text has no control
// characters.
#include "collector/stream_status.hpp"
#include "daemon/status_merge.hpp"

#include <boost/json.hpp>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

using namespace adist;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) return 0;
    std::size_t cut = std::min<std::size_t>(data[0], size - 1);
    std::string hosts(reinterpret_cast<const char*>(data) + 1, cut);
    std::string collector(reinterpret_cast<const char*>(data) + 1 + cut, size - 1 - cut);

    auto streams = collector::parse_collector_json(collector);
    if (streams) {
        auto again = collector::parse_collector_json(collector::render_collector_json(*streams));
        if (!again ||
            collector::render_collector_json(*again) != collector::render_collector_json(*streams))
            std::abort();
        // No string of theirs carries a control character (no row of its
        // own in the text, no escape); the Prometheus text has no ESC.
        for (const auto& st : *streams)
            for (const std::string* f : {&st.stream, &st.socket, &st.directory, &st.file,
                                         &st.last_error, &st.tamper_alert})
                for (unsigned char c : *f)
                    if (c < 0x20 || c == 0x7f) std::abort();
        for (unsigned char c : collector::render_collector_prometheus(*streams))
            if (c == 0x1b || c == '\r') std::abort();
        auto text = daemon::printable_text(
            collector::render_collector_text(*streams, std::chrono::system_clock::now()));
        for (unsigned char c : text)
            if ((c < 0x20 && c != '\n' && c != '\t') || c == 0x7f) std::abort();
    }
    if (auto merged = daemon::merge_collector_json(hosts, streams, "error")) {
        auto v = boost::json::parse(*merged);
        if (!v.as_object().contains("hosts") ||
            !(v.as_object().contains("collector") || v.as_object().contains("collector_error")))
            std::abort();
    }

    const std::string ok_hosts =
        "check 0 AUDITDISTD OK - 1 hosts connected and shipping | hosts=1\n";
    for (const std::string& h : {ok_hosts, hosts}) {
        auto combined = daemon::combine_check_answers(h, collector);
        auto parsed = daemon::parse_check_answer(combined);
        if (!parsed) std::abort();
        auto c = daemon::parse_check_answer(collector);
        auto w = daemon::parse_check_answer(h);
        bool collector_ok = c && c->code == common::check_code::ok;
        bool hosts_ok =
            w && (w->code == common::check_code::ok || w->code == common::check_code::unknown);
        if (parsed->code == common::check_code::ok && !(collector_ok && hosts_ok)) std::abort();
    }

    auto p = daemon::printable_text(collector);
    for (std::size_t j = 0; j < p.size(); ++j) {
        auto u = static_cast<unsigned char>(p[j]);
        if ((u < 0x20 && u != '\n' && u != '\t') || u == 0x7f) std::abort();
        if (u == 0xc2 && j + 1 < p.size() && static_cast<unsigned char>(p[j + 1]) >= 0x80 &&
            static_cast<unsigned char>(p[j + 1]) <= 0x9f)
            std::abort();
    }
    return 0;
}
