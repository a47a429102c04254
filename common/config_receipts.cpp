// Receipts in auditdistd.conf(5): the per-host `ledger_key` (the receiver's
// ledger public key) and `receipt_file` statements of the sender, and the
// whole-config check that each host keeps its receipts in a file of its own.
#include "common/config_parser.hpp"

#include <map>

#include "proto/ledger_head.hpp"

namespace adist::common::config_detail {

// `ledger_key "ed25519:<64 hex digits>"`, as `auditdistd ledger-key` prints it.
bool parser::ledger_key_value(const token& key, sender_host& h) {
    std::string text;
    if (!string_value(key, text)) return false;
    auto parsed = proto::parse_ledger_key(text);
    if (!parsed) {
        return fail(key.line, "ledger_key must be \"ed25519:\" and 64 hex digits, as "
                              "auditdistd ledger-key prints it on the receiver");
    }
    h.ledger_key = *parsed;
    return true;
}

// `receipt_file "/absolute/path"`: where the signed heads are kept.
bool parser::receipt_file_value(const token& key, sender_host& h) {
    h.receipt_file_line = key.line;
    if (!path_value(key, h.receipt_file, false)) return false;
    if (h.receipt_file.back() == '/') return fail(key.line, "receipt_file must name a file");
    return true;
}

void default_receipt_files(config& cfg) {
    for (auto& h : cfg.senders) {
        if (h.ledger_key && h.receipt_file.empty())
            h.receipt_file = std::string(default_receipt_directory) + "/" + h.name + "/heads";
    }
}

std::optional<config_error> check_receipts(const config& cfg, std::string_view file) {
    std::map<std::string, const sender_host*> by_file;
    for (const auto& h : cfg.senders) {
        auto at = [&](std::string message) {
            return config_error{h.file.empty() ? std::string(file) : h.file,
                                h.receipt_file_line ? h.receipt_file_line : h.line,
                                std::move(message)};
        };
        if (h.receipt_file.empty()) continue;
        if (!h.ledger_key) {
            return at("sender host " + quoted(h.name) +
                      ": receipt_file without ledger_key (receipts are checked with the "
                      "receiver's ledger key: add ledger_key)");
        }
        auto [it, fresh] = by_file.emplace(h.receipt_file, &h);
        if (!fresh) {
            return at("sender host " + quoted(h.name) + ": receipt_file " + quoted(h.receipt_file) +
                      " is also host " + quoted(it->second->name) +
                      "'s (each receiver's receipts need a file of their own)");
        }
    }
    return std::nullopt;
}

} // namespace adist::common::config_detail

namespace adist::common {

std::vector<std::string> receipt_summary(const config& cfg) {
    std::vector<std::string> out;
    for (const auto& h : cfg.senders) {
        if (!h.ledger_key) continue;
        out.push_back("receipts: host " + h.name + " (protocol 1) keeps the heads signed by " +
                      proto::format_ledger_key(*h.ledger_key) + " in " + h.receipt_file);
    }
    return out;
}

} // namespace adist::common
