// A listening socket bound by the process before an exec, taken into an
// Asio acceptor once it is what it must be. Used by the images that get
// their sockets from the root side as descriptors (the collector process:
// its collector and sudo sockets, and its status socket).
#pragma once

#include <boost/asio/local/stream_protocol.hpp>
#include <optional>
#include <string>

namespace adist::common {

// `fd` given to `acceptor` when it is a listening unix stream socket (and
// marked close-on-exec); the problem otherwise (a connected pair, a TCP
// listener, a datagram socket, a non-socket), or nullopt.
std::optional<std::string> adopt_listener(boost::asio::local::stream_protocol::acceptor& acceptor,
                                          int fd);

} // namespace adist::common
