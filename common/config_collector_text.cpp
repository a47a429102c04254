// The collector process's configuration written back as auditdistd.conf
// text (see config.hpp, collector_sections_text): what the root side hands
// the collector process at its start and on each SIGHUP, instead of the
// file, which holds the hosts' passwords.
#include "common/config.hpp"

#include <string>

namespace adist::common {

namespace {

// Values come from a parsed configuration: a string value never holds '"'
// or a control character (config_lexer.cpp), so quoting is enough.
void add(std::string& out, std::string_view key, std::string_view value) {
    out.append("    ").append(key).append(" \"").append(value).append("\"\n");
}

void add(std::string& out, std::string_view key, std::uint64_t value) {
    out.append("    ").append(key).append(" ").append(std::to_string(value)).append("\n");
}

void add_section(std::string& out, std::string_view name, const collector_config& c, bool sudo) {
    out.append(name).append(" {\n");
    add(out, "socket", c.socket);
    add(out, "directory", c.directory);
    add(out, "dist", c.dist);
    if (c.rotate == collector_rotate::size)
        out.append("    rotate size ").append(std::to_string(c.rotate_size)).append("\n");
    else
        add(out, "rotate", "daily");
    add(out, "sync_records", c.sync_records);
    add(out, "sync_interval", c.sync_interval);
    add(out, "heartbeat", c.heartbeat);
    add(out, "on_tamper", c.on_tamper == collector_tamper::abort ? "abort" : "continue");
    if (!sudo) { // the sudo section has none of these (config_collector.cpp)
        add(out, "replicate", c.replicate == collector_replicate::syslog    ? "syslog"
                              : c.replicate == collector_replicate::journal ? "journal"
                                                                            : "none");
        add(out, "rate_limit", c.rate_limit);
        add(out, "max_record_size", c.max_record_size);
    }
    add(out, "user", c.user);
    out.append("}\n");
}

} // namespace

std::string collector_sections_text(const config& cfg) {
    std::string out = "# the collector process's sections, written by auditdistd's supervisor\n";
    // The host's name is the parser's default: left to it, since a host
    // name is not checked to be one a quoted string can hold.
    if (cfg.name != short_hostname()) out.append("name \"").append(cfg.name).append("\"\n");
    if (cfg.collector) add_section(out, "collector", *cfg.collector, false);
    if (cfg.sudo) add_section(out, "sudo", *cfg.sudo, true);
    return out;
}

} // namespace adist::common
