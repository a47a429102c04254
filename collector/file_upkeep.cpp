// The sync thread and the tamper alert of the collector's streams
// (file_upkeep.hpp).
#include "collector/file_upkeep.hpp"

#include "collector/record.hpp"
#include "common/fd.hpp"
#include "common/log.hpp"

#include <cerrno>
#include <csignal>
#include <sysexits.h>
#include <syslog.h>
#include <unistd.h>

namespace adist::collector {

void background_sync::start() {
    if (!pool_) pool_ = std::make_unique<asio::thread_pool>(1);
}

void background_sync::stop() {
    stopped_ = true;
    if (pool_) pool_->join();
}

void background_sync::sync(record_file& file, const std::string& where) {
    if (!pool_ || stopped_) {
        std::string error;
        if (!file.sync(&error)) failed(error);
        return;
    }
    if (running_) return;
    // A duplicate descriptor: a rotation may close the file meanwhile.
    auto fd = std::make_shared<common::unique_fd>(file.take_for_sync());
    if (!*fd) return;
    running_ = true;
    asio::post(*pool_, [this, fd, where] {
        int err = ::fdatasync(fd->get()) == 0 ? 0 : errno;
        asio::post(io_, [this, err, where] {
            running_ = false;
            if (err != 0) failed("cannot sync " + where + ": " + common::errno_text(err));
        });
    });
}

void background_sync::failed(const std::string& error) {
    log::error(label_, ": ", error);
    if (on_error_) on_error_(error);
}

tamper_outcome check_tamper(record_file& file, const std::string& label,
                            const std::string& directory, common::collector_tamper policy,
                            std::int64_t now, const std::function<bool(const std::string&)>& write,
                            std::string* what) {
    auto problem = file.check();
    if (!problem) return tamper_outcome::sound;
    *what = file.file_name() + ": " + *problem;
    std::string name = file.file_name();
    std::string path = directory + "/" + name;
    log::error("ALERT: ", label, ": ", path, " was tampered with: ", *problem);
    ::syslog(LOG_AUTHPRIV | LOG_ALERT, "%s: %s was tampered with: %s", label.c_str(), path.c_str(),
             problem->c_str());
    if (policy == common::collector_tamper::abort) {
        log::error(label, ": on_tamper abort: stopping the daemon");
        ::kill(::getpid(), SIGTERM);
        return tamper_outcome::aborted;
    }
    if (auto e = file.rotate(now)) {
        log::error(label, ": cannot start a new file after tampering: ", *e);
        return tamper_outcome::failed;
    }
    write(encode_tamper(file.base(now), name, *problem));
    return tamper_outcome::continued;
}

bool settle_tamper(tamper_outcome outcome, bool& failed, int& exit_code) {
    switch (outcome) {
    case tamper_outcome::sound:
        return false;
    case tamper_outcome::continued:
        return true;
    case tamper_outcome::aborted:
        exit_code = EX_DATAERR;
        failed = true;
        return false;
    case tamper_outcome::failed:
        failed = true;
        return false;
    }
    return false;
}

} // namespace adist::collector
