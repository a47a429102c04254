// libFuzzer target: the configuration bundle the root supervisor hands its
// worker on a reload (common/config_include.cpp) and the include statement
// it feeds. Arbitrary bytes: the decoder never reads out of bounds, what it
// accepts re-encodes to exactly the input, and an accepted configuration's
// hosts come from the main file or from a file the bundle holds.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "common/config.hpp"

using namespace adist::common;

namespace {

template <typename Host> void check_files(const std::vector<Host>& hosts, const config_bundle& b) {
    for (const auto& h : hosts) {
        if (h.file.empty()) continue;
        bool known = false;
        for (const auto& s : b.sources) known = known || s.file == h.file;
        if (!known) std::abort();
    }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view bytes(reinterpret_cast<const char*>(data), size);
    auto b = decode_config_bundle(bytes);
    if (!b) return 0;
    if (encode_config_bundle(*b) != bytes) std::abort();
    auto result = parse_config_bundle(*b, "fuzzhost");
    if (auto* cfg = std::get_if<config>(&result)) {
        check_files(cfg->senders, *b);
        check_files(cfg->receivers, *b);
    }
    return 0;
}
