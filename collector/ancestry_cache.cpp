// The cached parent chain (ancestry_cache.hpp): pidfd_open, then /proc,
// then the pidfd's poll says whether what was read was that process's.
#include "collector/ancestry_cache.hpp"

#include "collector/peer_info.hpp"

#include <poll.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace adist::collector {
namespace {

bool alive(const common::unique_fd& pidfd) {
    pollfd p{pidfd.get(), POLLIN, 0};
    return pidfd && ::poll(&p, 1, 0) == 0;
}

} // namespace

bool ancestry_cache::parents_of(std::int64_t ppid, std::size_t max,
                                std::vector<trusted_info::parent>& out, time_point now,
                                int peer_pidfd) {
    // The fresh cached entries from ppid up, and one poll for their pidfds
    // and the peer's: a system call per record instead of one per process.
    // (The map is not changed until the chain is used: its pointers hold.)
    std::vector<pollfd> fds;
    std::vector<const entry*> chain;
    fds.push_back({peer_pidfd, POLLIN, 0}); // poll() skips a negative fd
    for (std::int64_t pid = ppid; chain.size() < max && pid > 0;) {
        auto it = map_.find(pid);
        if (it == map_.end() || now - it->second.at >= ttl_) break;
        chain.push_back(&it->second);
        fds.push_back({it->second.pidfd.get(), POLLIN, 0});
        pid = it->second.ppid;
    }
    bool polled = ::poll(fds.data(), fds.size(), 0) >= 0;
    bool peer_alive = polled && peer_pidfd >= 0 && fds[0].revents == 0;
    std::size_t i = 0;
    for (; polled && i < chain.size() && fds[i + 1].revents == 0; ++i) {
        out.push_back(chain[i]->self);
        ppid = chain[i]->ppid;
        ++hits_;
    }
    if (i < chain.size()) ppid = chain[i]->self.pid; // exited (or the poll failed): read again below
    // The rest, one process at a time.
    for (; i < max && ppid > 0; ++i) {
        const entry* e = find(ppid, now);
        if (!e) break;
        out.push_back(e->self);
        ppid = e->ppid;
    }
    return peer_alive;
}

const ancestry_cache::entry* ancestry_cache::find(std::int64_t pid, time_point now) {
    auto it = map_.find(pid);
    if (it != map_.end()) {
        if (now - it->second.at < ttl_ && alive(it->second.pidfd)) {
            ++hits_;
            return &it->second;
        }
        map_.erase(it);
    }
    ++misses_;
    return read(pid, now);
}

const ancestry_cache::entry* ancestry_cache::read(std::int64_t pid, time_point now) {
    // The pidfd first: if it still reports no exit after /proc was read,
    // /proc/<pid> was this process's.
    common::unique_fd pidfd(int(::syscall(SYS_pidfd_open, pid_t(pid), 0)));
    auto facts = read_proc_process(pid);
    if (!facts.stat.ok) return nullptr;
    entry e{{}, {pid, facts.euid, facts.stat.comm}, facts.stat.ppid, now};
    if (!alive(pidfd)) {
        scratch_ = std::move(e); // read, but nothing to vouch that it stays so
        return &scratch_;
    }
    if (map_.size() >= max_entries_) {
        std::erase_if(map_, [&](const auto& kv) { return now - kv.second.at >= ttl_; });
        if (map_.size() >= max_entries_) map_.clear();
    }
    e.pidfd = std::move(pidfd);
    return &map_.insert_or_assign(pid, std::move(e)).first->second;
}

} // namespace adist::collector
