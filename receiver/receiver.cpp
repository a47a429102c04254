// Receiver role (see receiver.hpp). A peer is matched by IP address before
// any TLS work is done: an unknown address costs one log line and a close.
#include "receiver/receiver.hpp"

#include <sysexits.h>

#include "common/log.hpp"
#include "common/tls.hpp"

namespace adist::receiver {
using asio::ip::tcp;

asio::ip::address normalize_address(const asio::ip::address& a) {
    if (a.is_v6() && a.to_v6().is_v4_mapped()) {
        return asio::ip::make_address_v4(asio::ip::v4_mapped, a.to_v6());
    }
    return a;
}

namespace {

std::vector<asio::ip::address> resolve_remote(asio::io_context& io,
                                              const common::endpoint_spec& spec) {
    std::vector<asio::ip::address> out;
    boost::system::error_code ec;
    auto literal = asio::ip::make_address(spec.host, ec);
    if (!ec) {
        out.push_back(normalize_address(literal));
        return out;
    }
    tcp::resolver resolver(io);
    auto results = resolver.resolve(spec.host, "", ec);
    if (ec) {
        log::error("cannot resolve host name ", spec.host, ": ", ec.message());
        return out;
    }
    for (auto& r : results) out.push_back(normalize_address(r.endpoint().address()));
    return out;
}

tcp::endpoint listen_endpoint(const common::endpoint_spec& spec) {
    boost::system::error_code ec;
    auto address = asio::ip::make_address(spec.host, ec);
    if (ec) throw startup_error(EX_CONFIG, "listen address " + spec.to_string() +
                                               " is not an IP address");
    return {address, spec.port};
}

} // namespace

receiver::receiver(asio::io_context& io, const common::config& cfg, session_options options)
    : io_(io), config_(cfg), options_(options) {}

receiver::~receiver() {
    if (pool_) pool_->join();
}

void receiver::setup(std::optional<owner_ids> owner) {
    for (const auto& h : config_.receivers) {
        auto slot = std::make_unique<host_slot>();
        slot->config = h;
        slot->addresses = resolve_remote(io_, h.remote);
        std::string error;
        slot->store = trail_store::open(h.directory, owner, &error);
        if (!slot->store) throw startup_error(EX_CANTCREAT, "host " + h.name + ": " + error);
        hosts_.push_back(std::move(slot));
    }
    bool any_tls = std::any_of(config_.listen.begin(), config_.listen.end(),
                               [](auto& l) { return l.scheme == common::scheme::tls; });
    if (any_tls) {
        try {
            tls_.emplace(common::make_server_context(config_.certfile, config_.keyfile));
        } catch (const std::exception& e) {
            throw startup_error(EX_CONFIG, e.what());
        }
    }
    for (const auto& spec : config_.listen) {
        auto ep = listen_endpoint(spec);
        auto l = std::make_unique<listener>(listener{tcp::acceptor(io_), spec.scheme == common::scheme::tls,
                                                     spec.to_string()});
        boost::system::error_code ec;
        l->acceptor.open(ep.protocol(), ec);
        if (!ec && ep.address().is_v6()) l->acceptor.set_option(asio::ip::v6_only(true), ec);
        if (!ec) l->acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
        if (!ec) l->acceptor.bind(ep, ec);
        if (!ec) l->acceptor.listen(asio::socket_base::max_listen_connections, ec);
        if (ec) throw startup_error(EX_UNAVAILABLE, "cannot listen on " + l->name + ": " + ec.message());
        if (!l->tls) log::warning("listening on ", l->name, " without TLS: traffic is not encrypted");
        listeners_.push_back(std::move(l));
    }
}

void receiver::start() {
    pool_.emplace(2);
    for (auto& l : listeners_) {
        log::info("listening on ", l->name);
        asio::co_spawn(io_, accept_loop(l->acceptor, l->tls), asio::detached);
    }
}

void receiver::stop() {
    stopping_ = true;
    for (auto& l : listeners_) {
        boost::system::error_code ignored;
        l->acceptor.close(ignored);
    }
    for (auto& w : sessions_) {
        if (auto s = w.lock()) s->stop();
    }
}

bool receiver::idle() const {
    return std::all_of(sessions_.begin(), sessions_.end(), [](auto& w) { return w.expired(); });
}

std::vector<host_slot*> receiver::hosts_for(const asio::ip::address& address) {
    std::vector<host_slot*> out;
    for (auto& h : hosts_) {
        if (std::find(h->addresses.begin(), h->addresses.end(), address) != h->addresses.end()) {
            out.push_back(h.get());
        }
    }
    return out;
}

asio::awaitable<void> receiver::accept_loop(tcp::acceptor& acceptor, bool tls) {
    while (!stopping_) {
        auto [ec, socket] = co_await acceptor.async_accept(asio::as_tuple(asio::use_awaitable));
        if (ec) {
            if (stopping_ || ec == asio::error::operation_aborted) break;
            // EMFILE and friends: say so and pause instead of spinning.
            log::error("accept failed: ", ec.message());
            asio::steady_timer t(io_, std::chrono::milliseconds(200));
            co_await t.async_wait(asio::as_tuple(asio::use_awaitable));
            continue;
        }
        on_accept(std::move(socket), tls);
    }
}

void receiver::on_accept(tcp::socket socket, bool tls) {
    boost::system::error_code ec;
    auto remote = socket.remote_endpoint(ec);
    if (ec) return;
    auto address = normalize_address(remote.address());
    std::string peer = address.is_v6() ? "[" + address.to_string() + "]:" + std::to_string(remote.port())
                                       : address.to_string() + ":" + std::to_string(remote.port());
    auto candidates = hosts_for(address);
    if (candidates.empty()) {
        log::warning("connection from ", peer, " refused: no host is configured with this address");
        return; // the socket closes here, before any TLS work
    }
    socket.set_option(tcp::no_delay(true), ec);
    auto stream = tls ? std::make_shared<common::stream>(std::move(socket), *tls_)
                      : std::make_shared<common::stream>(std::move(socket));
    auto s = std::make_shared<session>(*this, stream, peer, std::move(candidates), options_);
    std::erase_if(sessions_, [](auto& w) { return w.expired(); });
    sessions_.push_back(s);
    asio::co_spawn(io_, [s] { return s->run(); }, asio::detached);
}

} // namespace adist::receiver
