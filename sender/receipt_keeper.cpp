// The receipts of one sender host (see receipt_keeper.hpp).
#include "sender/receipt_keeper.hpp"
#include "sender/state_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <ctime>

#include "common/guard_channel.hpp"
#include "common/log.hpp"
#include "common/status.hpp"

namespace adist::sender {

bool receipt_keeper::open() {
    fd_ = open_state_file(path_, O_APPEND, &problem_);
    if (!fd_) return false;
    // As root (before the privilege drop), the file becomes append-only: the
    // worker, and anyone who becomes its user, can add a receipt but never
    // remove or change one. Without root or the attribute it is a plain file.
    if (::geteuid() == 0) {
        if (int err = common::make_append_only(fd_.get()); err != 0) {
            log::warning("receipts in ", path_, " are not append-only (chattr +a): ",
                         common::flags_unsupported(err) ? "its file system has no such attribute"
                                                        : common::errno_text(err));
        }
    }
    return load_last();
}

bool receipt_keeper::load_last() {
    struct stat st {};
    if (::fstat(fd_.get(), &st) != 0) {
        problem_ = "cannot read " + path_ + ": " + common::errno_text(errno);
        return false;
    }
    auto size = static_cast<std::uint64_t>(st.st_size);
    if (size % proto::ledger_head_size != 0) {
        problem_ = path_ + " ends in a partial record (" + std::to_string(size) +
                   " bytes): not appending to it; move it aside and restart";
        return false;
    }
    if (size == 0) return true;
    proto::signed_head_bytes buf{};
    std::string why;
    if (::pread(fd_.get(), buf.data(), buf.size(), static_cast<off_t>(size - buf.size())) !=
        static_cast<ssize_t>(buf.size())) {
        problem_ = "cannot read " + path_ + ": " + common::errno_text(errno);
        return false;
    }
    last_ = proto::decode_ledger_head(buf, &why);
    if (!last_) problem_ = path_ + ": its last record is not a signed head (" + why + ")";
    return problem_.empty();
}

bool receipt_keeper::append(const proto::ledger_head& h) {
    auto bytes = proto::encode_ledger_head(h);
    auto n = ::write(fd_.get(), bytes.data(), bytes.size());
    if (n != static_cast<ssize_t>(bytes.size()) || ::fdatasync(fd_.get()) != 0) {
        problem_ = "cannot write " + path_ + ": " +
                   (n < 0 || n == static_cast<ssize_t>(bytes.size()) ? common::errno_text(errno)
                                                                      : "short write");
        return false;
    }
    last_ = h;
    return true;
}

void receipt_keeper::take(const std::optional<proto::signed_head_bytes>& head,
                          const std::string& log_prefix, repeat_log& repeats) {
    if (!usable()) return;
    auto d = head ? decide_receipt(*head, last_, key_) : decide_no_head(last_);
    if (d.keep()) {
        if (append(*d.head)) {
            log::debug(log_prefix, "receipt kept: the receiver's signed ledger head at entry ",
                       d.head->seq, " (", path_, ")");
        } else {
            log::error(log_prefix, problem_);
        }
        return;
    }
    if (!d.alert()) return;
    alert_ = d.why;
    if (repeats.due("receipt:" + d.why, std::chrono::steady_clock::now()))
        log::alert(log_prefix, "receipt refused: ", d.why, "; run auditdistd verify --receipt ",
                   path_, " on the receiver");
}

std::string receipt_keeper::summary() const {
    if (!last_) return {};
    auto t = std::chrono::system_clock::from_time_t(static_cast<std::time_t>(last_->time));
    return "entry " + std::to_string(last_->seq) + ", signed " + common::format_wall_time(t);
}

} // namespace adist::sender
