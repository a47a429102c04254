// `auditdistd verify` and `auditdistd ledger-key` (see verify.hpp).
#include "daemon/verify.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <iostream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "common/dir_list.hpp"
#include "common/fd.hpp"
#include "privileged/ledger_signer.hpp"
#include "proto/digest.hpp"
#include "proto/ledger.hpp"
#include "proto/ledger_head.hpp"
#include "proto/trail_name.hpp"

namespace adist::daemon {
namespace {
using proto::ledger_entry_size;
using proto::ledger_head_size;

const char* verify_usage =
    "usage: auditdistd verify [--key ed25519:HEX | --key-file PATH] [--receipt FILE]... HOST_DIR\n"
    "       auditdistd ledger-key [--key-file PATH]\n";

// What verify found: every line printed at once, failures counted.
struct report {
    int failures = 0;
    void fail(const std::string& line) {
        ++failures;
        std::cout << "FAIL: " << line << "\n";
    }
    static void note(const std::string& line) { std::cout << "note: " << line << "\n"; }
    static void ok(const std::string& line) { std::cout << "ok: " << line << "\n"; }
};

std::optional<std::string> read_small_file(const std::string& path) {
    std::ifstream in(path);
    if (!in) return std::nullopt;
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

// The ledger file, whole, as fixed-size entries (a partial one at the end is a failure).
bool walk_ledger(const std::string& path, proto::ledger_walker& walker, report& r) {
    common::unique_fd fd(::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
    if (!fd) {
        r.fail("cannot open the ledger " + path + ": " + common::errno_text(errno));
        return false;
    }
    std::vector<std::byte> buf(ledger_entry_size * 4096);
    std::size_t have = 0;
    for (;;) {
        ssize_t n = ::read(fd.get(), buf.data() + have, buf.size() - have);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            r.fail("cannot read " + path + ": " + common::errno_text(errno));
            return false;
        }
        have += static_cast<std::size_t>(n);
        std::size_t off = 0;
        for (; off + ledger_entry_size <= have; off += ledger_entry_size) {
            if (auto problem = walker.feed(std::span(buf.data() + off, ledger_entry_size)); !problem.empty()) {
                r.fail(path + ": " + problem);
                return false;
            }
        }
        std::copy(buf.begin() + static_cast<std::ptrdiff_t>(off), buf.begin() + static_cast<std::ptrdiff_t>(have), buf.begin());
        have -= off;
        if (n == 0) break;
    }
    if (have != 0) {
        r.fail(path + " ends in a partial entry of " + std::to_string(have) + " bytes (cut or damaged)");
        return false;
    }
    if (walker.count() == 0) {
        r.fail(path + " is empty: nothing is proved");
        return false;
    }
    report::ok(path + ": " + std::to_string(walker.count()) + " entries, hash chain unbroken");
    return true;
}

// One signed head (from the heads file or a receipt) against the ledger:
// its signature, the ledger it names, the entry it names still there and
// unchanged. False (and FAIL lines) otherwise.
bool check_head(const proto::ledger_head& h, const proto::ledger_walker& walker,
                const std::optional<proto::ed25519_public>& key, const std::string& where, report& r) {
    if (key && !proto::verify_ledger_head(h, *key)) {
        r.fail(where + "bad signature (forged, or signed with another key)");
        return false;
    }
    if (h.genesis != walker.genesis()) {
        r.fail(where + "signed for another ledger");
        return false;
    }
    auto at = walker.hash_at(h.seq);
    if (!at) {
        r.fail(where + "signed entry " + std::to_string(h.seq) + " but the ledger has only " +
               std::to_string(walker.count()) + " entries: the ledger was cut");
        return false;
    }
    if (*at != h.entry) {
        r.fail(where + "entry " + std::to_string(h.seq) + " is not what was signed: rewritten");
        return false;
    }
    return true;
}

// Receipts: signed heads kept away from the receiver (a copy of the heads
// file, or of some of its records); each must still be in the ledger.
void check_receipts(const std::vector<std::string>& files, const proto::ledger_walker& walker,
                    const std::optional<proto::ed25519_public>& key, report& r) {
    for (const auto& f : files) {
        auto text = read_small_file(f);
        if (!text || text->empty() || text->size() % ledger_head_size != 0) {
            r.fail("receipt " + f + ": " + (text ? "not whole signed heads" : "cannot be read"));
            continue;
        }
        std::size_t good = 0, count = text->size() / ledger_head_size;
        for (std::size_t i = 0; i < count; ++i) {
            std::string why, where = "receipt " + f + " head " + std::to_string(i) + ": ";
            auto h = proto::decode_ledger_head(
                std::as_bytes(std::span(text->data() + i * ledger_head_size, ledger_head_size)), &why);
            if (!h) r.fail(where + why);
            else if (check_head(*h, walker, key, where, r)) ++good;
        }
        if (good == count) report::ok("receipt " + f + ": " + std::to_string(count) + " signed heads still in the ledger");
    }
}

// Every signed head: signature, the ledger it names, the entry it names
// still there and unchanged, no entry number signed for two contents.
void check_heads(const std::string& path, const proto::ledger_walker& walker,
                 const std::optional<proto::ed25519_public>& key, report& r) {
    auto text = read_small_file(path);
    if (!text || text->empty()) {
        if (key) r.fail("no signed heads in " + path + ": nothing protects the ledger against rewriting");
        else report::note("no signed heads in " + path);
        return;
    }
    if (!key) report::note("no key given (--key): signatures NOT checked");
    if (text->size() % ledger_head_size != 0) r.fail(path + " ends in a partial signed head (cut or damaged)");
    std::map<std::uint64_t, proto::sha256_digest> signed_for;
    std::uint64_t last = 0, good = 0;
    for (std::size_t off = 0; off + ledger_head_size <= text->size(); off += ledger_head_size) {
        std::string where = path + " head " + std::to_string(off / ledger_head_size) + ": ";
        std::string why;
        auto h = proto::decode_ledger_head(std::as_bytes(std::span(text->data() + off, ledger_head_size)), &why);
        if (!h) {
            r.fail(where + why);
            continue;
        }
        // Before the ledger is consulted: two signatures for one entry
        // number with different contents is a failure whichever matches.
        if (!key || proto::verify_ledger_head(*h, *key)) {
            auto [it, fresh] = signed_for.emplace(h->seq, h->entry);
            if (!fresh && it->second != h->entry)
                r.fail(where + "entry " + std::to_string(h->seq) + " signed twice for different contents");
        }
        if (check_head(*h, walker, key, where, r)) ++good;
        if (h->seq < last) r.fail(where + "signed heads out of order");
        last = std::max(last, h->seq);
    }
    report::ok(std::to_string(good) + " signed heads match the ledger; the last covers entries 0-" +
               std::to_string(last));
    if (last + 1 < walker.count())
        report::note(std::to_string(walker.count() - last - 1) + " entries after the last signed head (not signed yet)");
}

std::optional<proto::file_digest> digest_file(int dir_fd, const std::string& name) {
    common::unique_fd fd(::openat(dir_fd, name.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
    if (!fd) return std::nullopt;
    proto::sha256_stream s;
    std::vector<std::byte> buf(1 << 20);
    for (;;) {
        ssize_t n = ::read(fd.get(), buf.data(), buf.size());
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return std::nullopt;
        if (n == 0) break;
        s.update(std::span(buf.data(), static_cast<std::size_t>(n)));
    }
    return s.current();
}

// Each stored trail against the ledger, and each ledger trail against the directory.
void check_trails(const std::string& host_dir, const proto::ledger_walker& walker, report& r) {
    common::unique_fd dir = common::open_directory(host_dir);
    auto listing = common::list_directory(dir.get());
    if (!dir || !listing.ok()) {
        r.fail("cannot list " + host_dir);
        return;
    }
    std::set<std::string> stored;
    for (const auto& n : listing.names)
        if (proto::is_valid_trail_name(n)) stored.insert(n);
    const auto& trails = walker.trails();
    for (const auto& [name, s] : trails) {
        if (stored.count(name) == 0) r.fail(host_dir + "/" + name + " is in the ledger but missing");
    }
    std::size_t proved = 0;
    for (const auto& name : stored) {
        std::string path = host_dir + "/" + name;
        auto it = trails.find(name);
        if (it == trails.end()) {
            r.fail(path + " is not in the ledger");
            continue;
        }
        auto d = digest_file(dir.get(), name);
        if (!d) {
            r.fail("cannot read " + path);
            continue;
        }
        const auto& s = it->second;
        if (d->size > s.end) {
            r.fail(path + " has " + std::to_string(d->size - s.end) + " bytes past what the ledger covers (" +
                   std::to_string(s.end) + "): added after it was stored");
        } else if (d->size < s.end) {
            r.fail(path + " is " + std::to_string(d->size) + " bytes, the ledger covers " +
                   std::to_string(s.end) + ": cut");
        } else if (d->sha256 != s.prefix) {
            r.fail(path + " differs from the ledger's SHA-256 (same size: bytes edited)");
        } else {
            ++proved;
        }
        if (s.recovered != 0)
            report::note(path + ": " + std::to_string(s.recovered) +
                         " bytes recorded at a restart (written but not acknowledged before it)");
        if (s.adopted) report::note(path + ": adopted when the ledger was created (its history before is not proved)");
    }
    report::ok(std::to_string(proved) + " of " + std::to_string(stored.size()) + " trails match the ledger");
}
} // namespace

int run_verify(int argc, char** argv) {
    std::optional<std::string> key_text, key_file, host_dir;
    std::vector<std::string> receipts;
    for (int i = 0; i < argc; ++i) {
        std::string a = argv[i];
        if ((a == "--key" || a == "--key-file") && i + 1 < argc) {
            (a == "--key" ? key_text : key_file) = argv[++i];
        } else if (a == "--receipt" && i + 1 < argc) {
            receipts.emplace_back(argv[++i]);
        } else if (!a.empty() && a[0] != '-' && !host_dir) {
            host_dir = a;
        } else {
            std::cerr << verify_usage;
            return EX_USAGE;
        }
    }
    if (!host_dir) {
        std::cerr << verify_usage;
        return EX_USAGE;
    }
    while (host_dir->size() > 1 && host_dir->back() == '/') host_dir->pop_back();
    std::optional<proto::ed25519_public> key;
    if (key_file || key_text) {
        auto text = key_text ? key_text : read_small_file(*key_file);
        if (text) key = proto::parse_ledger_key(*text);
        if (!key) {
            std::cerr << "auditdistd: " << (key_text ? "--key" : *key_file)
                      << " is not a key of the form ed25519:<64 hex digits>\n";
            return EX_USAGE;
        }
    }
    report r;
    std::string dir = proto::ledger_directory(*host_dir);
    proto::ledger_walker walker;
    if (walk_ledger(dir + "/" + std::string(proto::ledger_file_name), walker, r)) {
        check_heads(dir + "/" + std::string(proto::ledger_heads_name), walker, key, r);
        check_receipts(receipts, walker, key, r);
        check_trails(*host_dir, walker, r);
    }
    if (r.failures != 0) {
        std::cout << "verify: " << *host_dir << ": FAILED (" << r.failures << " problems)\n";
        return 1;
    }
    std::cout << "verify: " << *host_dir << ": OK\n";
    return 0;
}

int run_ledger_key(int argc, char** argv) {
    std::string path(privileged::default_ledger_key);
    if (argc == 2 && std::string_view(argv[0]) == "--key-file") {
        path = argv[1];
    } else if (argc != 0) {
        std::cerr << verify_usage;
        return EX_USAGE;
    }
    std::string error;
    auto seed = privileged::read_ledger_key(path, &error);
    if (!seed) {
        std::cerr << "auditdistd: " << error << "\n";
        return EX_NOINPUT;
    }
    auto pub = proto::ed25519_public_of(*seed);
    if (!pub) return EX_SOFTWARE;
    std::cout << proto::format_ledger_key(*pub) << "\n";
    return 0;
}

} // namespace adist::daemon
