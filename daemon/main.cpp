// auditdistd's main: command line, config, pidfile, daemonizing, the roles
// the config asks for, the privilege drop, signals. One process, one
// io_context; see docs/architecture.md.
#include <boost/asio.hpp>
#include <boost/program_options.hpp>

#include <signal.h>
#include <sys/stat.h>
#include <charconv>
#include <cstdio>
#include <filesystem>
#include <sysexits.h>
#include <unistd.h>

#include <iostream>
#include <optional>

#include "common/config.hpp"
#include "common/daemon_util.hpp"
#include "common/log.hpp"
#include "common/status_check.hpp"
#include "daemon/log_client.hpp"
#include "daemon/sudo_extract.hpp"
#include "common/tls.hpp"
#include "daemon/collector_process.hpp"
#include "daemon/control.hpp"
#include "daemon/options.hpp"
#include "daemon/preflight.hpp"
#include "daemon/verify.hpp"
#include "proto/wire.hpp"

namespace po = boost::program_options;
namespace asio = boost::asio;
using namespace adist;

namespace {


const char* usage_text =
    "usage: auditdistd [-dFhlnV] [-c config] [-P pidfile] [-u user] [--window bytes]\n"
    "                  [--control-socket path] [--progress-interval seconds]\n"
    "                  [--repeat-interval seconds] [--protocol-version 0|1]\n"
    "       auditdistd fingerprint [certfile]\n"
    "       auditdistd verify [--key ed25519:HEX | --key-file PATH] [--receipt FILE]... HOST_DIR\n"
    "       auditdistd ledger-key [--key-file PATH]\n"
    "       auditdistd status [--json | --prometheus | --check [--max-lag seconds]]\n"
    "                  [-c config] [-P pidfile] [--control-socket path]\n"
    "       auditdistd log [-v] [-s socket] [--] TEXT...\n"
    "       auditdistd sudo-extract [-u USER] [--heartbeat SECONDS] HOST_DIR OUT_DIR\n";

po::options_description describe(daemon_options& o) {
    po::options_description d("options");
    d.add_options()
        ("config,c", po::value(&o.config_path), "configuration file")
        ("debug,d", "more verbose logging (repeatable)")
        ("foreground,F", po::bool_switch(&o.foreground), "stay in the foreground, log to stderr")
        ("help,h", "print this help")
        ("version,V", "print the version and exit")
        ("launchd,l", po::bool_switch(&o.no_daemon), "do not fork, but log to syslog")
        ("check,n", po::bool_switch(&o.check_only),
         "check the configuration and exit; with status: a Nagios check (exit 0/1/2/3)")
        ("pidfile,P", po::value<std::string>(), "pidfile (overrides the config)")
        ("user,u", po::value(&o.user), "unprivileged user for the receiver (default auditdistd)")
        ("window", po::value<std::string>(), "sender: bytes of data in flight (default 8 MiB)")
        ("control-socket", po::value<std::string>(),
         "status socket (default: the pidfile's path with .sock; \"none\": no socket)")
        ("progress-interval", po::value(&o.progress_interval),
         "sender: seconds between progress lines during a catch-up (default 60)")
        ("repeat-interval", po::value(&o.repeat_interval),
         "sender: seconds before a trail that cannot be sent, or a refusal that "
         "comes back, is logged again (default 600)")
        ("json", po::bool_switch(&o.json), "status: print JSON")
        ("prometheus", po::bool_switch(&o.prometheus), "status: print the Prometheus text format")
        ("max-lag", po::value<std::string>(),
         "status --check: seconds without progress, or disconnected, that are CRITICAL (default 600)")
        ("protocol-version", po::value(&o.max_protocol),
         "highest protocol version to offer and answer: 1 (default) or 0 (exactly FreeBSD's)")
        ("no-sync", po::bool_switch(&o.no_sync),
         "receiver: acknowledge without fdatasync (benchmarks only; loses durability)")
        ("ledger-key", po::value(&o.ledger_key),
         "receiver as root: the supervisor's ledger signing key (default /var/lib/auditdistd/ledger-key)")
        ("ledger-sign-interval", po::value(&o.ledger_sign_interval),
         "receiver as root: seconds between signatures of grown ledgers (default 60)")
        ("digest-state", po::value(&o.digest_state),
         "sender: directory of each host's SHA-256 checkpoint, so that a resume after a restart "
         "does not read the trail again (default /var/lib/auditdistd/digests; \"none\": memory only)")
        ("audit-log-state", po::value(&o.audit_log_state),
         "sender with auditd_log, as root: the directory of the supervisor's record of the "
         "generations it linked (default /var/lib/auditdistd)")
        ("receipt-interval", po::value(&o.receipt_interval),
         "sender with ledger_key: seconds between requests for the receiver's signed ledger head "
         "(default 60; also after each acknowledged CLOSE)");
    return d;
}

// More in flight than this buys nothing on any link we know of, and the
// sender keeps it in memory.
constexpr std::uint64_t max_window = 1ull << 30;

// Returns an exit code when the program should exit now.
std::optional<int> parse_options(int argc, char** argv, daemon_options& o) {
    auto desc = describe(o);
    po::options_description hidden;
    hidden.add_options()("command", po::value(&o.command)->multitoken());
    po::options_description all;
    all.add(desc).add(hidden);
    po::positional_options_description pos;
    pos.add("command", -1);
    po::variables_map vm;
    try {
        auto parsed = po::command_line_parser(argc, argv).options(all).positional(pos).run();
        // -d is counted, not stored: -dd means more than -d.
        std::erase_if(parsed.options, [&](const po::option& opt) {
            if (opt.string_key != "debug") return false;
            ++o.debug;
            return true;
        });
        po::store(parsed, vm);
        po::notify(vm);
    } catch (const po::error& e) {
        std::cerr << "auditdistd: " << e.what() << "\n" << usage_text;
        return EX_USAGE;
    }
    if (vm.count("help")) {
        std::cout << usage_text << desc;
        return 0;
    }
    if (vm.count("version")) {
        std::cout << "auditdistd " << ADIST_VERSION << " (protocol versions " << proto::protocol_version
                  << " to " << proto::max_protocol_version << ")\n";
        return 0;
    }
    // The daemon changes to "/" when it detaches, and reads the file again
    // on SIGHUP: a relative path must be taken from where we were started.
    if (!o.config_path.empty() && o.config_path.front() != '/') {
        std::error_code ec;
        auto absolute = std::filesystem::absolute(o.config_path, ec);
        if (!ec) o.config_path = absolute.lexically_normal().string();
    }
    o.config_given = vm.count("config") > 0;
    if (vm.count("pidfile")) o.pidfile = vm["pidfile"].as<std::string>();
    if (vm.count("control-socket")) o.control_socket = vm["control-socket"].as<std::string>();
    if (vm.count("max-lag")) {
        const auto& text = vm["max-lag"].as<std::string>();
        long value = 0;
        auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
        if (text.empty() || ec != std::errc() || end != text.data() + text.size() || value < 1 ||
            value > 100'000'000) {
            std::cerr << "auditdistd: --max-lag must be a number of seconds from 1 to 100000000\n";
            return EX_USAGE;
        }
        o.max_lag = value;
    }
    if (o.progress_interval < 1) {
        std::cerr << "auditdistd: --progress-interval must be at least 1\n";
        return EX_USAGE;
    }
    if (o.max_protocol < proto::protocol_version || o.max_protocol > proto::max_protocol_version) {
        std::cerr << "auditdistd: --protocol-version must be 0 or 1\n";
        return EX_USAGE;
    }
    if (o.repeat_interval < 1) {
        std::cerr << "auditdistd: --repeat-interval must be at least 1\n";
        return EX_USAGE;
    }
    if (o.receipt_interval < 1) {
        std::cerr << "auditdistd: --receipt-interval must be at least 1\n";
        return EX_USAGE;
    }
    if (o.audit_log_state.empty() || o.audit_log_state[0] != '/') {
        std::cerr << "auditdistd: --audit-log-state must be an absolute directory\n";
        return EX_USAGE;
    }
    if (o.digest_state != "none" && (o.digest_state.empty() || o.digest_state[0] != '/')) {
        std::cerr << "auditdistd: --digest-state must be an absolute directory or \"none\"\n";
        return EX_USAGE;
    }
    if (vm.count("window")) {
        // Digits only: an unsigned conversion would take "-1" as 2^64-1.
        const auto& text = vm["window"].as<std::string>();
        std::uint64_t value = 0;
        auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
        if (text.empty() || ec != std::errc() || end != text.data() + text.size() ||
            value < proto::max_payload || value > max_window) {
            std::cerr << "auditdistd: --window must be a number of bytes from " << proto::max_payload
                      << " to " << max_window << "\n";
            return EX_USAGE;
        }
        o.window = static_cast<std::size_t>(value);
    }
    return std::nullopt;
}

int print_fingerprint(const daemon_options& o) {
    if (o.command.size() > 2) {
        std::cerr << usage_text;
        return EX_USAGE;
    }
    std::string certfile(common::default_certfile);
    if (o.command.size() == 2) certfile = o.command[1];
    try {
        std::cout << proto::format_fingerprint(common::certificate_file_fingerprint(certfile)) << "\n";
        return 0;
    } catch (const std::exception& e) {
        std::cerr << "auditdistd: " << e.what() << "\n";
        return EX_NOINPUT;
    }
}

// `auditdistd status`: the socket given, else the one next to -P or the
// config's pidfile, else where the systemd unit puts it.
int print_status(const daemon_options& o) {
    int formats = int(o.json) + int(o.prometheus) + int(o.check_only);
    if (o.command.size() > 1 || formats > 1 || (o.max_lag && !o.check_only)) {
        std::cerr << (formats > 1 ? "auditdistd: --json, --prometheus and --check exclude each other\n"
                      : o.max_lag ? "auditdistd: --max-lag goes with status --check\n"
                                  : "")
                  << usage_text;
        return EX_USAGE;
    }
    auto format = o.json         ? daemon::status_format::json
                  : o.prometheus ? daemon::status_format::prometheus
                  : o.check_only ? daemon::status_format::check
                                 : daemon::status_format::text;
    std::vector<std::string> candidates;
    if (o.control_socket) {
        candidates.push_back(*o.control_socket);
    } else if (o.pidfile) {
        candidates.push_back(daemon::control_socket_for(*o.pidfile));
    } else {
        auto result = common::load_config(o.config_path);
        std::string pidfile(common::default_pidfile);
        if (auto* cfg = std::get_if<common::config>(&result)) {
            pidfile = cfg->pidfile;
        } else if (o.config_given) {
            // Asked about that configuration's daemon: never answer for another.
            auto why = std::get<common::config_error>(result).to_string();
            if (format == daemon::status_format::check) {
                std::cout << "AUDITDISTD UNKNOWN - " << why << "\n";
                return static_cast<int>(common::check_code::unknown);
            }
            std::cerr << "auditdistd: " << why << "\n";
            return EX_CONFIG;
        }
        candidates.push_back(daemon::control_socket_for(pidfile));
        candidates.push_back("/run/auditdistd/auditdistd.sock");
    }
    return daemon::run_status_client(candidates, format,
                                     o.max_lag.value_or(common::default_max_lag.count()));
}

} // namespace

