// Which local trail the transfer sends and when it ends (see transfer.hpp):
// the resume plan after the handshake, older trails reported, opening a
// trail (type, owner, retries), and at its end CLOSE, a rename or waiting.
// Ordering: after a `.not_terminated` file is seen renamed, it is read to the
// end once more before CLOSE, so bytes written just before the rename go too.
#include "sender/transfer.hpp"
#include "sender/digest_checkpoint.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <algorithm>
#include <cerrno>
#include <random>
#include <vector>
#include "common/log.hpp"
#include "proto/trail_name.hpp"
#include "sender/resume.hpp"

namespace adist::sender {
using proto::command;

namespace {
// A delay cut by up to a fifth at random, like the reconnect backoff: retries
// of many senders do not line up.
std::chrono::milliseconds jittered(std::chrono::milliseconds d) {
    thread_local std::minstd_rand rng{std::random_device{}()};
    std::uniform_int_distribution<long> dist(d.count() * 4 / 5, d.count());
    return std::chrono::milliseconds(dist(rng));
}
} // namespace

// Returns false when the connection should be dropped and retried later.
bool transfer::start_resume(const std::string& remote_name, std::uint64_t remote_size) {
    bool ok = true;
    auto local = list_trails(dist_.dir_fd, dist_.dir_path, &ok, dist_.notes);
    if (!ok) return false; // never infer anything from a listing that failed
    auto plan = plan_resume(local, remote_name);
    for (const auto& name : plan.conflicts) {
        std::string why = "the receiver already has this trail as " + remote_name;
        dist_.status->error("not sending " + name + ": " + why);
        if (!dist_.repeats->due("older:" + name, std::chrono::steady_clock::now(), why)) continue;
        log::error(prefix_, "not sending ", name, ": ", why);
    }
    last_ = remote_name;
    report_older(local);
    if (plan.continuation) {
        resume_ = continuation{*plan.continuation, remote_name, remote_size};
    } else if (!remote_name.empty() &&
               proto::classify_trail_name(remote_name) == proto::trail_kind::not_terminated) {
        // Open-ended there, so its producer may still be renaming it here.
        log::debug(prefix_, "the receiver's newest trail ", remote_name,
                   " is not in the dist directory; looking for it again before anything newer");
        unlisted_ = continuation{{}, remote_name, remote_size};
    }
    return true;
}

// With no trail open: the receiver's newest reopened, or the next trail
// opened, or (again) something happened that calls for another look at
// once; reconnect when the continuation vanished (renamed meanwhile: plan
// again) or dist was removed.
transfer::pick transfer::pick_trail() {
    if (resume_) {
        auto r = open_local(resume_->local_name, resume_->remote_name, resume_->offset);
        if (r == open_result::vanished) return pick::reconnect;
        if (r == open_result::opened)
            log::info(prefix_, "resuming ", resume_->local_name, " at offset ", resume_->offset);
        if (r == open_result::retry_later) return pick::go_on;
        resume_.reset();
        return cur_ ? pick::go_on : pick::again;
    }
    // Up to the next trail only: a backlog is not examined whole per pick.
    auto local =
        list_trails_through_next(dist_.dir_fd, dist_.dir_path, last_, nullptr, dist_.notes);
    if (unlisted_) {
        if (auto found = plan_resume(local, unlisted_->remote_name).continuation) {
            resume_ = std::move(*unlisted_);
            resume_->local_name = *found;
            unlisted_.reset();
            return pick::again;
        }
    }
    report_older(local);
    if (auto next = next_trail(local, last_)) {
        if (open_local(*next, *next, 0) == open_result::retry_later) return pick::go_on;
        unlisted_.reset();  // a newer trail goes first: the receiver's newest stays as it is
        return pick::again; // opened, skipped, or renamed: list again
    }
    if (dist_removed()) {
        log::warning(prefix_, "dist directory ", dist_.dir_path,
                     " was removed; reconnecting to open it again");
        return pick::reconnect;
    }
    return pick::go_on;
}

// Trails passed over stay in the dist directory and are never sent: those
// that sort before the last one sent (the receiver only accepts its newest
// trail or a newer one; see resume_plan::older) and those skipped with a
// reason. Each is an error in the status, logged the first time and again
// every repeat interval while its link is there (a wake-up is set for that),
// and counted as unacknowledged (unacked_bytes). Links whose CLOSE is in
// flight, and the open trail, are ours.
void transfer::report_older(const std::vector<std::string>& local) {
    auto now = std::chrono::steady_clock::now();
    for (const auto& name : local) {
        if (last_.empty() || proto::trail_start(name) > proto::trail_start(last_)) break;
        auto key = "older:" + name;
        const std::string* why = dist_.repeats->why(key);
        if (why == nullptr && proto::trail_start(name) == proto::trail_start(last_))
            continue; // continued or just sent
        bool closing = std::any_of(in_flight_.begin(), in_flight_.end(), [&](const auto& r) {
            return r.cmd == command::close && r.name == name;
        });
        if (closing || (cur_ && cur_->local_name == name)) continue;
        // Fan-out: this receiver has it; the link waits for another one.
        if (dist_.fanout != nullptr && dist_.fanout->kept_for_others(dist_.host, name)) continue;
        if (dist_.repeats->due(key, now)) {
            std::string what = "not sending " + dist_.dir_path + "/" + name + ": " +
                               (why != nullptr ? *why
                                               : "it sorts before " + last_ +
                                                     ", which the receiver already has, and the "
                                                     "receiver only accepts newer trails (shipped "
                                                     "before a crash of this sender, or a clock "
                                                     "set back)");
            log::error(prefix_, what, "; leaving the link in place");
            dist_.status->error(what);
        }
        if (auto t = dist_.repeats->next(key)) wake_at(*t);
    }
}

// Passes over `local` for good: an error in the status, logged (unless the
// caller just did) the first time and, by report_older, again every repeat
// interval while its link is there.
transfer::open_result transfer::skip(const std::string& local, std::string why,
                                     bool logged) {
    std::string what = "not sending " + dist_.dir_path + "/" + local + ": " + why;
    dist_.status->error(what);
    if (dist_.repeats->due("older:" + local, std::chrono::steady_clock::now(), std::move(why)) &&
        !logged) {
        log::error(prefix_, what);
    }
    last_ = local;
    return open_result::skipped;
}

// A file that vanished between the listing and the open (auditd renamed it)
// is looked up again by the caller. One that is not a regular file is
// skipped for good; one that cannot be opened is retried on the
// open_retry_delay schedule without holding the connection, then skipped, so
// that it never blocks the trails after it.
transfer::open_result transfer::open_local(const std::string& local, const std::string& remote,
                                           std::uint64_t offset) {
    auto now = std::chrono::steady_clock::now();
    if (const auto* f = dist_.notes->find_failure(local); f != nullptr && f->retry_at > now) {
        wake_at(f->retry_at);
        return open_result::retry_later;
    }
    // O_NONBLOCK: a FIFO swapped in after the listing must not hang us.
    int fd = ::openat(dist_.dir_fd, local.c_str(),
                      O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0 && errno == ENOENT) return open_result::vanished;
    struct stat st {};
    if (fd >= 0 && ::fstat(fd, &st) == 0 && !S_ISREG(st.st_mode)) {
        ::close(fd);
        return skip(local, "not a regular file");
    }
    // Trails come from the audit daemon (root), from our own user or, in
    // the collector's dist, from the collector's: a file of anybody else was
    // put there to be shipped as this host's history.
    if (fd >= 0 && st.st_uid != 0 && st.st_uid != ::geteuid() &&
        (dist_.other_owner == 0 || st.st_uid != dist_.other_owner)) {
        ::close(fd);
        return skip(local, "it belongs to uid " + std::to_string(st.st_uid) +
                               ", not to root, the daemon's user or the collector's");
    }
    if (fd < 0 || ::fstat(fd, &st) != 0) {
        auto error = common::errno_text(errno);
        if (fd >= 0) ::close(fd);
        if (fd < 0 && errno == ELOOP) { // a symlink swapped in after the listing
            return skip(local, "a symbolic link");
        }
        auto* f = dist_.notes->failure(local);
        auto delay = f != nullptr ? open_retry_delay(++f->failures) : std::nullopt;
        if (!delay) {
            bool logged = dist_.notes->first("gave-up:" + local);
            if (logged) {
                log::error(prefix_, "giving up on ", dist_.dir_path, "/", local, ": ", error,
                           "; it is not shipped and its link stays. The trails after it go on");
            }
            return skip(local, "it could not be opened (" + error + "); given up", logged);
        }
        if (f->failures == 1) {
            log::error(prefix_, "cannot open ", dist_.dir_path, "/", local, ": ", error,
                       "; retrying for up to 31 s, then skipping it");
        }
        f->retry_at = now + jittered(*delay);
        wake_at(f->retry_at);
        return open_result::retry_later;
    }
    dist_.notes->clear_failure(local);
    if (static_cast<std::uint64_t>(st.st_size) < offset) {
        ::close(fd);
        return skip(local, "it has " + std::to_string(st.st_size) +
                               " bytes but the receiver already has " + std::to_string(offset) +
                               " (truncated after they were shipped?)");
    }
    cur_.emplace(open_trail{common::unique_fd(fd), local, remote, st.st_dev, st.st_ino, offset, {},
                            false, {}, {}});
    if (std::string why; version_ >= 1 && !check_prefix(*cur_, offset, &why)) {
        cur_.reset();
        log::alert(prefix_, "not sending more of ", dist_.dir_path, "/", local, ": ", why,
                   "; leaving the link in place");
        return skip(local, why, true);
    }
    dist_.watch->watch_file(dist_.dir_path + "/" + local);
    log::debug(prefix_, "sending ", local, " (", st.st_size, " bytes now) from offset ", offset);
    queue_name(command::open, remote, false, offset);
    dist_.status->file = local;
    dist_.status->sent_offset = offset;
    return open_result::opened;
}

// Version 1: starts the file's running SHA-256 with its first `size` bytes,
// which must be what the receiver stored: a replica that diverged (changed
// on the receiver, or this file lost a tail in a crash and was written
// again) is caught before anything is appended after it. The digest starts
// from the host's checkpoint (the last acknowledged offset, kept across
// connections and restarts) when it has one for this file, so only the
// bytes past it are read; if that does not match, the whole prefix is read
// before the replica is called divergent.
bool transfer::check_prefix(open_trail& t, std::uint64_t size, std::string* why) {
    if (size == 0) {
        t.digest.emplace();
        return true;
    }
    auto start = dist_.checkpoint != nullptr ? dist_.checkpoint->start_for(t.dev, t.ino, size)
                                             : std::nullopt;
    if (start) {
        auto from = start->size();
        t.digest = std::move(start);
        if (hash_prefix(t, size, why) && t.digest->current().sha256 == remote_prefix_) {
            log::debug(prefix_, t.local_name, ": digest continued from the checkpoint at offset ",
                       from, ", ", size - from, " bytes read to reach ", size);
            return true;
        }
        log::info(prefix_, t.local_name, ": the digest checkpoint at offset ", from,
                  " does not lead to the receiver's digest; reading the whole prefix");
    }
    t.digest.emplace();
    if (!hash_prefix(t, size, why)) return false;
    if (t.digest->current().sha256 == remote_prefix_) {
        // The receiver holds these bytes durably: the new checkpoint.
        if (dist_.checkpoint != nullptr)
            dist_.checkpoint->acknowledged(t.dev, t.ino, *t.digest, t.fd.get(),
                                           std::chrono::steady_clock::now());
        return true;
    }
    *why = "its first " + std::to_string(size) + " bytes differ from the receiver's copy (SHA-256 " +
           proto::format_fingerprint(remote_prefix_).substr(7) +
           "): the receiver's file was changed, or this one is not the file it was; nothing is "
           "appended after a prefix that differs";
    return false;
}

// Feeds t.digest the file's bytes from where it stands up to `size`.
bool transfer::hash_prefix(open_trail& t, std::uint64_t size, std::string* why) {
    if (t.digest->size() >= size) return true;
    std::vector<std::byte> buf(1 << 20);
    for (std::uint64_t off = t.digest->size(); off < size;) {
        auto want = static_cast<std::size_t>(std::min<std::uint64_t>(buf.size(), size - off));
        ssize_t n = ::pread(t.fd.get(), buf.data(), want, static_cast<off_t>(off));
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            *why = "cannot read its first " + std::to_string(size) + " bytes to compare them with "
                   "the receiver's: " + (n < 0 ? common::errno_text(errno) : "it got shorter");
            return false;
        }
        t.digest->update(std::span(buf.data(), static_cast<std::size_t>(n)));
        off += static_cast<std::uint64_t>(n);
    }
    return true;
}

