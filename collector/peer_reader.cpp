// The two-thread peer reading of a round (peer_reader.hpp).
#include "collector/peer_reader.hpp"

#include <exception>
#include <utility>

namespace adist::collector {
namespace {

void read_each(std::span<peer_reader::job> jobs, name_cache& names, ancestry_cache& parents) {
    for (auto& j : jobs)
        j.info = read_peer(j.fd, names, parents, max_parents, &j.cred);
}

} // namespace

peer_reader::~peer_reader() {
    if (!thread_.joinable()) return;
    {
        std::lock_guard lock(mutex_);
        quit_ = true;
    }
    cv_.notify_all();
    thread_.join();
}

void peer_reader::start(const name_cache& names) {
    if (thread_.joinable()) return;
    names_ = names;
    thread_ = std::thread([this] { run(); });
}

void peer_reader::read(std::span<job> jobs, name_cache& names, ancestry_cache& parents) {
    if (!thread_.joinable() || jobs.size() < min_shared) {
        read_each(jobs, names, parents);
        return;
    }
    std::size_t mine = jobs.size() / 2;
    {
        std::lock_guard lock(mutex_);
        work_ = jobs.subspan(mine);
        has_work_ = true;
    }
    cv_.notify_all();
    std::exception_ptr failed; // the helper works on `jobs` until it is done
    try {
        read_each(jobs.first(mine), names, parents);
    } catch (...) {
        failed = std::current_exception();
    }
    std::unique_lock lock(mutex_);
    cv_.wait(lock, [this] { return !has_work_; });
    if (!failed) failed = std::exchange(helper_failed_, nullptr);
    if (failed) std::rethrow_exception(failed);
}

void peer_reader::run() {
    std::unique_lock lock(mutex_);
    while (true) {
        cv_.wait(lock, [this] { return has_work_ || quit_; });
        if (quit_) return;
        auto work = work_;
        lock.unlock();
        // read_peer's lookups fail soft (an empty field): only an allocation
        // throws, and read() throws it on the calling thread.
        std::exception_ptr failed;
        try {
            read_each(work, names_, parents_);
        } catch (...) {
            failed = std::current_exception();
        }
        lock.lock();
        helper_failed_ = failed;
        has_work_ = false;
        cv_.notify_all();
    }
}

} // namespace adist::collector
