// Protocol version 1: a host's running SHA-256 of the trail it ships, at the
// offset the receiver last acknowledged, kept across connections (in
// memory) and across restarts (a file of one record, proto/
// checkpoint_record.hpp), so that a resume hashes only the bytes past it
// instead of reading the trail's whole prefix again (docs/protocol.md,
// "Resuming without reading the prefix"). One per sender host (each
// receiver has its own resume point), kept by the sender role across
// reloads. The file is opened before the privilege drop and only written
// through that descriptor, as the receipts are.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include "common/fd.hpp"
#include "proto/checkpoint_record.hpp"
#include "proto/sha256_state.hpp"

namespace adist::sender {

class digest_checkpoint {
public:
    using clock = std::chrono::steady_clock;
    // `path` empty: in memory only. The file is written at most once per
    // `interval`.
    explicit digest_checkpoint(std::string path,
                               std::chrono::milliseconds interval = std::chrono::seconds(30))
        : path_(std::move(path)), interval_(interval) {}

    // Opens (creates, with its missing directories, 0700) the file and reads
    // its record; an unreadable or torn record is ignored (logged at debug).
    // False, with problem() set, when the file cannot be kept: the
    // checkpoint then lives in memory only.
    bool open();
    const std::string& problem() const { return problem_; }
    const std::string& path() const { return path_; }

    // Where the digest of the file (dev, ino) can start for a resume at
    // `offset`: its state at the checkpoint when that lies at or before
    // `offset`; nullopt: from the file's first byte.
    std::optional<proto::sha256_state> start_for(dev_t dev, ino_t ino, std::uint64_t offset) const;

    // The receiver acknowledged the first state.size() bytes of (dev, ino).
    // Kept in memory; written to the file when `interval` has passed since
    // the last write, after `trail_fd` is synced, so that a checkpoint never
    // stands for bytes this machine could still lose in a crash.
    void acknowledged(dev_t dev, ino_t ino, const proto::sha256_state& state, int trail_fd,
                      clock::time_point now);
    // Writes what memory holds now, if it is for `trail_fd`'s file and not
    // written yet (a connection ends: a restart may follow).
    void write_now(dev_t dev, ino_t ino, int trail_fd);

private:
    bool write(int trail_fd);

    std::string path_;
    std::chrono::milliseconds interval_;
    common::unique_fd fd_;
    std::optional<proto::checkpoint_record> memory_;
    std::optional<proto::checkpoint_record> written_;
    std::optional<clock::time_point> written_at_;
    std::string problem_;
    bool warned_ = false; // a write failed (said once)
};

} // namespace adist::sender
