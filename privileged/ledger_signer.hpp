// The root supervisor's signer of the receivers' ledgers (docs/security.md,
// "Ledger"): an Ed25519 key made at the first start in a root-only file;
// every interval, for each host whose ledger grew, it checks that the new
// entries extend the head it signed last (chain and numbering: it never
// signs a rewritten history) and appends a signed head to the heads file
// beside the ledger. The ledger and the heads file get the append-only
// attribute where the file system has it. Runs in the supervisor (root).
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "proto/ledger.hpp"
#include "proto/ledger_head.hpp"

namespace adist::privileged {

inline constexpr const char* default_ledger_key = "/var/lib/auditdistd/ledger-key";
using ledger_seed = std::array<std::uint8_t, 32>;

// Reads the key file (32 raw bytes, root's, mode 0600).
std::optional<ledger_seed> read_ledger_key(const std::string& path, std::string* error);
// Reads it, or makes a new one (its directory 0700 if missing) and writes
// the public key beside it (path + ".pub", 0644).
std::optional<ledger_seed> load_or_make_ledger_key(const std::string& path, std::string* error);

class ledger_signer {
public:
    ledger_signer(ledger_seed seed, std::vector<std::string> host_dirs, std::chrono::seconds interval)
        : seed_(seed), host_dirs_(std::move(host_dirs)), interval_(interval) {}
    // Milliseconds until the next round is due (for poll).
    int timeout_ms() const;
    // A round when due (or now, `force`: at the end).
    void tick(bool force = false);

private:
    struct signed_state {
        std::uint64_t count = 0; // entries covered by the last signed head
        proto::sha256_digest head{};
        proto::sha256_digest genesis{};
        bool refused = false; // the ledger did not extend it: said once
    };
    void sign_host(const std::string& host_dir);
    bool load_last_head(int dir_fd, signed_state& s);
    std::string extend(int ledger_fd, std::uint64_t count, signed_state& s);

    ledger_seed seed_;
    std::vector<std::string> host_dirs_;
    std::chrono::seconds interval_;
    std::chrono::steady_clock::time_point next_{};
    std::map<std::string, signed_state> state_;
};

} // namespace adist::privileged
