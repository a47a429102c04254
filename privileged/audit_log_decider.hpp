// The auditd_log linker's decisions (see audit_log_linker.hpp), pure: given
// what was recorded, the generations of auditd's log seen now and the trails
// in the dist directory, which links to make and which to rename. Unit-tested.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace adist::privileged {

// One file of auditd's log directory ("audit.log", "audit.log.3"), as the
// linker found it (fstat of an O_PATH|O_NOFOLLOW descriptor).
struct log_generation {
    std::string file;
    std::uint64_t dev = 0, ino = 0, size = 0;
    unsigned mode = 0; // st_mode
    // Birth time (statx btime, ns; 0 when the filesystem has none): an
    // inode number is reused once a shipped generation is gone.
    std::int64_t birth = 0;
    bool current = false; // the log itself (auditd writes to it), not a rotated one
    // A rotated file still writable and changed in the last seconds (a
    // logrotate copy being made) is not settled: auditd makes each rotated
    // generation read-only (fchmod 0400) before it renames it.
    bool settled = true;
};

// A trail in the dist directory (dev, ino of the file behind the name).
struct dist_trail {
    std::string name;
    std::uint64_t dev = 0, ino = 0;
    std::int64_t birth = 0;
};

// A generation linked into the dist directory: its file and the name given.
struct linked_generation {
    std::uint64_t dev = 0, ino = 0;
    std::int64_t birth = 0;
    std::string name;         // "<start>.not_terminated" while auditd writes to it
    std::uint64_t size = 0;   // largest size seen (truncation check)
    std::int64_t seen_at = 0; // when its file was last seen in the log directory
    bool operator==(const linked_generation&) const = default;
};

// What the linker records durably (audit_log_state.cpp).
struct linker_state {
    std::vector<linked_generation> linked; // oldest first
    std::int64_t last_start = 0;           // start (epoch s) of the newest name given
    bool operator==(const linker_state&) const = default;
};

struct link_action {
    enum class kind { link, rename } what = kind::link;
    std::string file;               // link: the generation's file in the log directory
    std::uint64_t dev = 0, ino = 0; // link: the file it must still be
    std::string from;               // rename: the link's name now
    std::string to;                 // link and rename: the new name in the dist directory
    bool operator==(const link_action&) const = default;
};

struct link_decision {
    std::vector<link_action> actions;  // in this order
    std::vector<std::string> warnings; // each one line, for the log
    linker_state next;                 // to record once the actions are done
};

// "YYYYMMDDhhmmss" of `t` (epoch seconds, UTC).
std::string trail_time(std::int64_t t);

// How long a record outlives the last sight of its file. A listing of a
// directory that auditd renames in may miss a file (or open a name after it
// moved): one look without it proves nothing.
inline constexpr std::int64_t forget_after_s = 5;

// `seen` is oldest first (audit.log.N ... audit.log.1, audit.log). Rules:
//  - a name in the dist directory wins over the recorded one for its file
//    (a rename or link done before a crash, not recorded yet);
//  - the open generation (.not_terminated) that is no longer the current
//    log was rotated: renamed to <start>.<now>;
//  - the current log shorter than its largest size seen was truncated or
//    rewritten (possible tampering): its link is renamed
//    <start>.crash_recovery and the file, from now on another generation,
//    is linked again under a new name; nothing is spliced;
//  - each generation never linked is linked, oldest first, up to the first
//    rotated one that is not settled (linked on a later look), the current one
//    as <start>.not_terminated, a rotated one as <start>.<start>; every
//    start is later than every name given or found before (strictly);
//  - the open generation unseen for forget_after_s is closed as it is;
//  - records of files unseen for forget_after_s are dropped;
//  - with `dist_listed` (`dist` is the whole dist directory, not nothing),
//    an open link missing from it: of a rotated generation, it was renamed
//    and then shipped and removed before its record (a crash after the
//    sender's fast work): recorded as closed, with a warning, never renamed
//    or linked again; of the current log, someone removed it (the sender
//    never removes an open trail): linked again under the same name, so the
//    sender resumes where the receiver stopped, with a warning.
link_decision decide_links(const linker_state& state, const std::vector<log_generation>& seen,
                           const std::vector<dist_trail>& dist, std::int64_t now,
                           bool dist_listed = false);

} // namespace adist::privileged
