// libFuzzer target for proto/handshake: feeds arbitrary bytes to both state
// machines in the sizes they ask for. They must never crash, never ask for
// more than one name field at a time, and only finish with a valid resume.
#include <cstddef>
#include <cstdint>

#include "proto/handshake.hpp"
#include "proto/trail_name.hpp"

using namespace adist::proto;

namespace {
void require(bool c) {
    if (!c) __builtin_trap();
}

challenge fixed() {
    challenge c{};
    c.fill(std::byte{7});
    return c;
}
} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::span<const std::byte> in(reinterpret_cast<const std::byte*>(data), size);
    receiver_handshake r(fixed());
    std::size_t off = 0;
    while (r.want() > 0 && in.size() - off >= r.want()) {
        require(r.want() <= name_field_size);
        std::size_t n = r.want();
        auto step = r.feed(in.subspan(off, n));
        off += n;
        if (step.status == handshake_status::need_host) {
            require(r.peer_name().size() < name_field_size);
            step = r.host_found("password");
        }
        if (step.status == handshake_status::need_resume) step = r.resume(1, "");
        if (step.status == handshake_status::failed || step.status == handshake_status::done) break;
    }
    sender_handshake s("fuzz", "password", fixed());
    s.start();
    off = 0;
    handshake_step st;
    while (s.want() > 0 && in.size() - off >= s.want()) {
        std::size_t n = s.want();
        st = s.feed(in.subspan(off, n));
        off += n;
    }
    if (st.status == handshake_status::done) {
        require(s.resume_name().empty() || is_valid_trail_name(s.resume_name()));
    }
    return 0;
}
