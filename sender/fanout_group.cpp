// The receivers of one dist directory (see fanout_group.hpp).
#include "sender/fanout_group.hpp"

#include <algorithm>
#include <set>

namespace adist::sender {

int fanout_group::find(const std::string& host) const {
    for (std::size_t i = 0; i < members_.size(); ++i) {
        if (members_[i].host == host) return static_cast<int>(i);
    }
    return -1;
}

void fanout_group::configure(const std::vector<std::pair<std::string, bool>>& hosts) {
    std::vector<fanout_member> members;
    std::vector<extra> extras;
    for (const auto& [host, optional] : hosts) {
        int i = find(host);
        members.push_back(i < 0 ? fanout_member{host, optional, {}} : std::move(members_[i]));
        members.back().optional = optional;
        extras.push_back(i < 0 ? extra{} : std::move(extras_[i]));
    }
    members_ = std::move(members);
    extras_ = std::move(extras);
}

// Keys of trails no longer in the directory are of no use any more.
void fanout_group::forget_absent(std::size_t i, const std::vector<std::string>& listing) {
    std::set<std::string> present;
    for (const auto& name : listing)
        present.insert(trail_key(name));
    auto absent = [&](const std::string& key) { return present.count(key) == 0; };
    std::erase_if(members_[i].has, absent);
    std::erase_if(extras_[i].close_sent, [&](const auto& c) { return absent(c.first); });
    std::erase_if(held_, [&](const auto& h) { return absent(h.first); });
}

void fanout_group::resumed(const std::string& host, const std::string& cursor,
                           const std::vector<std::string>& listing) {
    int found = find(host);
    if (found < 0) return;
    auto i = static_cast<std::size_t>(found);
    auto& x = extras_[i];
    forget_absent(i, listing);
    // A receiver holds no trail newer than its newest: one replaced by an
    // empty one, or whose trails were moved away, no longer holds what it
    // acknowledged before.
    auto newest = trail_key(cursor);
    std::erase_if(members_[i].has, [&](const std::string& key) { return key > newest; });
    std::vector<std::string> sent;
    for (const auto& c : x.close_sent)
        sent.push_back(c.first);
    for (auto& name : held_before(x.resumed ? sent : listing, cursor)) {
        auto key = trail_key(name);
        members_[i].has.insert(key);
        // Its CLOSE was sent and the acknowledgement lost: the file is known.
        auto c = x.close_sent.find(key);
        if (c != x.close_sent.end() && (c->second.dev != 0 || c->second.ino != 0))
            held_.try_emplace(key, c->second);
    }
    // Every CLOSE sent is now proven (before the cursor) or was not taken.
    x.close_sent.clear();
    x.resumed = true;
    if (!cursor.empty()) {
        // Removed while this receiver was away, but it had them already.
        std::erase_if(x.pending_gaps, [&](const auto& g) { return g.first <= newest; });
    }
}

void fanout_group::close_sent(const std::string& host, const std::string& name, dev_t dev,
                              ino_t ino, std::uint64_t size) {
    int i = find(host);
    if (i >= 0)
        extras_[static_cast<std::size_t>(i)].close_sent[trail_key(name)] = {name, dev, ino, size};
}

void fanout_group::close_refused(const std::string& host, const std::string& name) {
    int i = find(host);
    if (i >= 0) extras_[static_cast<std::size_t>(i)].close_sent.erase(trail_key(name));
}

// The pending gaps before `before_key`, as one line ("" when none), counted.
std::string fanout_group::report_gaps(std::size_t i, const std::string& before_key) {
    auto& x = extras_[i];
    std::uint64_t files = 0, bytes = x.pending_overflow_bytes;
    std::string first, last;
    for (auto it = x.pending_gaps.begin(); it != x.pending_gaps.end() && it->first < before_key;) {
        if (first.empty()) first = it->first;
        last = it->first;
        ++files;
        bytes += it->second;
        it = x.pending_gaps.erase(it);
    }
    if (files == 0 && x.pending_overflow_bytes == 0) return {};
    x.pending_overflow_bytes = 0;
    x.missed_files += files;
    return "optional receiver skipped " + std::to_string(files) + " trail(s) (" +
           std::to_string(bytes) + " bytes" +
           (first.empty() ? "" : ", " + first + "* to " + last + "*") +
           ") whose links were removed before it got them (every required receiver of " +
           directory_ + " has them); it continues with what still exists";
}

fanout_group::close_outcome fanout_group::closed(const std::string& host, const std::string& name,
                                                 dev_t dev, ino_t ino, std::uint64_t size) {
    close_outcome out;
    int found = find(host);
    if (found < 0) return out; // no longer configured here: holds nothing
    auto i = static_cast<std::size_t>(found);
    auto key = trail_key(name);
    members_[i].has.insert(key);
    extras_[i].close_sent.erase(key);
    extras_[i].pending_gaps.erase(key);
    if (members_[i].optional) out.gap = report_gaps(i, key);
    // Another receiver acknowledged another file, or this one at another
    // size, under this name: that receiver does not have what this one has.
    auto held = held_.find(key);
    out.other_file = held != held_.end() && (dev != 0 || ino != 0) &&
                     (held->second.dev != dev || held->second.ino != ino ||
                      (size != 0 && held->second.size != 0 && held->second.size != size));
    out.remove = !out.other_file && may_remove(members_, name);
    if (!out.remove) {
        out.waiting = needed_by(members_, name);
        if (dev != 0 || ino != 0) held_.emplace(key, held_link{name, dev, ino, size});
    }
    return out;
}

void fanout_group::removed(const std::string& name, std::uint64_t size) {
    auto key = trail_key(name);
    for (const auto& host : missed_by(members_, name)) {
        auto& x = extras_[static_cast<std::size_t>(find(host))];
        if (x.pending_gaps.size() < max_pending_gaps) {
            x.pending_gaps.emplace(key, size);
        } else {
            x.pending_overflow_bytes += size;
        }
    }
    for (std::size_t i = 0; i < members_.size(); ++i) {
        members_[i].has.erase(key);
        extras_[i].close_sent.erase(key);
    }
    held_.erase(key);
}

std::vector<held_link> fanout_group::settled() const {
    std::vector<held_link> out;
    for (const auto& [key, link] : held_) {
        if (may_remove(members_, link.name)) out.push_back(link);
    }
    return out;
}

bool fanout_group::kept_for_others(const std::string& host, const std::string& name) const {
    int i = find(host);
    if (i < 0 || members_[static_cast<std::size_t>(i)].has.count(trail_key(name)) == 0)
        return false;
    return held_for_others(members_, host, name);
}

std::uint64_t fanout_group::missed_bytes(const std::string& host) const {
    int i = find(host);
    if (i < 0) return 0;
    const auto& x = extras_[static_cast<std::size_t>(i)];
    std::uint64_t total = x.pending_overflow_bytes;
    for (const auto& g : x.pending_gaps)
        total += g.second;
    return total;
}

std::uint64_t fanout_group::missed_files(const std::string& host) const {
    int i = find(host);
    return i < 0 ? 0 : extras_[static_cast<std::size_t>(i)].missed_files;
}

} // namespace adist::sender
