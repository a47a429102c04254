// libFuzzer target: `auditdistd status` putting the worker's and the
// collector process's answers together (daemon/status_merge), where the
// collector's answer is untrusted. The input is split in two at its first
// byte. Whatever the collector answers: a merged JSON is one JSON object
// with both lists; a combined check is one well-formed check line, never OK
// unless both answers said OK (or the worker had no hosts and the
// collector said OK); the Prometheus lines kept are the collector's own
// families only; printable text has no control characters.
#include "daemon/status_merge.hpp"

#include <boost/json.hpp>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

using namespace adist::daemon;

namespace {
bool well_formed_check(const std::string& a) {
    return a.size() >= 9 && a.rfind("check ", 0) == 0 && a[6] >= '0' && a[6] <= '3' &&
           a[7] == ' ' && a.back() == '\n' && a.find('\n') == a.size() - 1;
}
} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) return 0;
    std::size_t cut = std::min<std::size_t>(data[0], size - 1);
    std::string hosts(reinterpret_cast<const char*>(data) + 1, cut);
    std::string collector(reinterpret_cast<const char*>(data) + 1 + cut, size - 1 - cut);

    if (auto merged = merge_status_json(hosts, collector)) {
        auto v = boost::json::parse(*merged);
        if (!v.is_object() || !v.as_object().contains("hosts") ||
            !v.as_object().at("collector").is_array())
            std::abort();
    }

    const std::string ok_hosts =
        "check 0 AUDITDISTD OK - 1 hosts connected and shipping | hosts=1\n";
    for (const std::string& h : {ok_hosts, hosts}) {
        auto combined = combine_check_answers(h, collector);
        if (!well_formed_check(combined)) std::abort();
        bool collector_ok = well_formed_check(collector) && collector[6] == '0';
        bool hosts_ok = well_formed_check(h) && (h[6] == '0' || h[6] == '3');
        if (combined[6] == '0' && !(collector_ok && hosts_ok)) std::abort();
    }

    auto kept = collector_prometheus_lines(collector);
    std::size_t start = 0;
    while (start < kept.size()) {
        auto end = kept.find('\n', start);
        if (end == std::string::npos) std::abort(); // every line ends
        std::string line = kept.substr(start, end - start);
        if (line.rfind("# HELP auditdistd_collector_", 0) != 0 &&
            line.rfind("# TYPE auditdistd_collector_", 0) != 0 &&
            line.rfind("auditdistd_collector_", 0) != 0)
            std::abort();
        start = end + 1;
    }

    for (unsigned char c : printable_text(collector))
        if ((c < 0x20 && c != '\n' && c != '\t') || c == 0x7f) std::abort();
    return 0;
}
