// A host's SHA-256 checkpoint across connections and restarts (see
// digest_checkpoint.hpp).
#include "sender/digest_checkpoint.hpp"
#include "sender/state_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "common/log.hpp"

namespace adist::sender {

bool digest_checkpoint::open() {
    if (path_.empty()) return false;
    fd_ = open_state_file(path_, 0, &problem_);
    struct stat st {};
    if (!fd_ || ::fstat(fd_.get(), &st) != 0) {
        if (fd_) problem_ = "cannot read " + path_ + ": " + common::errno_text(errno);
        fd_.reset();
        return false;
    }
    std::array<std::byte, proto::checkpoint_record_size> buf{};
    ssize_t n = st.st_size == 0 ? 0 : ::pread(fd_.get(), buf.data(), buf.size(), 0);
    std::string why;
    if (n > 0) {
        auto rec = proto::decode_checkpoint_record(std::span(buf.data(), static_cast<std::size_t>(n)), &why);
        if (rec) {
            memory_ = written_ = rec;
        } else {
            log::debug(path_, ": no checkpoint taken from it (", why, ")");
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
    if (::fdatasync(trail_fd) != 0) {
        log::debug(path_, ": checkpoint not written: cannot sync the trail: ", common::errno_text(errno));
        return false;
    }
    auto bytes = proto::encode_checkpoint_record(*memory_);
    if (::pwrite(fd_.get(), bytes.data(), bytes.size(), 0) != static_cast<ssize_t>(bytes.size()) ||
        ::fdatasync(fd_.get()) != 0) {
        log::debug(path_, ": checkpoint not written: ", common::errno_text(errno));
        return false;
    }
    written_ = memory_;
    return true;
}

} // namespace adist::sender
