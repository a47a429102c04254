// The auditdistd.conf(5) parser's parts, shared by config_parser.cpp (the
// grammar: sections, statements, defaults and inheritance) and
// config_values.cpp (each statement's value), and config_secrets.cpp (what
// may show a password in an error). Private to common/config*.cpp.
#pragma once

#include <array>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/config.hpp"
#include "common/config_lexer.hpp"
#include "common/config_limits.hpp"

namespace adist::common::config_detail {

// clang-format off
enum class kw : unsigned {
    none, name, pidfile, timeout, sender, receiver, host, source,
    remote, directory, fingerprint, password, listen, certfile, keyfile,
    max_files_per_minute, max_files_burst, max_host_bytes, max_clock_skew, status_group,
    include, tls_min_version, min_protocol_version, auditd_log,
    collector,
    sudo,
    optional, max_lag_bytes, // fan-out (config_fanout.cpp)
    ledger_key, receipt_file // receipts (config_receipts.cpp)
};
// clang-format on

constexpr std::array<std::string_view, 30> keyword_names = {
    "",       "name",      "pidfile",     "timeout",  "sender", "receiver", "host",   "source",
    "remote", "directory", "fingerprint", "password", "listen", "certfile", "keyfile",
    "max_files_per_minute", "max_files_burst", "max_host_bytes", "max_clock_skew",
    "status_group", "include", "tls_min_version", "min_protocol_version",
    "auditd_log", "collector",
    "sudo", "optional", "max_lag_bytes",
    "ledger_key", "receipt_file"};

class parser {
  public:
    parser(const std::vector<token>& tokens, std::string_view file, config& cfg,
           const config_bundle* bundle = nullptr)
        : tokens_(&tokens), file_(file), main_file_(file), cfg_(cfg), bundle_(bundle) {}
    std::optional<config_error> run(std::string_view default_name);
    // The tokens of the included files (for redact()).
    const std::vector<std::vector<token>>& included_tokens() const { return included_; }

  private:
    using handler = bool (parser::*)(kw, const token&);

    const token& peek() const { return (*tokens_)[pos_]; }
    bool fail(int line, std::string message);
    bool block(std::string_view section, int open_line, std::string_view what, handler h);
    bool keyword(const token& t, kw& out);
    bool not_allowed(const token& t, std::string_view section);
    const token* value(const token& key);
    bool expect_open(const token& key, std::string_view after);

    bool global_statement(kw k, const token& t);
    bool sender_statement(kw k, const token& t);
    bool sender_host_statement(kw k, const token& t);
    bool receiver_statement(kw k, const token& t);
    bool receiver_host_statement(kw k, const token& t);
    bool section(const token& key, bool& present, std::string_view name, handler h);
    bool host(const token& key, std::string& name, std::string_view section, handler h);
    bool include(const token& key, std::string_view section, handler h); // config_include.cpp
    std::string host_file() const { return file_ == main_file_ ? std::string() : file_; }
    // config_collector.cpp: the collector section, with its own keywords;
    // the sudo section (`sudo` true) takes the same socket, directory, file
    // and sync keywords.
    bool collector_section(const token& key, bool sudo = false);
    bool collector_statement(const token& t, std::uint32_t& seen, collector_config& c,
                             bool sudo);

    bool string_value(const token& key, std::string& out);
    bool path_value(const token& key, std::string& out, bool allow_none);
    bool directory_value(const token& key, std::string& out, bool absolute);
    bool bound_address_is_ip(const token& key, const endpoint_spec& spec);
    bool address_value(const token& key, endpoint_spec& out, bool allow_empty_host);
    bool password_value(const token& key, std::string& out);
    bool name_value(const token& key, std::string& out);
    bool auditd_log_value(const token& key, std::string& out);
    bool timeout_value(const token& key);
    bool max_clock_skew_value(const token& key);
    bool fingerprint_value(const token& key);
    bool limit_value(const token& key, limit_overrides& out);
    bool tls_min_version_value(const token& key, tls_version& out, int& line); // config_tls.cpp
    bool protocol_value(const token& key, std::optional<int>& out);
    bool optional_value(const token& key, bool& out);                        // config_fanout.cpp
    bool max_lag_value(const token& key, std::optional<std::uint64_t>& out); // config_fanout.cpp
    bool ledger_key_value(const token& key, sender_host& h);   // config_receipts.cpp
    bool receipt_file_value(const token& key, sender_host& h); // config_receipts.cpp

    void finish_sender();
    void finish_receiver();

    const std::vector<token>* tokens_;
    std::string file_;      // the file being parsed (an included one, or the main file)
    std::string main_file_;
    config& cfg_;
    const config_bundle* bundle_; // the included files (nullptr: include is refused)
    std::vector<std::vector<token>> included_;
    std::uint32_t* seen_ = nullptr; // keywords seen in the innermost open block
    bool in_include_ = false;
    std::size_t pos_ = 0;
    std::optional<config_error> error_;
    std::optional<endpoint_spec> sender_source_;
    std::string sender_directory_;
    std::string sender_auditd_log_;
    int sender_auditd_log_line_ = 0;
    limit_overrides section_limits_;
    // min_protocol_version of the sender and receiver sections and of each
    // host (nothing: inherited), applied at section close.
    std::optional<int> sender_min_protocol_, receiver_min_protocol_;
    std::vector<std::optional<int>> sender_host_protocol_, receiver_host_protocol_;
    std::vector<limit_overrides> host_limits_; // one per receiver host
    // max_lag_bytes of the sender section and of each sender host.
    std::optional<std::uint64_t> sender_max_lag_;
    std::vector<std::optional<std::uint64_t>> sender_host_max_lag_;
};

// One spelling per directory (see config_values.cpp); *dotdot is set when a
// ".." was seen.
std::string normalize_directory(const std::string& dir, bool* dotdot);

// Whole-config checks of fan-out (config_fanout.cpp): hosts sharing a dist
// directory need one that is not optional, and one auditd_log.
std::optional<config_error> check_fanout(const config& cfg, std::string_view file);

// Whole-config checks of receipts (config_receipts.cpp): receipt_file only
// with ledger_key, one file per host.
std::optional<config_error> check_receipts(const config& cfg, std::string_view file);
// Gives each host with a ledger_key and no receipt_file the default one.
void default_receipt_files(config& cfg);

// Whole-config checks of tls_min_version (config_tls.cpp), run by validate_config().
std::optional<config_error> check_tls_settings(const config& cfg, std::string_view file);

// Marks the tokens that may hold a password, before parsing.
void mark_sensitive(std::vector<token>& tokens);
// Withholds an error's details if they would show a password.
void redact(config_error& error, const std::vector<token>& tokens);

} // namespace adist::common::config_detail