int main(int argc, char** argv) {
    // `auditdistd log` runs in every shell for every command: no option
    // parsing, no configuration, 200 ms at most (daemon/log_client.cpp).
    if (argc >= 2 && std::string_view(argv[1]) == "log")
        return adist::daemon::run_log_client(argc - 2, argv + 2);
    // The collector process's own image, exec'd by the supervisor's child
    // (daemon/collector_process.hpp); not for people.
    if (argc >= 2 && std::string_view(argv[1]) == "collector-process")
        return adist::daemon::run_collector_process(argc - 2, argv + 2);
    // Unprivileged, no configuration: rebuilds sudo I/O logs (docs/sudo.md).
    if (argc >= 2 && std::string_view(argv[1]) == "sudo-extract")
        return adist::daemon::run_sudo_extract(argc - 2, argv + 2);
    // Offline tools with their own few arguments (daemon/verify.cpp).
    if (argc >= 2 && std::string_view(argv[1]) == "verify") return adist::daemon::run_verify(argc - 2, argv + 2);
    if (argc >= 2 && std::string_view(argv[1]) == "ledger-key")
        return adist::daemon::run_ledger_key(argc - 2, argv + 2);
    daemon_options o;
    if (auto code = parse_options(argc, argv, o)) return *code;
    if (!o.command.empty()) {
        if (o.command[0] == "fingerprint") return print_fingerprint(o);
        if (o.command[0] == "status") return print_status(o);
        std::cerr << "auditdistd: unknown command " << o.command[0] << "\n" << usage_text;
        return EX_USAGE;
    }
    log::init(false, o.debug);
    auto result = common::load_config(o.config_path);
    if (auto* err = std::get_if<common::config_error>(&result)) {
        std::cerr << err->to_string() << "\n";
        return EX_CONFIG;
    }
    auto& cfg = std::get<common::config>(result);
    if (o.check_only) {
        // The start's own checks (daemon/preflight.hpp): -n and a start agree.
        if (auto problem = daemon::preflight(o, cfg)) {
            std::cerr << problem->message << "\n";
            return problem->code;
        }
        for (const auto& w : common::tls_warnings(cfg, o.config_path))
            std::cerr << "warning: " << w.to_string() << "\n";
        for (const auto& line : common::fanout_summary(cfg)) std::cout << line << "\n";
        for (const auto& line : common::receipt_summary(cfg)) std::cout << line << "\n";
        std::cout << "configuration OK\n";
        return 0;
    }
    return run_daemon(o, cfg);
}
