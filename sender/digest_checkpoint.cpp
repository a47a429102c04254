// A host's SHA-256 checkpoint across connections and restarts (see
// digest_checkpoint.hpp).
#include "sender/digest_checkpoint.hpp"
#include "sender/state_file.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

#include "common/log.hpp"

namespace adist::sender {

bool digest_checkpoint::open() {
    if (path_.empty()) return false;
    fd_ = open_state_file(path_, 0, &problem_);
    if (!fd_) return false;
    std::array<std::byte, proto::checkpoint_record_size> buf{};
    ssize_t n = ::pread(fd_.get(), buf.data(), buf.size(), 0);
    std::string why;
    if (n < 0) {
        log::warning(path_, ": cannot read the digest checkpoint (", common::errno_text(errno),
                     "); a resume reads the trail's prefix once");
    } else if (n > 0) {
        auto rec = proto::decode_checkpoint_record(std::span(buf.data(), static_cast<std::size_t>(n)), &why);
        if (rec) {
            memory_ = written_ = rec;
        } else {
            // A torn write (a crash in the middle of one) or someone else's
            // bytes: the next checkpoint overwrites it.
            log::info(path_, ": no digest checkpoint taken from it (", why,
                      "); a resume reads the trail's prefix once");
        }
    }
    return true;
}

std::optional<proto::sha256_state> digest_checkpoint::start_for(dev_t dev, ino_t ino,
                                                                std::uint64_t offset) const {
    if (!memory_ || memory_->dev != static_cast<std::uint64_t>(dev) ||
        memory_->ino != static_cast<std::uint64_t>(ino) || memory_->state.size > offset) {
        return std::nullopt;
    }
    return proto::sha256_state::resume(memory_->state);
}

void digest_checkpoint::acknowledged(dev_t dev, ino_t ino, const proto::sha256_state& state,
                                     int trail_fd, clock::time_point now) {
    memory_ = proto::checkpoint_record{static_cast<std::uint64_t>(dev),
                                       static_cast<std::uint64_t>(ino), state.midstate()};
    if (!fd_ || trail_fd < 0 || (written_at_ && now - *written_at_ < interval_)) return;
    written_at_ = now;
    write(trail_fd);
}

void digest_checkpoint::write_now(dev_t dev, ino_t ino, int trail_fd) {
    if (!fd_ || !memory_ || memory_ == written_ || memory_->dev != static_cast<std::uint64_t>(dev) ||
        memory_->ino != static_cast<std::uint64_t>(ino)) {
        return;
    }
    write(trail_fd);
}

bool digest_checkpoint::write(int trail_fd) {
    // The trail first: the record must never stand for bytes that a crash of
    // this machine could still take back (auditd need not have synced them).
    // Both syncs run on the sender's thread, at most once per interval and
    // at a connection's end; one that takes long is said.
    auto started = clock::now();
    std::string failure;
    if (::fdatasync(trail_fd) != 0) {
        failure = "cannot sync the trail: " + common::errno_text(errno);
    } else {
        auto bytes = proto::encode_checkpoint_record(*memory_);
        if (::pwrite(fd_.get(), bytes.data(), bytes.size(), 0) != static_cast<ssize_t>(bytes.size()) ||
            ::fdatasync(fd_.get()) != 0)
            failure = common::errno_text(errno);
    }
    auto took = std::chrono::duration_cast<std::chrono::milliseconds>(clock::now() - started);
    if (!failure.empty()) {
        // Once per run: the restart benefit is lost, nothing else is.
        if (!warned_)
            log::warning(path_, ": digest checkpoint not written (", failure,
                         "); after a restart a resume reads the trail's prefix once");
        warned_ = true;
        return false;
    }
    if (took > std::chrono::seconds(1))
        log::warning(path_, ": writing the digest checkpoint took ", took.count(),
                     " ms (syncing the trail first); shipping waited meanwhile");
    written_ = memory_;
    return true;
}

} // namespace adist::sender
