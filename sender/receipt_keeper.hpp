// The receipts of one sender host (docs/protocol.md, "Receipts"): the
// receiver's ledger public key (`ledger_key`), the file of signed heads kept
// (`receipt_file`, 152-byte records as in the receiver's heads file, so
// `auditdistd verify --receipt` reads it unchanged), the newest receipt, and
// what `status` shows. The file is opened (made, with its directory) by the
// sender role before the privilege drop and only appended to through that
// descriptor; the worker never opens it by name. Kept across connections and
// reloads by the sender role.
#pragma once

#include <optional>
#include <string>

#include "common/fd.hpp"
#include "proto/head_frame.hpp"
#include "proto/ledger_head.hpp"
#include "sender/receipt_decider.hpp"
#include "sender/repeat_log.hpp"

namespace adist::sender {

class receipt_keeper {
public:
    receipt_keeper(std::string path, proto::ed25519_public key)
        : path_(std::move(path)), key_(key) {}
    // Opens (creates) the file, its directory too (0700), and reads its last
    // receipt. False, with problem() set, when it cannot be kept.
    bool open();
    // Cannot be kept at all (`why` is what status says).
    void unavailable(std::string why) { problem_ = std::move(why); }
    const proto::ed25519_public& key() const { return key_; }
    bool usable() const { return fd_ && problem_.empty(); }
    // A HEAD reply's head (none: the receiver has none): decided, kept
    // (appended, fdatasync'ed) or logged as an alert (once per repeat period).
    void take(const std::optional<proto::signed_head_bytes>& head, const std::string& log_prefix,
              repeat_log& repeats);
    // For status: the newest receipt ("entry N, signed at T"), "" when none;
    // why receipts cannot be kept ("" when they can); the last alert, which
    // stays until the daemon restarts ("" when none).
    std::string summary() const;
    const std::string& problem() const { return problem_; }
    const std::string& alert() const { return alert_; }

private:
    bool load_last();
    bool append(const proto::ledger_head& h);

    std::string path_;
    proto::ed25519_public key_;
    common::unique_fd fd_;
    std::optional<proto::ledger_head> last_;
    std::string problem_;
    std::string alert_;
};

} // namespace adist::sender
