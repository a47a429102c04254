// The receivers (sender `host` blocks) of one dist directory, shared by
// their uplinks: what each receiver is known to hold, when a trail's link may
// be removed (fanout_decider.hpp decides), and the gaps of optional
// receivers. Nothing is stored on disk: after a restart, a receiver's resume
// point (its cursor) says what it holds. A directory with one host is a group
// of one, which removes each link at its CLOSE acknowledgement as before.
// Lives on the sender's io_context thread only.
#pragma once

#include "sender/fanout_decider.hpp"

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <sys/types.h>
#include <utility>
#include <vector>

namespace adist::sender {

// A dist link and the file it led to when a receiver acknowledged it.
struct held_link {
    std::string name;
    dev_t dev = 0;
    ino_t ino = 0;
    std::uint64_t size = 0; // the bytes acknowledged (0: not known)
};

class fanout_group {
  public:
    // Pending gaps kept per optional receiver; beyond, only counted.
    static constexpr std::size_t max_pending_gaps = 65536;

    explicit fanout_group(std::string directory) : directory_(std::move(directory)) {}
    const std::string& directory() const { return directory_; }

    // The hosts configured on this directory, (name, optional), at the start
    // and on each reload: what is known of hosts that stay is kept.
    void configure(const std::vector<std::pair<std::string, bool>>& hosts);
    // More than one receiver takes this directory.
    bool shared() const { return members_.size() > 1; }

    // After a handshake: the receiver's newest trail `cursor` ("" when it has
    // none) and the directory's trails. What the cursor proves held counts as
    // acknowledged: at the first handshake any listed trail before it, later
    // only trails whose CLOSE this receiver was sent and did not refuse (a
    // lost acknowledgement; with the file named, a CLOSE that carried the
    // file's digest, settled() then offers its link). A CLOSE of the
    // cursor's trail or a newer one was not taken: forgotten. Trails newer
    // than the cursor are no longer taken as held (a receiver replaced by
    // an empty one).
    void resumed(const std::string& host, const std::string& cursor,
                 const std::vector<std::string>& listing);
    // A CLOSE of `name`, the file (dev, ino) of `size` bytes, was sent to
    // `host`; or the receiver refused it or a request before it (it proves
    // nothing then, whatever comes later).
    void close_sent(const std::string& host, const std::string& name, dev_t dev = 0, ino_t ino = 0,
                    std::uint64_t size = 0);
    void close_refused(const std::string& host, const std::string& name);

    struct close_outcome {
        bool remove = false;              // every required receiver holds it
        std::vector<std::string> waiting; // the required receivers that do not yet
        std::string gap;                  // trails an optional receiver will never get ("" none)
        // Another receiver acknowledged another file, or another size, under
        // this trail's name: the link stays (the name was given to another
        // file, or the file changed in between).
        bool other_file = false;
    };
    // `host` acknowledged the CLOSE of `name`, the file (dev, ino) of `size`
    // bytes it sent.
    close_outcome closed(const std::string& host, const std::string& name, dev_t dev = 0,
                         ino_t ino = 0, std::uint64_t size = 0);
    // The link of `name` (`size` bytes) was removed (or found gone).
    void removed(const std::string& name, std::uint64_t size);

    // Links acknowledged by a receiver in this run and kept for others that
    // may go now (after a reload made a host optional or removed it, or a
    // resume point showed that the others hold them): the name and the file
    // that was acknowledged.
    std::vector<held_link> settled() const;

    // `host` holds `name` and its link stays only for another receiver: not
    // this host's backlog, nor an error of it.
    bool kept_for_others(const std::string& host, const std::string& name) const;
    // Optional receivers: bytes and trails removed before they got them.
    std::uint64_t missed_bytes(const std::string& host) const;
    std::uint64_t missed_files(const std::string& host) const;

  private:
    struct extra {
        bool resumed = false;
        std::map<std::string, held_link> close_sent;       // by key: CLOSE sent, no reply yet
        std::map<std::string, std::uint64_t> pending_gaps; // key -> bytes, not reported yet
        std::uint64_t pending_overflow_bytes = 0;
        std::uint64_t missed_files = 0; // reported gaps, since the start
    };
    int find(const std::string& host) const;
    void forget_absent(std::size_t i, const std::vector<std::string>& listing);
    std::string report_gaps(std::size_t i, const std::string& before_key);

    std::string directory_;
    std::vector<fanout_member> members_; // members_[i] and extras_[i]: one host
    std::vector<extra> extras_;
    std::map<std::string, held_link> held_; // by key: acknowledged, kept for others
};

} // namespace adist::sender
