// The ledger file itself (see trail_ledger.hpp): its descriptor, held only
// while the host's store works, and its entries, each written whole after
// the one before, chained to it and synced; an entry a full disk cut short
// is finished before anything else.
#include "receiver/trail_ledger.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <ctime>

#include "common/log.hpp"

namespace adist::receiver {
using common::errno_text;
using proto::ledger_entry;

int trail_ledger::hold() {
    return fd_ ? 0 : common::reopen_same(path_, O_RDWR | O_APPEND | O_NOFOLLOW, id_, &fd_);
}

void trail_ledger::release() {
    fd_.reset();
}

// An entry written may be lost from the cache when this fails: a failed
// sync, never "no room" (ENOSPC and EDQUOT become EIO).
int trail_ledger::sync_file() {
    if (::fdatasync(fd_.get()) == 0) return 0;
    return errno == ENOSPC || errno == EDQUOT ? EIO : errno;
}

namespace {
// What a write that found no room says to the caller (trail_ledger.hpp).
int no_room(int err) {
    return err == 0 || err == ENOSPC || err == EDQUOT || err == EFBIG ? ENOSPC : err;
}
} // namespace

// At most one write per byte, and three interruptions.
int trail_ledger::write_all(std::span<const std::byte> bytes, std::size_t* written) {
    *written = 0;
    int interrupted = 0;
    while (*written < bytes.size()) {
        ssize_t n = ::write(fd_.get(), bytes.data() + *written, bytes.size() - *written);
        if (n < 0 && errno == EINTR && ++interrupted < 3) continue;
        if (n <= 0) return n < 0 ? errno : EIO;
        *written += static_cast<std::size_t>(n);
    }
    return 0;
}

int trail_ledger::finish_cut_entry() {
    if (head_->unwritten.empty()) return 0;
    std::size_t n = 0;
    int err = write_all(head_->unwritten, &n);
    head_->unwritten.erase(head_->unwritten.begin(),
                           head_->unwritten.begin() + static_cast<std::ptrdiff_t>(n));
    if (!head_->unwritten.empty()) return no_room(err);
    log::info(path_, ": the entry a full disk cut short is whole again");
    return 0;
}

trail_ledger::~trail_ledger() {
    if (fd_) finish_pending(); // best effort: a restart finds whole entries
}

int trail_ledger::finish_pending() {
    std::lock_guard lock(head_->mutex);
    if (head_->unwritten.empty()) return 0;
    if (int err = finish_cut_entry(); err != 0) return err;
    return sync_file();
}

int trail_ledger::write_entry(ledger_entry e, bool* chained) {
    std::lock_guard lock(head_->mutex);
    if (chained != nullptr) *chained = false;
    if (int err = finish_cut_entry(); err != 0) return err;
    e.seq = head_->seq;
    e.prev = head_->prev;
    e.time = static_cast<std::int64_t>(::time(nullptr));
    auto bytes = proto::encode_ledger_entry(e);
    std::size_t n = 0;
    int err = write_all(bytes, &n);
    if (n == 0) return no_room(err); // nothing in the file: not in the chain
    // In the file, whole or in part: the next entry follows it, whether or
    // not the rest and the sync succeed.
    ++head_->seq;
    head_->prev = proto::ledger_hash(bytes);
    if (chained != nullptr) *chained = true;
    if (n < bytes.size()) {
        head_->unwritten.assign(bytes.begin() + static_cast<std::ptrdiff_t>(n), bytes.end());
        log::warning(path_, ": no room for a whole entry (", errno_text(err == 0 ? ENOSPC : err),
                     "); its rest is written before the next one");
        return no_room(err);
    }
    return sync_file();
}

} // namespace adist::receiver