// At the end of the open file: CLOSE it if it is complete, note a rename (and
// read once more), or report that there is nothing to do until it grows.
bool transfer::handle_eof() {
    auto kind = proto::classify_trail_name(cur_->local_name);
    if (cur_->vanished) {
        // Read to the end once more (done), then close under the receiver's name.
        queue_close(cur_->remote_name, false);
        last_ = cur_->local_name;
        cur_.reset();
        dist_.watch->unwatch_file();
        return true;
    }
    if (kind == proto::trail_kind::not_terminated && !cur_->renamed_to) {
        bool ok = true;
        auto now = current_name(dist_.dir_fd, dist_.dir_path, cur_->local_name, cur_->ino, &ok);
        if (!ok) {
            fail(); // cannot tell a rename from a removal: retry later
            return true;
        }
        if (!now) {
            log::warning(prefix_, cur_->local_name,
                         " disappeared from the dist directory; closing it as it is");
            cur_->vanished = true;
            return true; // read to the end once more before CLOSE
        }
        if (*now == cur_->local_name) {
            if (!left_behind()) {
                log::trace(prefix_, "all of ", cur_->local_name, " (", cur_->offset,
                           " bytes) is sent; waiting for it to grow or be renamed");
                return false; // still open-ended: wait for more
            }
            log::warning(prefix_, cur_->local_name, " was left behind: a newer trail exists and it "
                         "has not changed for ", abandoned_grace.count() / 1000,
                         " s; closing it under this name");
            queue_close(cur_->remote_name, true);
            last_ = cur_->local_name;
            cur_.reset();
            dist_.watch->unwatch_file();
            return true;
        }
        log::debug(prefix_, cur_->local_name, " was renamed to ", *now);
        cur_->renamed_to = *now;
        return true; // read to the end once more before CLOSE
    }
    std::string final_name = cur_->renamed_to.value_or(cur_->local_name);
    queue_close(final_name, true);
    last_ = final_name;
    cur_.reset();
    dist_.watch->unwatch_file();
    return true;
}

// At the end of an open-ended trail that was not renamed: true once a newer
// trail exists and this one has not changed for abandoned_grace.
bool transfer::left_behind() {
    auto local = list_trails_through_next(dist_.dir_fd, dist_.dir_path, cur_->local_name);
    if (!next_trail(local, cur_->local_name)) {
        cur_->left_behind_since.reset();
        return false;
    }
    auto now = std::chrono::steady_clock::now();
    if (!cur_->left_behind_since) cur_->left_behind_since = now;
    auto due = *cur_->left_behind_since + abandoned_grace;
    if (now >= due) return true;
    wake_at(due);
    return false;
}

} // namespace adist::sender
