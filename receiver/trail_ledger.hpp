// One host's ledger on the receiver (proto/ledger.hpp; docs/protocol.md,
// "Ledger"): the file beside the host directory, and the running SHA-256
// of the trail being written, kept with every APPEND and written into an
// entry at every group commit, so that neither a CLOSE nor a resume reads
// the trail again; after a restart the state is taken from the trail's
// last entry and only bytes past it are read. Thread-safe: APPENDs run on
// the event loop, commits on the pool.
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "common/daemon_util.hpp"
#include "common/fd.hpp"
#include "proto/ledger.hpp"

namespace adist::receiver {

class trail_ledger {
public:
    // Opens (creating it and its directories, given to `owner`, if missing)
    // the ledger beside `host_dir`; a new ledger adopts the trails already in
    // `dir_fd` (read once, whole). nullptr and *error on failure.
    static std::unique_ptr<trail_ledger> open(const std::string& host_dir, int dir_fd,
                                              std::optional<common::user_ids> owner,
                                              std::string* error);
    const std::string& path() const { return path_; }
    ~trail_ledger();
    trail_ledger(const trail_ledger&) = delete;
    trail_ledger& operator=(const trail_ledger&) = delete;

    // Writes and syncs the rest of an entry a full disk cut short, if any
    // (0, or ENOSPC while there is still no room). Every entry written does
    // it first; the store also tries at each session's start and end, so a
    // restart finds whole entries unless the disk stayed full throughout.
    int finish_pending();

    // The descriptor is held only while the host's store works with it
    // (trail_store.hpp, "Descriptors"): release() closes it; hold() opens the
    // file again and checks it is the one first opened. 0, or errno (ESTALE:
    // another file is at the path now, so this ledger's head would be wrong).
    int hold();
    void release();

    // Keep the digest of `name`, `size` bytes long in `dir_fd`: from memory,
    // else from its last ledger entry plus the bytes past it (recorded as a
    // recovered entry), else the whole file (adopted). A rename this
    // receiver made whose entry found no room (renamed()) is recorded
    // first. "" or what is wrong.
    std::string track(int dir_fd, const std::string& name, std::uint64_t size);
    // A new, empty trail: an entry of length 0 for it, synced. 0 or errno.
    int track_new(const std::string& name);
    // Writes `data` at the end of the tracked trail's `fd` and hashes it.
    // Returns 0 or errno; *written says how much went in.
    int append(int fd, std::span<const std::byte> data, std::size_t* written);
    // After an fdatasync that covered `size` bytes of the tracked trail (in
    // `dir_fd`): its commit entry, synced. Bytes not written by append()
    // (someone else's) are read from the file. Returns 0 or errno; ENOSPC:
    // no room for the entry, which a later commit covers (write_entry).
    int commit(int dir_fd, std::uint64_t size);
    // The tracked trail was renamed (OPEN) or closed (CLOSE): its entry, synced.
    int renamed(const std::string& to, bool close);
    // The tracked trail's size and digest at its last commit.
    std::optional<proto::file_digest> committed(const std::string& name) const;
    std::uint64_t bytes_reread() const { return reread_; }

private:
    // The next entry's number and the hash it chains to, shared by every
    // trail_ledger of one file in this process: a reload that changes a
    // host opens a new one while the old store's session still commits.
    struct head_state {
        std::mutex mutex;
        std::uint64_t seq = 0;
        proto::sha256_digest prev{};
        // The rest of the last entry when a full disk cut its write short:
        // written before anything else, so the file holds whole entries
        // again as soon as there is room.
        std::vector<std::byte> unwritten;
    };
    trail_ledger(std::string path, common::unique_fd fd, common::file_id id)
        : path_(std::move(path)), fd_(std::move(fd)), id_(id) {}
    std::string attach_head();
    std::string load_head();
    std::string adopt_all(int dir_fd);
    // 0, ENOSPC when there was no room for it (a full disk, a quota, the
    // file size limit: nothing is lost, and the rest of an entry cut short is
    // written first next time), or another errno. *chained: the entry is in
    // the file, whole or in part, and the next one chains to it.
    int write_entry(proto::ledger_entry e, bool* chained = nullptr);
    int finish_cut_entry(); // under head_->mutex
    int sync_file();
    int write_all(std::span<const std::byte> bytes, std::size_t* written);
    std::optional<proto::ledger_entry> last_entry_of(const std::string& name);
    std::optional<proto::ledger_entry> unrecorded_rename_to(const std::string& name);
    std::string write_unrecorded_rename(const proto::ledger_entry& e);
    int read_foreign(int dir_fd, std::uint64_t size, std::uint64_t now,
                     std::optional<proto::sha256_state>* next);
    int read_into(int fd, std::uint64_t from, std::uint64_t to, proto::sha256_state& state);

    struct checkpoint {
        std::uint64_t end;
        proto::sha256_state state;
    };
    std::string path_;
    common::unique_fd fd_;
    common::file_id id_; // the file first opened, which hold() must find again
    std::shared_ptr<head_state> head_;
    mutable std::mutex state_mutex_; // what follows
    std::string name_;               // the tracked trail ("" none)
    proto::sha256_state committed_;  // at the last entry
    proto::sha256_state working_;    // at the file's end as written by append()
    std::deque<checkpoint> checkpoints_; // after each append since the last commit
    // A rename (or a renaming close) this receiver made whose entry found no
    // room: written, as a rename, when track() takes the trail up under its
    // new name, if the ledger is still `at` entries long. In memory only:
    // after a restart, or a reload that changes the host, the trail is
    // adopted under its new name, and verify reports the old one missing
    // (the receiver cannot tell its own rename from anyone else's then).
    struct unrecorded_rename {
        proto::ledger_entry entry;
        std::uint64_t at = 0;
    };
    std::optional<unrecorded_rename> unrecorded_rename_;
    std::uint64_t reread_ = 0;
};

} // namespace adist::receiver
