// Signing the receivers' ledger heads (see ledger_signer.hpp).
#include "privileged/ledger_signer.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <ctime>

#include "common/fd.hpp"
#include "common/guard_channel.hpp"
#include "common/log.hpp"

namespace adist::privileged {
using common::errno_text;
using common::unique_fd;

namespace {
// The ledger directory of `host_dir`, its last two components opened
// without following a symlink: the worker owns them and could replace
// either with a link to a root file elsewhere.
unique_fd open_ledger_dir(const std::string& host_dir) {
    std::string root = proto::ledger_root(host_dir), dir = proto::ledger_directory(host_dir);
    unique_fd r(::open(root.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!r) return r;
    return unique_fd(::openat(r.get(), dir.substr(root.size() + 1).c_str(),
                              O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
}

bool write_all(int fd, const void* data, std::size_t size) {
    return ::write(fd, data, size) == static_cast<ssize_t>(size);
}
} // namespace

std::optional<ledger_seed> read_ledger_key(const std::string& path, std::string* error) {
    unique_fd fd(::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
    struct stat st {};
    ledger_seed seed{};
    if (!fd || ::fstat(fd.get(), &st) != 0) {
        *error = "cannot read the ledger key " + path + ": " + errno_text(errno);
        return std::nullopt;
    }
    if (!S_ISREG(st.st_mode) || st.st_uid != 0 || (st.st_mode & 077) != 0) {
        *error = path + " must be a regular file of root's with mode 0600";
        return std::nullopt;
    }
    if (::read(fd.get(), seed.data(), seed.size()) != static_cast<ssize_t>(seed.size()) || st.st_size != 32) {
        *error = path + " is not a 32-byte Ed25519 key";
        return std::nullopt;
    }
    return seed;
}

std::optional<ledger_seed> load_or_make_ledger_key(const std::string& path, std::string* error) {
    struct stat st {};
    if (::lstat(path.c_str(), &st) == 0) return read_ledger_key(path, error);
    auto slash = path.find_last_of('/');
    if (slash != std::string::npos && slash > 0) {
        int err = common::make_directories(path.substr(0, slash), 0700);
        if (err != 0) {
            *error = "cannot create " + path.substr(0, slash) + ": " + errno_text(err);
            return std::nullopt;
        }
    }
    auto seed = proto::new_ed25519_seed();
    auto pub = seed ? proto::ed25519_public_of(*seed) : std::nullopt;
    unique_fd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
    if (!pub || !fd || !write_all(fd.get(), seed->data(), seed->size()) || ::fsync(fd.get()) != 0) {
        *error = "cannot make the ledger key " + path + ": " + errno_text(errno);
        return std::nullopt;
    }
    std::string pub_path = path + ".pub", line = proto::format_ledger_key(*pub) + "\n";
    ::unlink(pub_path.c_str());
    unique_fd pfd(::open(pub_path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644));
    if (!pfd || !write_all(pfd.get(), line.data(), line.size())) {
        *error = "cannot write " + pub_path + ": " + errno_text(errno);
        return std::nullopt;
    }
    log::info("made the ledger signing key ", path, "; its public key (auditdistd ledger-key): ",
              proto::format_ledger_key(*pub));
    return seed;
}

int ledger_signer::timeout_ms() const {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(next_ - std::chrono::steady_clock::now());
    return static_cast<int>(std::clamp<std::int64_t>(left.count() + 1, 0, 60'000));
}

void ledger_signer::tick(bool force) {
    auto now = std::chrono::steady_clock::now();
    if (!force && now < next_) return;
    next_ = now + interval_;
    for (const auto& h : host_dirs_) sign_host(h);
}

// The last head this key signed for the ledger in `dir`, if any.
bool ledger_signer::load_last_head(int dir_fd, signed_state& s) {
    std::string name(proto::ledger_heads_name);
    unique_fd fd(::openat(dir_fd, name.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC));
    struct stat st {};
    if (!fd || ::fstat(fd.get(), &st) != 0 || st.st_size < static_cast<off_t>(proto::ledger_head_size))
        return true;
    std::array<std::byte, proto::ledger_head_size> buf{};
    off_t at = st.st_size - st.st_size % static_cast<off_t>(proto::ledger_head_size) -
               static_cast<off_t>(proto::ledger_head_size);
    std::string why;
    auto pub = proto::ed25519_public_of(seed_);
    if (::pread(fd.get(), buf.data(), buf.size(), at) != static_cast<ssize_t>(buf.size())) return false;
    auto h = proto::decode_ledger_head(buf, &why);
    if (!h || !pub || !proto::verify_ledger_head(*h, *pub)) return false;
    s.count = h->seq + 1;
    s.head = h->entry;
    s.genesis = h->genesis;
    return true;
}

// Reads the entries from s.count to `count`: each must follow the one
// before; s then names the last. "" or what is wrong.
std::string ledger_signer::extend(int ledger_fd, std::uint64_t count, signed_state& s) {
    std::array<std::byte, proto::ledger_entry_size> buf{};
    if (s.count > 0) {
        // The head signed last must still be there, unchanged.
        if (::pread(ledger_fd, buf.data(), buf.size(), static_cast<off_t>((s.count - 1) * buf.size())) !=
                static_cast<ssize_t>(buf.size()) ||
            proto::ledger_hash(buf) != s.head)
            return "entry " + std::to_string(s.count - 1) + " is no longer what was signed";
    }
    for (std::uint64_t i = s.count; i < count; ++i) {
        if (::pread(ledger_fd, buf.data(), buf.size(), static_cast<off_t>(i * buf.size())) !=
            static_cast<ssize_t>(buf.size()))
            return "cannot read entry " + std::to_string(i);
        std::string why;
        auto e = proto::decode_ledger_entry(buf, &why);
        if (!e) return "entry " + std::to_string(i) + ": " + why;
        if (e->seq != i || e->prev != s.head) return "entry " + std::to_string(i) + " breaks the chain";
        s.head = proto::ledger_hash(buf);
        if (i == 0) s.genesis = s.head;
    }
    s.count = count;
    return {};
}

void ledger_signer::sign_host(const std::string& host_dir) {
    std::string dir = proto::ledger_directory(host_dir);
    unique_fd dir_fd = open_ledger_dir(host_dir);
    if (!dir_fd) return;
    std::string ledger_name(proto::ledger_file_name), heads_name(proto::ledger_heads_name);
    unique_fd ledger(::openat(dir_fd.get(), ledger_name.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC));
    struct stat st {};
    // The worker's own file, with no other name (never a root file linked in).
    if (!ledger || ::fstat(ledger.get(), &st) != 0 || !S_ISREG(st.st_mode) || st.st_uid == 0 ||
        st.st_nlink != 1)
        return;
    // Best effort: a file system without the attribute is said once by the
    // receiver for its trails already.
    common::make_append_only(ledger.get());
    auto count = static_cast<std::uint64_t>(st.st_size) / proto::ledger_entry_size;
    auto [it, fresh] = state_.try_emplace(host_dir);
    signed_state& s = it->second;
    if (fresh && !load_last_head(dir_fd.get(), s)) {
        log::alert(dir, ": the last signed head is not one of this key's: not signing this ledger");
        s.refused = true;
    }
    if (s.refused || count <= s.count) return;
    signed_state next = s;
    if (auto problem = extend(ledger.get(), count, next); !problem.empty()) {
        log::alert(dir, "/ledger does not extend the head signed at entry ", s.count - 1, " (", problem,
                   "): rewritten? Not signing it again; run auditdistd verify ", host_dir);
        s.refused = true;
        return;
    }
    proto::ledger_head h;
    h.seq = next.count - 1;
    h.time = static_cast<std::int64_t>(::time(nullptr));
    h.entry = next.head;
    h.genesis = next.genesis;
    if (!proto::sign_ledger_head(h, seed_)) return;
    std::string path = dir + "/" + heads_name;
    unique_fd heads(::openat(dir_fd.get(), heads_name.c_str(),
                             O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0644));
    if (!heads || ::fstat(heads.get(), &st) != 0 || st.st_uid != 0 || !S_ISREG(st.st_mode) ||
        st.st_nlink != 1) {
        log::error("cannot sign the ledger head of ", host_dir, ": ", path,
                   heads ? " is not root's" : " cannot be opened: " + errno_text(errno));
        return;
    }
    auto bytes = proto::encode_ledger_head(h);
    if (!write_all(heads.get(), bytes.data(), bytes.size()) || ::fdatasync(heads.get()) != 0) {
        log::error("cannot write ", path, ": ", errno_text(errno));
        return;
    }
    common::make_append_only(heads.get());
    log::debug("signed the ledger head of ", host_dir, " at entry ", h.seq);
    s = next;
}

} // namespace adist::privileged
