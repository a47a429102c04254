// Writing the session directories of `auditdistd sudo-extract`
// (sudo_tree.hpp). Names under OUT_DIR come only from session ids checked
// to be 32 hex digits; files are opened with O_NOFOLLOW.
#include "daemon/sudo_tree.hpp"

#include "common/fd.hpp"
#include "daemon/sudo_record_parse.hpp"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <iostream>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

namespace adist::daemon {
namespace {

bool valid_id(std::string_view id) {
    return id.size() == 32 && id.find_first_not_of("0123456789abcdef") == std::string_view::npos;
}

std::string signal_name(std::uint64_t signo) {
    const char* name = signo < 65 ? ::sigabbrev_np(int(signo)) : nullptr;
    return name ? name : std::to_string(signo);
}

} // namespace

void sudo_tree::gap(const std::string& where, const std::string& what) {
    ++gaps_;
    std::cout << "gap: " << where << ": " << what << "\n";
}

bool sudo_tree::append(const std::string& session, const char* file, std::string_view bytes) {
    std::string path = session + "/" + file;
    common::unique_fd fd(::openat(out_, path.c_str(),
                                  O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600));
    // A finished session's timing is read-only: make it writable again for
    // a record that comes after its end (it is reported as a gap anyway).
    if (!fd && errno == EACCES && ::fchmodat(out_, path.c_str(), 0600, 0) == 0)
        fd.reset(::openat(out_, path.c_str(), O_WRONLY | O_APPEND | O_NOFOLLOW | O_CLOEXEC));
    std::size_t done = 0;
    while (fd && done < bytes.size()) {
        ssize_t n = ::write(fd.get(), bytes.data() + done, bytes.size() - done);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        done += std::size_t(n);
    }
    if (done == bytes.size()) return true;
    std::cout << "error: cannot write " << path << ": " << std::strerror(errno) << "\n";
    return false;
}

void sudo_tree::report_open(const extract_state& state) {
    for (const auto& [id, s] : state.sessions)
        gap("session " + id,
            "no close yet (still running, or its host or collector died); sseq " +
                std::to_string(s.next_sseq) + " expected next");
}

void sudo_tree::finish(const std::string& session) {
    std::string path = session + "/timing";
    ::fchmodat(out_, path.c_str(), 0400, 0);
}

void sudo_tree::apply(const std::string& file, std::uint64_t offset, std::string_view line,
                      extract_state& state) {
    std::string where = file + " at " + std::to_string(offset);
    auto parsed = parse_sudo_record(line);
    if (auto* why = std::get_if<std::string>(&parsed)) {
        gap(where, "record skipped: " + *why);
        return;
    }
    auto& p = std::get<parsed_record>(parsed);
    const auto& r = p.r;
    ++records_;
    for (const auto& g : record_gaps(state, r, heartbeat_))
        gap(where, g);
    state.next_seq = r.seq + 1;
    state.last_time_ns = std::max(state.last_time_ns, r.time_ns);
    if (r.type == "tamper") gap(where, "the collector found its file tampered with: " + p.text);
    if (r.type == "recovery") gap(where, "the collector was killed and restarted");
    if (r.session.empty()) return;
    if (!valid_id(r.session)) {
        gap(where, "a session id that is not 32 hex digits");
        return;
    }
    if (r.type == "open") {
        if (state.sessions.count(r.session) || ::mkdirat(out_, r.session.c_str(), 0700) != 0) {
            gap(where, "session " + r.session + " opened twice (or its directory exists)");
            return;
        }
        ++opened_;
        append(r.session, "log", iolog_log_text(p.open));
        append(r.session, "log.json", iolog_log_json(p.open));
        append(r.session, "timing", "");
        state.sessions[r.session] = extract_session{r.sseq + 1, r.elapsed_ns, {}};
        return;
    }
    auto it = state.sessions.find(r.session);
    if (it == state.sessions.end()) return; // reported by record_gaps
    auto& s = it->second;
    std::uint64_t delay = r.elapsed_ns > s.last_elapsed ? r.elapsed_ns - s.last_elapsed : 0;
    s.next_sseq = r.sseq + 1;
    if (r.type == "io") {
        int n = stream_number(r.stream);
        s.offsets[std::size_t(n)] = r.offset + r.count;
        if (p.withheld) return; // echo was off: neither bytes nor an event
        append(r.session, r.stream.c_str(), p.bytes);
        append(r.session, "timing",
               timing_line(iolog_event(n), delay, std::to_string(p.bytes.size())));
    } else if (r.type == "winsize") {
        append(r.session, "timing",
               timing_line(iolog_event::winsize, delay,
                           std::to_string(p.lines) + " " + std::to_string(p.cols)));
    } else if (r.type == "suspend") {
        append(r.session, "timing", timing_line(iolog_event::suspend, delay, signal_name(p.signal)));
    } else if (r.type == "close" || r.type == "lost") {
        if (r.type == "lost") gap(where, "session " + r.session + " lost: " + p.text);
        if (r.type == "close") ++closed_;
        finish(r.session);
        state.sessions.erase(it);
        return;
    }
    s.last_elapsed = r.elapsed_ns;
}

} // namespace adist::daemon
