// libFuzzer target: the trail-name validator against an independent
// reference written from the grammar (protocol-v0.md): 14 digits, a dot,
// then 14 digits, "not_terminated" or "crash_recovery", where the digits are
// real UTC times (checked with the C library's timegm/gmtime_r round trip)
// and a terminated trail ends no earlier than it starts; nothing else, and
// nothing that could name a path ('/', "..", NUL) is ever valid. Also the
// rename and same-trail relations: a valid rename is one-way, from
// .not_terminated to a final name of the same trail.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <ctime>
#include <string>
#include <string_view>

#include "proto/trail_name.hpp"

using namespace adist::proto;

namespace {

bool digits(std::string_view s) {
    for (char c : s) {
        if (c < '0' || c > '9') return false;
    }
    return true;
}

// Seconds since the epoch of 14 digits naming a real time from 1970 on, or -1.
long long real_time(std::string_view s) {
    if (s.size() != 14 || !digits(s)) return -1;
    std::tm tm{};
    auto field = [&](std::size_t at, std::size_t len) { return std::stoi(std::string(s.substr(at, len))); };
    tm.tm_year = field(0, 4) - 1900;
    tm.tm_mon = field(4, 2) - 1;
    tm.tm_mday = field(6, 2);
    tm.tm_hour = field(8, 2);
    tm.tm_min = field(10, 2);
    tm.tm_sec = field(12, 2);
    std::tm want = tm;
    std::time_t t = ::timegm(&tm);
    std::tm back{};
    if (t < 0 || ::gmtime_r(&t, &back) == nullptr) return -1;
    bool same = back.tm_year == want.tm_year && back.tm_mon == want.tm_mon &&
                back.tm_mday == want.tm_mday && back.tm_hour == want.tm_hour &&
                back.tm_min == want.tm_min && back.tm_sec == want.tm_sec;
    return same ? static_cast<long long>(t) : -1;
}

trail_kind reference(std::string_view n) {
    if (n.size() != 29 || n[14] != '.') return trail_kind::invalid;
    long long start = real_time(n.substr(0, 14));
    if (start < 0) return trail_kind::invalid;
    auto tail = n.substr(15);
    if (tail == "not_terminated") return trail_kind::not_terminated;
    if (tail == "crash_recovery") return trail_kind::crash_recovery;
    long long end = real_time(tail);
    return end >= start ? trail_kind::terminated : trail_kind::invalid;
}

void require(bool ok) {
    if (!ok) std::abort();
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    // Two names: split at the first byte's value.
    std::string_view all(reinterpret_cast<const char*>(data), size);
    std::size_t cut = size == 0 ? 0 : data[0] % (size + 1);
    std::string_view a = all.substr(0, cut), b = all.substr(cut);
    for (auto n : {a, b}) {
        auto k = classify_trail_name(n);
        require(k == reference(n));
        if (k != trail_kind::invalid) {
            require(*trail_start_time(n) == real_time(n.substr(0, 14)));
            require(n.find('/') == std::string_view::npos && n.find('\0') == std::string_view::npos);
            require(n != "." && n != ".." && n.size() == trail_name_length);
        }
    }
    bool same = same_trail(a, b);
    require(same == same_trail(b, a));
    require(same == (reference(a) != trail_kind::invalid && reference(b) != trail_kind::invalid &&
                     a.substr(0, 15) == b.substr(0, 15)));
    if (is_valid_rename(a, b)) {
        require(same && reference(a) == trail_kind::not_terminated);
        require(reference(b) == trail_kind::terminated || reference(b) == trail_kind::crash_recovery);
        require(!is_valid_rename(b, a)); // one way only
    }
    return 0;
}
