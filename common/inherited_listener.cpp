// Taking an inherited listening socket (inherited_listener.hpp).
#include "common/inherited_listener.hpp"

#include <fcntl.h>
#include <sys/socket.h>

namespace adist::common {

std::optional<std::string> adopt_listener(boost::asio::local::stream_protocol::acceptor& acceptor,
                                          int fd) {
    int domain = 0, type = 0, listening = 0;
    socklen_t len = sizeof domain;
    bool ok = ::getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &len) == 0 && domain == AF_UNIX;
    len = sizeof type;
    ok = ok && ::getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) == 0 && type == SOCK_STREAM;
    len = sizeof listening;
    ok = ok && ::getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) == 0 && listening;
    if (!ok) return "descriptor " + std::to_string(fd) + " is not a listening unix socket";
    ::fcntl(fd, F_SETFD, FD_CLOEXEC);
    boost::system::error_code ec;
    acceptor.assign(boost::asio::local::stream_protocol(), fd, ec);
    if (ec) return "cannot take descriptor " + std::to_string(fd) + ": " + ec.message();
    return std::nullopt;
}

} // namespace adist::common
