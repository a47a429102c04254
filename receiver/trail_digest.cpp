// Protocol version 1 and the ledger on the receiver (part of class
// trail_store, trail_store.hpp): a trail's size and SHA-256 as stored, kept
// incrementally by the host's ledger (receiver/trail_ledger.hpp) so that a
// CLOSE or a resume reads nothing back; read back from the file only when
// the host has no ledger (it could not be opened: logged at startup).
#include "receiver/trail_store.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <vector>

#include "common/log.hpp"
#include "proto/digest.hpp"

namespace adist::receiver {

void trail_store::open_ledger(std::optional<owner_ids> owner) {
    std::string error;
    ledger_ = trail_ledger::open(path_, dir_.get(), owner, &error);
    if (!ledger_) {
        log::error(path_, ": no ledger (", error, "); digests are read back from the trails");
    }
}

// The ledger follows the trail OPEN made current: `how` is the decision.
proto::reply_error trail_store::ledger_open(std::string_view name, bool created) {
    if (!ledger_) return proto::reply_error::ok;
    std::string n(name);
    if (created) {
        if (int err = ledger_->track_new(n); err != 0)
            return fail(proto::reply_error::create, "cannot write the ledger", err);
        return proto::reply_error::ok;
    }
    struct stat st {};
    if (::fstat(file_.get(), &st) != 0) return fail(proto::reply_error::open, "fstat " + n, errno);
    if (auto problem = ledger_->track(dir_.get(), n, static_cast<std::uint64_t>(st.st_size));
        !problem.empty()) {
        last_error_ = path_ + "/" + problem;
        return proto::reply_error::open;
    }
    return proto::reply_error::ok;
}

// Before an OPEN renames the newest trail: its digest, so the ledger can
// carry it over to the new name.
proto::reply_error trail_store::ledger_before_rename() {
    if (!ledger_) return proto::reply_error::ok;
    struct stat st {};
    if (::fstatat(dir_.get(), newest_.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0)
        return fail(proto::reply_error::rename, "stat " + newest_, errno);
    if (auto problem = ledger_->track(dir_.get(), newest_, static_cast<std::uint64_t>(st.st_size));
        !problem.empty()) {
        last_error_ = path_ + "/" + problem;
        return proto::reply_error::rename;
    }
    return proto::reply_error::ok;
}

int trail_store::ledger_renamed(std::string_view to, bool close) {
    return ledger_ ? ledger_->renamed(std::string(to), close) : 0;
}

int trail_store::write_data(std::span<const std::byte> data) {
    if (ledger_) {
        std::size_t written = 0;
        return ledger_->append(file_.get(), data, &written);
    }
    while (!data.empty()) {
        ssize_t n = ::write(file_.get(), data.data(), data.size());
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return n < 0 ? errno : EIO;
        data = data.subspan(static_cast<std::size_t>(n));
    }
    return 0;
}

int trail_store::ledger_commit(std::uint64_t size) {
    return ledger_ ? ledger_->commit(dir_.get(), size) : 0;
}

// CLOSE in version 1, after the commit of every byte: the open trail as
// stored must have the sender's size and SHA-256.
proto::reply_error trail_store::check_close_digest(const proto::file_digest& expected) {
    auto stored = stored_digest(open_name_);
    if (!stored) return proto::reply_error::write;
    if (*stored == expected) return proto::reply_error::ok;
    last_error_ = path_ + "/" + open_name_ + " as stored (" + std::to_string(stored->size) +
                  " bytes, SHA-256 " + proto::format_fingerprint(stored->sha256).substr(7) +
                  ") differs from the sender's file (" + std::to_string(expected.size) +
                  " bytes, SHA-256 " + proto::format_fingerprint(expected.sha256).substr(7) +
                  "): changed on this receiver, or a different file; left as it is";
    return proto::reply_error::digest_mismatch;
}

std::optional<proto::file_digest> trail_store::stored_digest(std::string_view name,
                                                             std::optional<std::uint64_t> size) {
    std::string n(name);
    if (hold() != 0) return std::nullopt;
    if (ledger_) {
        struct stat st {};
        if (!size) {
            if (::fstatat(dir_.get(), n.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
                fail(proto::reply_error::read, "cannot stat " + path_ + "/" + n, errno);
                return std::nullopt;
            }
            size = static_cast<std::uint64_t>(st.st_size);
        }
        auto d = ledger_->committed(n);
        if (d && d->size == *size) return d;
        if (auto problem = ledger_->track(dir_.get(), n, *size); !problem.empty()) {
            last_error_ = path_ + "/" + problem;
            return std::nullopt;
        }
        return ledger_->committed(n);
    }
    return read_back(n, size);
}

std::optional<proto::file_digest> trail_store::read_back(const std::string& n,
                                                         std::optional<std::uint64_t> size) {
    common::unique_fd fd(::openat(dir_.get(), n.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
    struct stat st {};
    if (!fd || ::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode)) {
        fail(proto::reply_error::read, "cannot read back " + path_ + "/" + n, fd ? EINVAL : errno);
        return std::nullopt;
    }
    std::uint64_t want = size.value_or(static_cast<std::uint64_t>(st.st_size));
    proto::sha256_stream digest;
    std::vector<std::byte> buf(1 << 20);
    std::uint64_t off = 0;
    while (off < want) {
        auto chunk = static_cast<std::size_t>(std::min<std::uint64_t>(buf.size(), want - off));
        ssize_t got = ::pread(fd.get(), buf.data(), chunk, static_cast<off_t>(off));
        if (got < 0 && errno == EINTR) continue;
        if (got <= 0) {
            fail(proto::reply_error::read, "cannot read back " + path_ + "/" + n, got < 0 ? errno : EIO);
            return std::nullopt;
        }
        digest.update(std::span(buf.data(), static_cast<std::size_t>(got)));
        off += static_cast<std::uint64_t>(got);
    }
    auto d = digest.current();
    // The whole file: its size now (someone may have appended meanwhile).
    if (!size && ::fstat(fd.get(), &st) == 0) d.size = static_cast<std::uint64_t>(st.st_size);
    return d;
}

} // namespace adist::receiver
