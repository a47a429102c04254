// The answer to a version 1 HEAD request (docs/protocol.md, "Receipts"): the
// newest signed head of a host's ledger, read from the heads file the root
// supervisor appends to beside the ledger. The worker only reads it: it
// never holds the signing key, so it cannot make a head the sender accepts.
#pragma once

#include <optional>
#include <string>

#include "proto/head_frame.hpp"

namespace adist::receiver {

// The last whole 152-byte record of <ledger directory of host_dir>/heads;
// none when there is no such file or no whole record yet. Not decoded or
// checked here: the sender checks the signature.
std::optional<proto::signed_head_bytes> newest_signed_head(const std::string& host_dir);

} // namespace adist::receiver
