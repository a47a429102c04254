// libFuzzer target: the sudo plugin's frames as the collector reads them
// (collector/sudo_frame.cpp) and the session decider and record encoder
// (sudo_session.cpp, sudo_text.cpp) on any bytes, read as a stream of
// frames. Every record the session writes is sealed, starts as record_seq
// reads it, and the bytes of an io record decode back from its base64.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "collector/sudo_frame.hpp"
#include "collector/sudo_session.hpp"
#include "collector/sudo_text.hpp"
#include "sudo/sudo_frames.h"

using namespace adist::collector;

namespace {
void require(bool ok) {
    if (!ok) std::abort();
}
} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view in(reinterpret_cast<const char*>(data), size);
    sudo_session session("0123456789abcdef0123456789abcdef", {1, 0});
    for (std::uint64_t seq = 0; in.size() >= ADIST_SUDO_HEADER_SIZE; ++seq) {
        auto head = decode_sudo_header(in.substr(0, ADIST_SUDO_HEADER_SIZE));
        in.remove_prefix(ADIST_SUDO_HEADER_SIZE);
        if (!std::holds_alternative<sudo_frame_header>(head)) break;
        const auto& h = std::get<sudo_frame_header>(head);
        if (h.length > in.size()) break;
        auto frame = decode_sudo_payload(h, in.substr(0, h.length));
        in.remove_prefix(h.length);
        if (!std::holds_alternative<sudo_frame>(frame)) break;
        const auto& f = std::get<sudo_frame>(frame);
        auto step = session.step(f, record_base{seq, 1, "h", "b"});
        if (!step.error.empty()) break;
        require(!step.line.empty() && step.line.back() == '\n');
        require(record_seq(step.line) == seq);
        require(record_sealed(std::string_view(step.line).substr(0, step.line.size() - 1)));
        if (const auto* d = std::get_if<sudo_data>(&f.body); d && !d->withheld)
            require(base64_decode(base64_encode(d->bytes)) == d->bytes);
    }
    return 0;
}
