// The `collector { }` section of auditdistd.conf(5) (config_collector.hpp):
// its own keywords, each value checked at its line, defaults at section
// close. Part of the parser class of config_parser.hpp; run by parse_config.
#include "common/config_parser.hpp"

#include <algorithm>
#include <array>

namespace adist::common::config_detail {
namespace {

// clang-format off
enum class ckw : unsigned {
    none, socket, directory, dist, rotate, sync_records, sync_interval, heartbeat,
    on_tamper, replicate, rate_limit, max_record_size, user
};
constexpr std::array<std::string_view, 13> collector_keywords = {
    "", "socket", "directory", "dist", "rotate", "sync_records", "sync_interval", "heartbeat",
    "on_tamper", "replicate", "rate_limit", "max_record_size", "user"};
// clang-format on

ckw lookup(std::string_view word) {
    auto it = std::find(collector_keywords.begin() + 1, collector_keywords.end(), word);
    return it == collector_keywords.end() ? ckw::none : ckw(it - collector_keywords.begin());
}

} // namespace

bool parser::collector_section(const token& key, bool sudo) {
    auto& slot = sudo ? cfg_.sudo : cfg_.collector;
    std::string name = sudo ? "sudo" : "collector";
    if (slot) return fail(key.line, "\"" + name + "\" is given twice");
    auto& c = slot.emplace();
    c.line = key.line;
    if (sudo) {
        c.socket = std::string(default_sudo_socket);
        c.directory = std::string(default_sudo_directory);
    }
    if (!expect_open(key, "\"" + name + "\"")) return false;
    std::uint32_t seen = 0;
    bool dist_given = false;
    for (;;) {
        const token& t = peek();
        if (t.kind == tok::end)
            return fail(key.line, name + " section is not closed (missing \"}\")");
        if (t.kind == tok::close) {
            ++pos_;
            break;
        }
        if (lookup(t.text) == ckw::dist) dist_given = true;
        if (!collector_statement(t, seen, c, sudo)) return false;
    }
    if (!dist_given) c.dist = c.directory + "/dist";
    if (c.dist == c.directory)
        return fail(key.line, name + ": dist must be another directory than directory");
    if (cfg_.sudo && cfg_.collector && (cfg_.sudo->socket == cfg_.collector->socket ||
                                        cfg_.sudo->directory == cfg_.collector->directory))
        return fail(key.line, "sudo: socket and directory must differ from the collector's");
    // One collector process serves both sections, as one user.
    if (cfg_.sudo && cfg_.collector && cfg_.sudo->user != cfg_.collector->user)
        return fail(key.line, name + ": user must be the same in the collector and sudo sections "
                                     "(one process serves both)");
    return true;
}

bool parser::collector_statement(const token& t, std::uint32_t& seen, collector_config& c,
                                 bool sudo) {
    std::string section = sudo ? "the sudo section" : "the collector section";
    if (t.kind == tok::error) return fail(t.line, t.text);
    if (t.kind != tok::word) return fail(t.line, "expected a keyword of " + section);
    ckw k = lookup(t.text);
    // Sessions are not rate limited or cut, nor copied to syslog.
    if (k == ckw::none ||
        (sudo && (k == ckw::rate_limit || k == ckw::max_record_size || k == ckw::replicate)))
        return fail(t.line, quoted(t.text) + " is not allowed in " + section);
    ++pos_;
    auto bit = std::uint32_t{1} << unsigned(k);
    if (seen & bit) return fail(t.line, quoted(t.text) + " is given twice in " + section);
    seen |= bit;
    std::string v;
    auto number = [&](unsigned& out, std::uint64_t lo, std::uint64_t hi, std::string_view unit) {
        if (!string_value(t, v)) return false;
        auto n = parse_size(v);
        if (!n || *n < lo || *n > hi || v.find_first_not_of("0123456789") != std::string::npos)
            return fail(t.line, t.text + " must be a number of " + std::string(unit) + " from " +
                                    std::to_string(lo) + " to " + std::to_string(hi));
        out = unsigned(*n);
        return true;
    };
    switch (k) {
    case ckw::socket:
        return path_value(t, c.socket, false);
    case ckw::directory:
        return directory_value(t, c.directory, true);
    case ckw::dist:
        return directory_value(t, c.dist, true);
    case ckw::rotate:
        if (!string_value(t, v)) return false;
        if (v == "daily") {
            c.rotate = collector_rotate::daily;
            return true;
        }
        if (v == "size") {
            std::string n;
            if (!string_value(t, n)) return false;
            auto size = parse_size(n);
            if (!size || *size < 4096 || *size > (std::uint64_t{1} << 40))
                return fail(
                    t.line,
                    "rotate size must be from 4096 bytes to 1T (a number with K, M, G or T)");
            c.rotate = collector_rotate::size;
            c.rotate_size = *size;
            return true;
        }
        return fail(t.line, "rotate must be \"daily\" or \"size N\"");
    case ckw::sync_records:
        return number(c.sync_records, 1, 1000000, "records");
    case ckw::sync_interval:
        return number(c.sync_interval, 1, 3600, "seconds");
    case ckw::heartbeat:
        return number(c.heartbeat, 1, 604800, "seconds");
    case ckw::rate_limit:
        return number(c.rate_limit, 0, 1000000, "records per uid per second");
    case ckw::max_record_size:
        return number(c.max_record_size, 256, 1048576, "bytes");
    case ckw::on_tamper:
        if (!string_value(t, v)) return false;
        if (v == "continue")
            c.on_tamper = collector_tamper::continue_new_file;
        else if (v == "abort")
            c.on_tamper = collector_tamper::abort;
        else
            return fail(t.line, "on_tamper must be \"continue\" or \"abort\"");
        return true;
    case ckw::replicate:
        if (!string_value(t, v)) return false;
        if (v == "none")
            c.replicate = collector_replicate::none;
        else if (v == "syslog")
            c.replicate = collector_replicate::syslog;
        else if (v == "journal")
            c.replicate = collector_replicate::journal;
        else
            return fail(t.line, "replicate must be \"none\", \"syslog\" or \"journal\"");
        return true;
    case ckw::user:
        if (!string_value(t, c.user)) return false;
        if (c.user.empty() || c.user.size() > 32 || c.user.find_first_of("/: \t\n") != std::string::npos)
            return fail(t.line, "user must be a user name (at most 32 bytes, no '/', ':' or blank)");
        return true;
    case ckw::none:
        break;
    }
    return false;
}

} // namespace adist::common::config_detail
