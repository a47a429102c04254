// Command-line options of the daemon, parsed in main.cpp, used by run.cpp.
#pragma once

#include <cstddef>
#include <sys/types.h>
#include <optional>
#include <string>
#include <vector>

#include "common/config.hpp"

struct daemon_options {
    std::string config_path{adist::common::default_config_path};
    bool config_given = false; // -c on the command line
    std::optional<std::string> pidfile;
    std::string user = "auditdistd";
    int debug = 0;
    bool foreground = false;
    bool no_daemon = false;
    bool check_only = false;
    bool no_sync = false;
    std::size_t window = 8 * 1024 * 1024;
    std::optional<std::string> control_socket; // default: next to the pidfile
    bool json = false;                         // `status --json`
    bool prometheus = false;                   // `status --prometheus`
    std::optional<long> max_lag;               // `status --check --max-lag SECONDS`
    int progress_interval = 60;                // seconds between catch-up progress lines
    int repeat_interval = 600;                 // seconds before a lasting sender error is logged again
    int max_protocol = 1;                      // --protocol-version: highest offered and answered
    std::string ledger_key = "/var/lib/auditdistd/ledger-key"; // --ledger-key (root supervisor)
    int ledger_sign_interval = 60;                              // --ledger-sign-interval seconds
    std::string digest_state = "/var/lib/auditdistd/digests"; // --digest-state (sender, version 1)
    std::string audit_log_state = "/var/lib/auditdistd";        // --audit-log-state (auditd_log, root)
    int receipt_interval = 60;                                  // --receipt-interval seconds (sender)
    std::vector<std::string> command;
    // Set by run_daemon, not an option: the collector process's uid when it
    // runs as a user of its own (0: it does not), whose files the sender
    // ships from the collector's dist directories.
    uid_t collector_uid = 0;
};

int run_daemon(const daemon_options& o, const adist::common::config& cfg);
