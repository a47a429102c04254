// sd_notify(3) messages for systemd (see service_notify.hpp).
#include "common/service_notify.hpp"

#include <ctime>
#include <string>
#include <systemd/sd-daemon.h>

namespace adist::common {

void notify_ready() { sd_notify(0, "READY=1\nSTATUS=serving"); }

void notify_reloading() {
    // MONOTONIC_USEC lets a systemd that knows Type=notify-reload match the
    // reload to its request; older ones ignore it.
    timespec ts{};
    ::clock_gettime(CLOCK_MONOTONIC, &ts);
    auto usec = static_cast<unsigned long long>(ts.tv_sec) * 1000000ull +
                static_cast<unsigned long long>(ts.tv_nsec) / 1000ull;
    std::string msg = "RELOADING=1\nSTATUS=reloading\nMONOTONIC_USEC=" + std::to_string(usec);
    sd_notify(0, msg.c_str());
}

void notify_stopping() { sd_notify(0, "STOPPING=1\nSTATUS=stopping"); }

void notify_status(std::string_view text) {
    std::string msg = "STATUS=" + std::string(text);
    sd_notify(0, msg.c_str());
}

} // namespace adist::common
