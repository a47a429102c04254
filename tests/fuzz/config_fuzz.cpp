// libFuzzer target for the auditdistd.conf parser (common/config_parser.cpp):
// feeds arbitrary text to parse_config() and traps when an accepted config
// breaks an invariant the daemon relies on. Seeds: tests/fuzz/corpus/config/.
#include "common/config.hpp"

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace {

using namespace adist::common;

void require(bool condition) {
    if (!condition) __builtin_trap();
}

bool absolute_dir(const std::string& dir) {
    return !dir.empty() && dir.front() == '/' && dir.back() != '/';
}

bool good_host_name(const std::string& name) {
    return !name.empty() && name.size() <= max_name_length &&
           name.find_first_of(std::string_view("/\0", 2)) == std::string::npos && name != "." &&
           name != "..";
}

bool good_password(const std::string& password) {
    return !password.empty() && password.size() <= max_name_length;
}

// An accepted address must survive a round trip through its canonical form.
void check_endpoint(const endpoint_spec& spec) {
    require(!spec.host.empty() && spec.port != 0);
    auto again = parse_address(spec.to_string(), nullptr);
    require(again.has_value());
    require(again->host == spec.host && again->port == spec.port);
    require(again->scheme == spec.scheme && again->family == spec.family);
}

void check_config(const config& cfg) {
    require(!cfg.name.empty() && cfg.name.size() <= max_name_length);
    require(cfg.timeout > 0 && cfg.timeout <= 86400);
    require(cfg.pidfile == "none" || cfg.pidfile.front() == '/');
    require(cfg.certfile.front() == '/' && cfg.keyfile.front() == '/');
    require(absolute_dir(cfg.receiver_directory));
    require(cfg.has_receiver == !cfg.listen.empty());
    require(cfg.has_sender || cfg.senders.empty());
    require(cfg.has_receiver || cfg.receivers.empty());
    for (const auto& l : cfg.listen)
        check_endpoint(l);
    for (const auto& h : cfg.senders) {
        require(good_host_name(h.name) && good_password(h.password) && h.line > 0);
        require(absolute_dir(h.directory));
        check_endpoint(h.remote);
        require(h.fingerprint.has_value() == (h.remote.scheme == scheme::tls));
    }
    for (const auto& h : cfg.receivers) {
        require(good_host_name(h.name) && good_password(h.password) && h.line > 0);
        require(absolute_dir(h.directory));
        check_endpoint(h.remote);
    }
}

// What the supervisor hands the collector process must parse back, as the
// collector process parses it (the host's name as the default), to the same
// sections (collector_sections_text).
void check_collector_text(const config& cfg) {
    if (!cfg.collector && !cfg.sudo) return;
    auto text = collector_sections_text(cfg);
    auto back = parse_config(text, "view", short_hostname());
    const auto* got = std::get_if<config>(&back);
    require(got != nullptr);
    auto same = [](std::optional<collector_config> a, std::optional<collector_config> b) {
        if (a) a->line = 0;
        if (b) b->line = 0;
        return a == b;
    };
    require(same(got->collector, cfg.collector) && same(got->sudo, cfg.sudo));
    require(got->name == cfg.name && !got->has_sender && !got->has_receiver);
    require(got->senders.empty() && got->receivers.empty());
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view text(reinterpret_cast<const char*>(data), size);
    auto result = parse_config(text, "fuzz.conf", "fuzzhost");
    if (const auto* cfg = std::get_if<config>(&result)) {
        check_config(*cfg);
        check_collector_text(*cfg);
    } else {
        const auto& error = std::get<config_error>(result);
        require(!error.message.empty() && error.line >= 0);
        require(error.to_string().rfind("fuzz.conf", 0) == 0);
    }
    return 0;
}
