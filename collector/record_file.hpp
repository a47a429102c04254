// The collector's files: trail-named JSON-lines files in a directory, each
// hard-linked into the dist directory for the sender, appended with
// O_APPEND, renamed to <start>.<end> at rotation, checked for tampering.
// Run by the collector role on its thread (collector/server.cpp); any
// record kind goes through write().
#pragma once

#include "collector/record.hpp"
#include "common/config_collector.hpp"
#include "common/fd.hpp"

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <sys/types.h>

namespace adist::collector {

// "YYYYMMDDhhmmss" of a UTC time (seconds since the epoch). Pure.
std::string trail_time_text(std::int64_t seconds);

// What fstat says about the open file, and what the writer expects.
struct file_facts {
    uid_t owner = 0;
    mode_t mode = 0; // permission bits only
    nlink_t links = 0;
    std::uint64_t size = 0;
    bool name_is_file = true; // the directory entry still leads to this inode
};

// Why the open file is not the one we wrote (owner, mode, links, size,
// name), or nullopt. Pure: the tamper decider.
std::optional<std::string> tamper_problem(const file_facts& expected, const file_facts& seen);

// When the open file must be closed for a new one: `daily` at a new UTC
// day, `size` once `size` plus the next line passes the limit. Pure.
bool rotation_due(common::collector_rotate rotate, std::uint64_t limit, std::int64_t start,
                  std::int64_t now, std::uint64_t size, std::size_t next);

class record_file {
  public:
    struct options {
        std::string directory, dist;
        common::collector_rotate rotate = common::collector_rotate::daily;
        std::uint64_t rotate_size = 0;
        std::string host, boot_id;
    };
    explicit record_file(options o) : o_(std::move(o)) {}
    ~record_file();

    // Opens both directories (they exist), closes files a previous run left
    // open, continues their sequence and starts a new file. Returns an error.
    std::optional<std::string> open(std::int64_t now_ns);

    // The fields of the next record at `now_ns`.
    record_base base(std::int64_t now_ns) const;

    // Appends one encoded line (rotating first when due; the line then
    // takes the seq after the new file's header). Returns false with
    // *error set when the line is not (entirely) in the file. Staged lines
    // are written first.
    bool write(std::string line, std::int64_t now_ns, std::string* error);

    // Batching: stage() puts a line after those staged before (rotating
    // first when due, as write() does: the staged lines go to the old
    // file, `line` takes its new seq), flush() writes all staged lines with one write(). A failed
    // flush loses the whole batch (their seqs stay unused: a visible gap)
    // and closes the file, as a failed write() does.
    bool stage(std::string& line, std::int64_t now_ns, std::string* error);
    bool flush(std::int64_t now_ns, std::string* error);
    std::size_t staged() const { return staged_count_; }

    // Rotates now if a line of about `next` bytes would: a record encoded
    // after this call carries the sequence that follows the new header
    // (write() rotating would put the header before a line already numbered).
    std::optional<std::string> rotate_if_due(std::int64_t now_ns, std::size_t next);

    // fdatasync of the open file; false with *error on failure.
    bool sync(std::string* error);

    // For a sync on another thread: a duplicate of the open file's
    // descriptor (invalid when nothing is unsynced), and the unsynced
    // count reset, as what was written is what that sync covers.
    common::unique_fd take_for_sync();

    // The tamper check of the open file (tamper_problem on fstat).
    std::optional<std::string> check() const;

    // Closes the open file (renamed to <start>.<end>) and starts a new one.
    std::optional<std::string> rotate(std::int64_t now_ns);

    // Closes the open file for good (renamed to <start>.<end>): a clean stop.
    std::optional<std::string> close(std::int64_t now_ns) {
        return file_ ? close_file(now_ns / 1000000000) : std::nullopt;
    }

    // Reopens both directories (SIGHUP: logrotate may have moved them).
    std::optional<std::string> reopen(std::int64_t now_ns);

    // A reload's rotation policy, for the files from now on.
    void set_rotation(common::collector_rotate rotate, std::uint64_t rotate_size) {
        o_.rotate = rotate;
        o_.rotate_size = rotate_size;
    }

    const std::string& file_name() const { return name_; }
    std::uint64_t unsynced() const { return unsynced_; }
    // Since this object was made (the daemon's start): whole records
    // written, and the bytes that went into the files.
    std::uint64_t records_written() const { return records_total_; }
    std::uint64_t bytes_written() const { return bytes_total_; }

  private:
    std::optional<std::string> open_directories();
    std::optional<std::string> start_file(std::int64_t now_ns, const std::string& previous);
    std::optional<std::string> close_file(std::int64_t now_ns);
    std::optional<std::string> recover(std::int64_t now_ns);
    bool append(const std::string& data, std::string* error);
    bool append_record(const std::string& line, std::string* error);
    void count_written(std::uint64_t records) {
        unsynced_ += records;
        records_total_ += records;
    }

    options o_;
    common::unique_fd dir_, dist_, file_;
    std::string name_;       // the open file's name
    std::int64_t start_ = 0; // its start time (seconds)
    std::uint64_t written_ = 0;
    std::uint64_t next_seq_ = 0;
    std::uint64_t unsynced_ = 0;
    std::uint64_t records_total_ = 0, bytes_total_ = 0;
    ino_t ino_ = 0;
    std::string staged_; // lines staged, not yet written
    std::size_t staged_count_ = 0;
    std::string staged_lost_; // why lines staged before a rotation were not written
};

} // namespace adist::collector
