// libFuzzer target: the supervisor's decoder of the worker's attribute
// requests (privileged/guard_executor). Whatever arrives from a possibly
// compromised worker: decoding never reads out of bounds; what decodes
// re-encodes to exactly the input, names a valid trail (nothing path-like),
// an absolute directory without NUL; and the decider allows a rename only
// where the trail rules do, a seal only of a final name, and nothing
// outside the configured directories.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>

#include "privileged/guard_executor.hpp"
#include "proto/trail_name.hpp"

using namespace adist::common;
using namespace adist::privileged;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    auto bytes = std::span(reinterpret_cast<const std::byte*>(data), size);
    auto r = decode_guard_request(bytes);
    if (!r) return 0;
    auto again = encode_guard_request(*r);
    if (again.size() != size) std::abort();
    for (std::size_t i = 0; i < size; ++i) {
        if (again[i] != bytes[i]) std::abort();
    }
    if (!adist::proto::is_valid_trail_name(r->name)) std::abort();
    if (r->name.find('/') != std::string::npos || r->to.find('/') != std::string::npos) std::abort();
    if (r->dir.empty() || r->dir[0] != '/' || r->dir.find('\0') != std::string::npos) std::abort();
    guard_policy policy{{"/var/audit/remote/web1"}, 1000};
    bool allowed = !check_guard_request(policy, *r);
    if (allowed && r->dir != "/var/audit/remote/web1") std::abort();
    if (allowed && r->op == guard_op::rename && !adist::proto::is_valid_rename(r->name, r->to)) {
        std::abort();
    }
    if (allowed && r->op == guard_op::seal) {
        auto k = adist::proto::classify_trail_name(r->name);
        if (k != adist::proto::trail_kind::terminated &&
            k != adist::proto::trail_kind::crash_recovery) {
            std::abort();
        }
    }
    return 0;
}
