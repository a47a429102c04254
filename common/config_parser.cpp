// Hand-written recursive-descent parser for auditdistd.conf(5) (tokens from
// config_lexer.cpp): the grammar (sections, statements, where each keyword
// may stand), then FreeBSD's defaults and inheritance at section close,
// then validate_config(). Values are config_values.cpp's. Entry point
// parse_config(); run by the daemon and -n.
#include "common/config_parser.hpp"

#include <algorithm>
#include <utility>

namespace adist::common {
namespace config_detail {
namespace {

kw lookup(std::string_view word) {
    auto it = std::find(keyword_names.begin() + 1, keyword_names.end(), word);
    return it == keyword_names.end() ? kw::none : kw(it - keyword_names.begin());
}

std::string name_of(kw k) {
    return quoted(keyword_names[unsigned(k)]);
}

} // namespace

bool parser::fail(int line, std::string message) {
    error_ = config_error{file_, line, std::move(message)};
    return false;
}

bool parser::keyword(const token& t, kw& out) {
    if (t.kind == tok::error) return fail(t.line, t.text);
    if (t.kind == tok::open || t.kind == tok::close)
        return fail(t.line, "unexpected " + quoted(t.text));
    if (t.kind == tok::string) return fail(t.line, "expected a keyword, found a quoted string");
    out = lookup(t.text);
    if (out != kw::none) return true;
    if (t.sensitive) return fail(t.line, "unknown keyword");
    return fail(t.line, "unknown keyword " + quoted(t.text));
}

bool parser::not_allowed(const token& t, std::string_view section) {
    return fail(t.line, quoted(t.text) + " is not allowed in the " + std::string(section));
}

// One `{ ... }` body (or the whole file when open_line == 0): dispatches each
// statement to `h` and refuses a keyword given twice (listen and host repeat).
bool parser::block(std::string_view section, int open_line, std::string_view what, handler h) {
    std::uint32_t own = 0;
    // An included file's statements count with those of the block that
    // includes it (a keyword given there and in the file is given twice).
    std::uint32_t& seen = open_line == 0 && in_include_ && seen_ ? *seen_ : own;
    auto* outer = seen_;
    seen_ = &seen;
    struct restore {
        std::uint32_t*& ref;
        std::uint32_t* value;
        ~restore() { ref = value; }
    } restore_seen{seen_, outer};
    for (;;) {
        const token& t = peek();
        if (t.kind == tok::end && open_line == 0) return true;
        if (t.kind == tok::end)
            return fail(open_line, std::string(what) + " is not closed (missing \"}\")");
        if (t.kind == tok::close && open_line != 0) {
            ++pos_;
            return true;
        }
        kw k = kw::none;
        if (!keyword(t, k)) return false;
        ++pos_;
        auto bit = std::uint32_t{1} << unsigned(k);
        if (k != kw::listen && k != kw::host && k != kw::include && (seen & bit))
            return fail(t.line, name_of(k) + " is given twice in the " + std::string(section));
        seen |= bit;
        if (!(this->*h)(k, t)) return false;
    }
}

const token* parser::value(const token& key) {
    const token& t = peek();
    if (t.kind == tok::error) {
        fail(t.line, t.text);
        return nullptr;
    }
    if (t.kind != tok::word && t.kind != tok::string) {
        fail(key.line, quoted(key.text) + " needs a value");
        return nullptr;
    }
    ++pos_;
    return &t;
}

bool parser::expect_open(const token& key, std::string_view after) {
    const token& t = peek();
    if (t.kind == tok::error) return fail(t.line, t.text);
    if (t.kind != tok::open)
        return fail(t.kind == tok::end ? key.line : t.line,
                    "expected \"{\" after " + std::string(after));
    ++pos_;
    return true;
}

std::optional<config_error> parser::run(std::string_view default_name) {
    cfg_.timeout = default_timeout;
    if (!block("global section", 0, "", &parser::global_statement)) return error_;
    if (cfg_.name.empty()) cfg_.name = std::string(default_name);
    if (cfg_.pidfile.empty()) cfg_.pidfile = std::string(default_pidfile);
    if (cfg_.receiver_directory.empty())
        cfg_.receiver_directory = std::string(default_receiver_directory);
    if (cfg_.certfile.empty()) cfg_.certfile = std::string(default_certfile);
    if (cfg_.keyfile.empty()) cfg_.keyfile = std::string(default_keyfile);
    return std::nullopt;
}

bool parser::global_statement(kw k, const token& t) {
    switch (k) {
    case kw::name:
        return name_value(t, cfg_.name);
    case kw::pidfile:
        return path_value(t, cfg_.pidfile, true);
    case kw::timeout:
        return timeout_value(t);
    case kw::status_group:
        if (!string_value(t, cfg_.status_group)) return false;
        if (cfg_.status_group.empty()) return fail(t.line, "status_group is empty");
        cfg_.status_group_line = t.line;
        return true;
    case kw::sender:
        if (!section(t, cfg_.has_sender, "sender", &parser::sender_statement)) return false;
        finish_sender();
        return true;
    case kw::collector:
        return collector_section(t);
    case kw::sudo:
        return collector_section(t, true);
    case kw::receiver:
        if (!section(t, cfg_.has_receiver, "receiver", &parser::receiver_statement)) return false;
        finish_receiver();
        return true;
    case kw::include:
        return include(t, "global section", &parser::global_statement);
    default:
        return not_allowed(t, "global section");
    }
}

bool parser::section(const token& key, bool& present, std::string_view name, handler h) {
    present = true;
    if (!expect_open(key, quoted(name))) return false;
    auto what = std::string(name) + " section";
    return block(what, key.line, what, h);
}

bool parser::host(const token& key, std::string& name, std::string_view section, handler h) {
    const token* t = value(key);
    if (!t) return false;
    name = t->text;
    if (name.empty()) return fail(key.line, "host name is empty");
    if (name.size() > max_name_length) return fail(key.line, "host name is longer than 255 bytes");
    // Host names become directory names on the receiver (<directory>/<name>).
    if (name.find('/') != std::string::npos || name.find('\0') != std::string::npos)
        return fail(key.line, "host name " + quoted(name) + " must not contain \"/\" or NUL");
    if (name == "." || name == "..")
        return fail(key.line, "host name " + quoted(name) + " is not allowed");
    auto what = "host " + quoted(name);
    if (!expect_open(key, what)) return false;
    return block(section, key.line, what, h);
}

bool parser::sender_statement(kw k, const token& t) {
    switch (k) {
    case kw::source:
        return address_value(t, sender_source_.emplace(), true) &&
               bound_address_is_ip(t, *sender_source_);
    case kw::directory:
        return directory_value(t, sender_directory_, true);
    case kw::min_protocol_version:
        return protocol_value(t, sender_min_protocol_);
    case kw::auditd_log:
        sender_auditd_log_line_ = t.line;
        return auditd_log_value(t, sender_auditd_log_);
    case kw::max_lag_bytes:
        return max_lag_value(t, sender_max_lag_);
    case kw::host:
        sender_host_protocol_.emplace_back();
        sender_host_max_lag_.emplace_back();
        cfg_.senders.emplace_back().line = t.line;
        cfg_.senders.back().file = host_file();
        return host(t, cfg_.senders.back().name, "sender host section",
                    &parser::sender_host_statement);
    case kw::include:
        return include(t, "sender section", &parser::sender_statement);
    default:
        return not_allowed(t, "sender section");
    }
}

bool parser::sender_host_statement(kw k, const token& t) {
    sender_host& h = cfg_.senders.back();
    switch (k) {
    case kw::source:
        return address_value(t, h.source.emplace(), true) && bound_address_is_ip(t, *h.source);
    case kw::remote:
        return address_value(t, h.remote, false);
    case kw::directory:
        return directory_value(t, h.directory, true);
    case kw::fingerprint:
        h.fingerprint_line = t.line;
        return fingerprint_value(t);
    case kw::tls_min_version:
        return tls_min_version_value(t, h.tls_min_version, h.tls_min_version_line);
    case kw::password:
        h.password_line = t.line;
        return password_value(t, h.password);
    case kw::min_protocol_version:
        return protocol_value(t, sender_host_protocol_.back());
    case kw::name:
        return name_value(t, h.own_name);
    case kw::auditd_log:
        h.auditd_log_line = t.line;
        return auditd_log_value(t, h.auditd_log);
    case kw::optional:
        return optional_value(t, h.optional);
    case kw::max_lag_bytes:
        return max_lag_value(t, sender_host_max_lag_.back());
    case kw::ledger_key:
        return ledger_key_value(t, h);
    case kw::receipt_file:
        return receipt_file_value(t, h);
    default:
        return not_allowed(t, "sender host section");
    }
}

bool parser::receiver_statement(kw k, const token& t) {
    switch (k) {
    case kw::listen:
        return address_value(t, cfg_.listen.emplace_back(), false) &&
               bound_address_is_ip(t, cfg_.listen.back());
    case kw::directory:
        return directory_value(t, cfg_.receiver_directory, true);
    case kw::certfile:
        return path_value(t, cfg_.certfile, false);
    case kw::keyfile:
        return path_value(t, cfg_.keyfile, false);
    case kw::max_clock_skew:
        return max_clock_skew_value(t);
    case kw::min_protocol_version:
        return protocol_value(t, receiver_min_protocol_);
    case kw::max_files_per_minute:
    case kw::max_files_burst:
    case kw::max_host_bytes:
        return limit_value(t, section_limits_);
    case kw::host:
        receiver_host_protocol_.emplace_back();
        cfg_.receivers.emplace_back().line = t.line;
        cfg_.receivers.back().file = host_file();
        host_limits_.emplace_back();
        return host(t, cfg_.receivers.back().name, "receiver host section",
                    &parser::receiver_host_statement);
    case kw::include:
        return include(t, "receiver section", &parser::receiver_statement);
    default:
        return not_allowed(t, "receiver section");
    }
}

bool parser::receiver_host_statement(kw k, const token& t) {
    receiver_host& h = cfg_.receivers.back();
    switch (k) {
    case kw::remote:
        return address_value(t, h.remote, false);
    case kw::directory:
        return directory_value(t, h.directory, false); // may be relative
    case kw::password:
        h.password_line = t.line;
        return password_value(t, h.password);
    case kw::max_files_per_minute:
    case kw::max_files_burst:
    case kw::max_host_bytes:
        return limit_value(t, host_limits_.back());
    case kw::tls_min_version:
        return tls_min_version_value(t, h.tls_min_version, h.tls_min_version_line);
    case kw::min_protocol_version:
        return protocol_value(t, receiver_host_protocol_.back());
    default:
        return not_allowed(t, "receiver host section");
    }
}

// FreeBSD: sender hosts inherit the section's source and directory.
void parser::finish_sender() {
    default_receipt_files(cfg_);
    if (sender_directory_.empty()) sender_directory_ = std::string(default_sender_directory);
    for (std::size_t i = 0; i < cfg_.senders.size(); ++i) {
        auto& h = cfg_.senders[i];
        if (h.directory.empty()) h.directory = sender_directory_;
        if (!h.source) h.source = sender_source_;
        h.min_protocol_version = sender_host_protocol_[i].value_or(sender_min_protocol_.value_or(0));
        h.max_lag_bytes = sender_host_max_lag_[i].value_or(sender_max_lag_.value_or(0));
        if (h.auditd_log.empty()) {
            h.auditd_log = sender_auditd_log_;
            h.auditd_log_line = sender_auditd_log_line_;
        }
    }
}

// Done at section close (FreeBSD joins at the statement), so a base directory
// given after the hosts applies to them too.
void parser::finish_receiver() {
    if (cfg_.listen.empty()) {
        cfg_.listen.push_back(*parse_address("tls://0.0.0.0:7878", nullptr));
        cfg_.listen.push_back(*parse_address("tls://[::]:7878", nullptr));
    }
    if (cfg_.receiver_directory.empty())
        cfg_.receiver_directory = std::string(default_receiver_directory);
    cfg_.limits = apply_limits(receiver_limits{}, section_limits_);
    for (std::size_t i = 0; i < cfg_.receivers.size(); ++i) {
        cfg_.receivers[i].limits = apply_limits(cfg_.limits, host_limits_[i]);
        cfg_.receivers[i].min_protocol_version =
            receiver_host_protocol_[i].value_or(receiver_min_protocol_.value_or(0));
    }
    for (auto& h : cfg_.receivers) {
        if (h.directory.empty())
            h.directory = cfg_.receiver_directory + "/" + h.name;
        else if (h.directory.front() != '/')
            h.directory = cfg_.receiver_directory + "/" + h.directory;
    }
}

} // namespace config_detail

config_result parse_config(std::string_view text, std::string_view file,
                           std::string_view default_name) {
    return parse_config_bundle(config_bundle{std::string(file), std::string(text), {}, {}},
                               default_name);
}

config_result parse_config_bundle(const config_bundle& bundle, std::string_view default_name) {
    auto tokens = config_detail::tokenize(bundle.text);
    config_detail::mark_sensitive(tokens);
    config cfg;
    config_detail::parser p(tokens, bundle.file, cfg, &bundle);
    auto error = p.run(default_name);
    if (!error) error = validate_config(cfg, bundle.file);
    if (!error) return cfg;
    config_detail::redact(*error, tokens);
    for (const auto& included : p.included_tokens()) config_detail::redact(*error, included);
    return *error;
}

} // namespace adist::common
