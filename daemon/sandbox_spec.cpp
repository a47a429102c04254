// The worker's sandbox spec from the configuration (see sandbox_spec.hpp).
#include "daemon/sandbox_spec.hpp"
#include "proto/ledger.hpp"

#include "common/log.hpp"

#include <algorithm>
#include <boost/asio/ip/address.hpp>
#include <filesystem>

namespace adist::daemon {
namespace {

namespace fsa = privileged::fs_access;

common::sandbox_limits limits_;

// The files glibc's resolver reads for host names (nss files and dns are
// built into glibc 2.36). Missing ones are skipped.
constexpr const char* resolver_files[] = {"/etc/hosts", "/etc/resolv.conf", "/etc/nsswitch.conf",
                                          "/etc/host.conf", "/etc/gai.conf"};

bool is_name(const std::string& host) {
    boost::system::error_code ec;
    boost::asio::ip::make_address(host, ec);
    return !host.empty() && ec;
}

// The sender's rights go to the parent of its dist directory: Landlock binds
// a rule to an inode, and the sender follows a dist directory that is removed
// and made again (docs/faults.md), a new inode. When even the parent does not
// exist yet, its nearest existing ancestor.
std::string dist_rule_path(const std::string& dir, std::vector<std::string>* notes) {
    std::error_code ec;
    auto normal = std::filesystem::path(dir).lexically_normal();
    if (!normal.has_filename()) normal = normal.parent_path(); // "/var/audit/dist/"
    std::filesystem::path want = normal.parent_path();
    std::filesystem::path p = want;
    while (!std::filesystem::exists(p, ec) && p.has_relative_path()) p = p.parent_path();
    if (p != want) {
        notes->push_back("sandbox: the parent of dist directory " + dir +
                         " does not exist yet: allowing " + p.string() +
                         " instead (restart once it exists to narrow it)");
    }
    return p.string();
}

std::string parent_of(const std::string& path) {
    auto parent = std::filesystem::path(path).parent_path().string();
    return parent.empty() ? "/" : parent;
}

void add_receiver(const common::config& cfg, bool supervised, privileged::sandbox_spec& spec) {
    // Never truncate, link or remove a directory: only append and create.
    // With a supervisor the worker never renames either (the supervisor
    // does it, privileged/guard_executor): no remove_file, so it can neither rename
    // nor unlink a trail. Without one (not started as root) it renames its
    // own trails: remove_file covers the rename's source, and unlink still
    // fails with EPERM, by seccomp.
    unsigned store = fsa::read_file | fsa::write_file | fsa::read_dir | fsa::make_reg |
                     fsa::make_dir | (supervised ? 0u : fsa::remove_file);
    spec.paths.push_back({cfg.receiver_directory, store, false});
    limits_.receiver_dirs.push_back(cfg.receiver_directory);
    for (const auto& h : cfg.receivers) {
        if (common::path_within(h.directory, cfg.receiver_directory)) continue;
        spec.paths.push_back({h.directory, store, false});
        limits_.receiver_dirs.push_back(h.directory);
        // Its ledger, beside it (proto/ledger.hpp), made at the start.
        spec.paths.push_back({proto::ledger_root(h.directory), store, false});
    }
    // A reload that adds the first TLS listener reads them.
    for (const auto* f : {&cfg.certfile, &cfg.keyfile}) {
        spec.paths.push_back({*f, fsa::read_file, true});
        limits_.tls_files.push_back(*f);
    }
    spec.receiver = true;
    spec.rename_files = !supervised;
}

// The receiver's directories, when this process also receives.
std::vector<std::string> receiver_dirs(const common::config& cfg) {
    std::vector<std::string> dirs;
    if (!cfg.has_receiver) return dirs;
    dirs.push_back(cfg.receiver_directory);
    for (const auto& h : cfg.receivers) dirs.push_back(h.directory);
    return dirs;
}

// The dist directory's parent, unless that would also cover a receiver
// directory (both roles in one process, /var/audit/dist next to
// /var/audit/remote): the sender's unlink right must never reach received
// trails, so the rule goes on the dist directory itself, and a dist
// directory re-created while the daemon runs needs a restart.
std::string sender_rule_path(const common::config& cfg, const std::string& dir,
                             std::vector<std::string>* notes) {
    auto granted = dist_rule_path(dir, notes);
    for (const auto& r : receiver_dirs(cfg)) {
        if (!common::path_within(r, granted)) continue;
        notes->push_back("sandbox: " + granted + " also holds the receiver's " + r +
                         ": the sender may read and unlink only in " + dir +
                         " itself (re-creating it needs a restart)");
        return std::filesystem::path(dir).lexically_normal().string();
    }
    return granted;
}

void add_sender(const common::config& cfg, privileged::sandbox_spec& spec,
                std::vector<std::string>* notes) {
    for (const auto& h : cfg.senders) {
        // auditd_log: the parent is the log's filesystem, often auditd's own
        // directory; the rule goes on the dist directory itself.
        auto granted = h.auditd_log.empty()
                           ? sender_rule_path(cfg, h.directory, notes)
                           : std::filesystem::path(h.directory).lexically_normal().string();
        // Only a narrowed rule can name a directory that does not exist yet.
        std::error_code ec;
        bool missing = !std::filesystem::exists(granted, ec);
        // Hosts that share a dist directory (fan-out) need its rule once.
        bool known = std::find(limits_.sender_dirs.begin(), limits_.sender_dirs.end(), granted) !=
                     limits_.sender_dirs.end();
        if (!known) {
            spec.paths.push_back(
                {granted, fsa::read_file | fsa::read_dir | fsa::remove_file, missing});
            limits_.sender_dirs.push_back(granted);
        }
        spec.connect_ports.push_back(h.remote.port);
        // A DNS answer too large for UDP is asked again over TCP.
        if (is_name(h.remote.host)) spec.connect_ports.push_back(53);
    }
    std::sort(spec.connect_ports.begin(), spec.connect_ports.end());
    spec.connect_ports.erase(std::unique(spec.connect_ports.begin(), spec.connect_ports.end()),
                             spec.connect_ports.end());
    limits_.ports = spec.connect_ports;
    spec.sender = true;
    spec.remove_files = true;
}

// The collector: its directory (create, append, rename its own files, link
// them into dist) and dist; /proc (the peers' stat, status, loginuid,
// sessionid; exe only where the kernel lets us) and the user and group
// databases for names. No truncation, no removal (seccomp: unlink EPERM
// unless the sender's remove_files allows it in its own dist rule).
void add_collector(const common::config& cfg, privileged::sandbox_spec& spec) {
    if (cfg.sudo) {
        // The sudo stream's files: the same rights as the commands' files.
        spec.paths.push_back({cfg.sudo->directory, fsa::read_file | fsa::write_file |
                                                       fsa::read_dir | fsa::make_reg |
                                                       fsa::remove_file | fsa::refer,
                              false});
        spec.paths.push_back({cfg.sudo->dist,
                              fsa::read_dir | fsa::make_reg | fsa::remove_file | fsa::refer, false});
        spec.collector = true;
    }
    if (!cfg.collector) return;
    const auto& c = *cfg.collector;
    spec.paths.push_back({c.directory, fsa::read_file | fsa::write_file | fsa::read_dir |
                                           fsa::make_reg | fsa::remove_file | fsa::refer,
                          false});
    spec.paths.push_back({c.dist, fsa::read_dir | fsa::make_reg | fsa::remove_file | fsa::refer,
                          false});
    spec.paths.push_back({"/proc", fsa::read_file | fsa::read_dir, false});
    for (const char* f : {"/etc/passwd", "/etc/group"})
        spec.paths.push_back({f, fsa::read_file, true});
    spec.collector = true;
}

} // namespace

privileged::sandbox_spec worker_sandbox_spec(const daemon_options& o, const common::config& cfg,
                                         const worker_facts& facts,
                                         std::vector<std::string>* notes) {
    privileged::sandbox_spec spec;
    limits_ = {};
    if (cfg.has_receiver) add_receiver(cfg, facts.supervised, spec);
    if (cfg.has_sender) add_sender(cfg, spec, notes);
    if (cfg.collector || cfg.sudo) add_collector(cfg, spec);
    for (const char* f : resolver_files) spec.paths.push_back({f, fsa::read_file, true});
    if (!facts.supervised) {
        // Nobody else removes the pidfile and the status socket at exit, and
        // SIGHUP reads the configuration file (editors replace it, so its
        // directory).
        std::string pidfile = o.pidfile.value_or(cfg.pidfile);
        if (pidfile != "none") spec.paths.push_back({parent_of(pidfile), fsa::remove_file, false});
        if (!facts.control_socket.empty()) {
            spec.paths.push_back({parent_of(facts.control_socket), fsa::remove_file, false});
        }
        spec.paths.push_back({parent_of(o.config_path), fsa::read_file, false});
        spec.remove_files = true;
    }
    return spec;
}

std::optional<int> enter_worker_sandbox(const daemon_options& o, const common::config& cfg,
                                        const worker_facts& facts) {
    std::vector<std::string> notes;
    auto spec = worker_sandbox_spec(o, cfg, facts, &notes);
    for (const auto& n : notes) log::warning(n);
    int abi = privileged::landlock_abi(); // now: the sandbox denies the call
    std::string error, notice;
    if (int code = privileged::enter_sandbox(spec, &error, &notice); code != 0) {
        log::error(error);
        return code;
    }
    limits_.filesystem = abi >= 1;
    limits_.network = abi >= 4;
    if (!notice.empty()) log::warning(notice);
    log::info("sandbox entered: seccomp allowlist", abi >= 1 ? ", Landlock ABI " : "",
              abi >= 1 ? std::to_string(abi) : "");
    return std::nullopt;
}

const common::sandbox_limits& worker_sandbox_limits() { return limits_; }

} // namespace adist::daemon
