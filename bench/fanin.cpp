// Fan-in load generator (bench only): N connections to one receiver as N
// distinct configured hosts (names <prefix><i>, passwords <password><i>), each
// through the real TLS handshake and protocol-0 handshake (proto/, common/),
// then OPEN, APPENDs within a window, CLOSE, reading and checking every ack.
// Used by bench/run (fan-in row) and tests/integration/test_fanin.py.
//
// Phases: ramp (at most --max-handshakes handshakes in flight, because the
// receiver admits 16 unauthenticated connections per address), hold (all
// connected and idle for --hold-ms, so the caller can measure the receiver's
// memory; "connected N" is printed on stdout first), ship (all at once;
// with --bytes 0 nothing: the connections only close), and a summary line. Every loop is bounded by counts and by --timeout-s.
#include "common/async.hpp"
#include "common/stream.hpp"
#include "common/tls.hpp"
#include "proto/fingerprint.hpp"
#include "proto/frame_codec.hpp"
#include "proto/handshake.hpp"

#include <algorithm>
#include <boost/asio.hpp>
#include <boost/program_options.hpp>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <memory>
#include <string>
#include <sys/resource.h>
#include <vector>

namespace {
namespace asio = boost::asio;
namespace po = boost::program_options;
using adist::common::stream;
using clock_type = std::chrono::steady_clock;
using namespace std::chrono_literals;

struct options {
    unsigned hosts = 10;
    std::string prefix = "fan";
    std::string password = "fan-password-";
    std::uint16_t port = 0;
    std::string fingerprint;
    std::string source;
    std::size_t bytes = 1 << 20; // per host
    std::size_t window = 256 * 1024;
    unsigned max_handshakes = 8;
    unsigned hold_ms = 0;
    unsigned timeout_s = 120;
    std::string trail = "20260101000000.20260101010000";
};

// Host i sends `bytes` bytes of the source starting here (tests recompute it).
std::size_t source_offset(unsigned i, std::size_t source_size, std::size_t bytes) {
    return (static_cast<std::size_t>(i) * 4096) % (source_size - bytes + 1);
}

struct shared_state {
    explicit shared_state(asio::io_context& io)
        : slot_free(io.get_executor()), go(io.get_executor()) {}
    options opt;
    std::vector<std::byte> source;
    adist::proto::sha256_digest fingerprint{};
    unsigned in_handshake = 0;
    unsigned connected = 0;
    unsigned done = 0;
    unsigned failed = 0;
    bool started = false;
    adist::common::event slot_free;
    adist::common::event go;
    std::vector<std::shared_ptr<stream>> streams; // closed on timeout
    asio::steady_timer* deadline = nullptr;
};

// The sender's handshake (as sender/uplink.cpp): welcome, name, proofs.
asio::awaitable<std::string> handshake(stream& s, const adist::proto::sha256_digest* fingerprint,
                                       const std::string& name, const std::string& pw,
                                       std::uint64_t& resume_size) {
    if (auto ec = co_await s.handshake(asio::ssl::stream_base::client); ec) {
        co_return "TLS handshake: " + ec.message();
    }
    // As the sender: nothing goes out before the certificate matches the pin.
    auto got = adist::common::peer_fingerprint(s.native_ssl());
    if (!got || *got != *fingerprint) co_return "the receiver's certificate does not match";
    // Version 0, as a FreeBSD sender speaks it: this measures what many
    // connections cost the receiver; version 1's digests are measured by
    // bench/run's shipping figures.
    adist::proto::sender_handshake hs(name, pw, adist::proto::random_challenge(), 0);
    auto step = hs.start();
    std::vector<std::byte> in;
    for (int i = 0; i < 16 && step.status == adist::proto::handshake_status::in_progress; ++i) {
        if (!step.send.empty()) {
            if (auto ec = co_await s.write_all(asio::buffer(step.send)); ec)
                co_return "write: " + ec.message();
        }
        in.resize(hs.want());
        if (auto ec = co_await s.read_exact(asio::buffer(in)); ec)
            co_return "read: " + ec.message();
        step = hs.feed(in);
    }
    if (step.status != adist::proto::handshake_status::done) {
        co_return "handshake: " + std::string(to_string(hs.error()));
    }
    resume_size = hs.resume_size();
    co_return std::string();
}

// Reads replies until `until_seq` is acked; every reply must be ok and in order.
asio::awaitable<std::string> read_acks(stream& s, std::vector<std::byte>& buf, std::size_t& have,
                                       std::uint64_t& next_ack, std::uint64_t until_seq) {
    while (next_ack <= until_seq) {
        auto [ec, n] = co_await s.read_some(asio::buffer(buf.data() + have, buf.size() - have));
        if (ec) co_return "reading acks: " + ec.message();
        have += n;
        std::size_t off = 0;
        for (;;) {
            auto r = adist::proto::decode_reply(std::span(buf.data() + off, have - off));
            auto* d = std::get_if<adist::proto::decoded<adist::proto::reply>>(&r);
            if (d == nullptr) {
                if (std::holds_alternative<adist::proto::need_more>(r)) break;
                co_return "bad reply";
            }
            if (d->frame.seq != next_ack || d->frame.error != adist::proto::reply_error::ok) {
                co_return "reply " + std::to_string(d->frame.seq) + ": " +
                    std::string(to_string(d->frame.error));
            }
            ++next_ack;
            off += d->consumed;
        }
        std::memmove(buf.data(), buf.data() + off, have - off);
        have -= off;
    }
    co_return std::string();
}

// OPEN, APPENDs of up to 64 KiB with at most opt.window bytes unacked, CLOSE.
asio::awaitable<std::string> ship(shared_state& g, stream& s, unsigned i) {
    using adist::proto::command;
    const auto& o = g.opt;
    std::vector<std::byte> out, acks(4096);
    std::size_t have = 0;
    std::uint64_t seq = 1, next_ack = 1;
    adist::proto::encode_name_request(out, command::open, seq++, o.trail);
    auto at = source_offset(i, g.source.size(), o.bytes);
    std::size_t sent = 0;
    std::vector<std::size_t> sizes; // bytes of each APPEND, by seq - 2
    std::size_t acked_bytes = 0;
    std::uint64_t counted = 2; // APPEND seqs start at 2 (after the OPEN); acks below are counted
    while (sent < o.bytes) {
        while (sent < o.bytes && sent - acked_bytes < o.window) {
            auto n = std::min<std::size_t>(
                {o.bytes - sent, adist::proto::max_payload, o.window - (sent - acked_bytes)});
            adist::proto::encode_request_header(out, command::append, seq++,
                                                static_cast<std::uint32_t>(n));
            out.insert(out.end(), g.source.begin() + at + sent, g.source.begin() + at + sent + n);
            sizes.push_back(n);
            sent += n;
        }
        if (auto ec = co_await s.write_all(asio::buffer(out)); ec)
            co_return "write: " + ec.message();
        out.clear();
        // Wait until at least one APPEND is acked (the window has room again).
        auto before = next_ack;
        if (auto e = co_await read_acks(s, acks, have, next_ack, before); !e.empty()) co_return e;
        for (; counted < next_ack && counted - 2 < sizes.size(); ++counted)
            acked_bytes += sizes[counted - 2];
    }
    adist::proto::encode_name_request(out, command::close, seq, o.trail);
    if (auto ec = co_await s.write_all(asio::buffer(out)); ec) co_return "write: " + ec.message();
    co_return co_await read_acks(s, acks, have, next_ack, seq);
}

asio::awaitable<void> run_host(asio::io_context& io, asio::ssl::context& tls, shared_state& g,
                               unsigned i) {
    const auto& o = g.opt;
    // Ramp: a bounded number of handshakes in flight (see the file comment).
    for (int k = 0; k < 1'000'000 && g.in_handshake >= o.max_handshakes; ++k)
        co_await g.slot_free.wait();
    ++g.in_handshake;
    auto s = std::make_shared<stream>(asio::ip::tcp::socket(io), tls);
    g.streams.push_back(s);
    s->set_timeout(std::chrono::seconds(o.timeout_s));
    s->start_watchdog();
    std::string error;
    std::uint64_t resume = 0;
    auto ep = asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), o.port);
    if (auto ec = co_await s->connect(ep); ec) {
        error = "connect: " + ec.message();
    } else {
        s->socket().set_option(asio::ip::tcp::no_delay(true));
        error = co_await handshake(*s, &g.fingerprint, o.prefix + std::to_string(i),
                                   o.password + std::to_string(i), resume);
    }
    --g.in_handshake;
    g.slot_free.notify();
    if (error.empty() && resume != 0) error = "the receiver already has data for this host";
    if (error.empty()) {
        ++g.connected;
        if (g.connected + g.failed == o.hosts) g.go.notify();
        for (int k = 0; k < 1'000'000 && !g.started && !s->timed_out(); ++k)
            co_await g.go.wait();
        if (o.bytes > 0) error = co_await ship(g, *s, i);
    }
    if (!error.empty()) {
        ++g.failed;
        std::cerr << "fanin: host " << o.prefix << i << ": " << error << "\n";
        if (g.connected + g.failed == o.hosts) g.go.notify();
    } else {
        ++g.done;
    }
    co_await s->shutdown();
}

asio::awaitable<void> conductor(asio::io_context& io, shared_state& g, clock_type::time_point t0) {
    asio::steady_timer t(io);
    for (int k = 0; k < 1'000'000 && g.connected + g.failed < g.opt.hosts; ++k)
        co_await g.go.wait();
    auto ramp = std::chrono::duration<double>(clock_type::now() - t0).count();
    std::cout << "connected " << g.connected << " of " << g.opt.hosts << " in " << ramp << " s"
              << std::endl;
    t.expires_after(std::chrono::milliseconds(g.opt.hold_ms));
    co_await t.async_wait(asio::as_tuple(asio::use_awaitable));
    auto t1 = clock_type::now();
    g.started = true;
    g.go.notify();
    for (int k = 0; k < 10'000'000 && g.done + g.failed < g.opt.hosts; ++k) {
        t.expires_after(1ms);
        co_await t.async_wait(asio::as_tuple(asio::use_awaitable));
    }
    double secs = std::chrono::duration<double>(clock_type::now() - t1).count();
    double mib = static_cast<double>(g.done) * static_cast<double>(g.opt.bytes) / (1 << 20);
    std::cout << "shipped " << g.done << " failed " << g.failed << " bytes_per_host " << g.opt.bytes
              << " seconds " << secs << " mib_per_s " << mib / secs << std::endl;
    g.deadline->cancel(); // the connections finish their TLS shutdown, then run() returns
}

bool parse(int argc, char** argv, options& o) {
    po::options_description d("adist_fanin options");
    d.add_options()("help", "this text")("port", po::value(&o.port)->required(),
                                         "receiver port on 127.0.0.1 (TLS)")(
        "fingerprint", po::value(&o.fingerprint)->required(), "receiver certificate SHA256=...")(
        "source", po::value(&o.source)->required(),
        "file whose bytes are shipped")("hosts", po::value(&o.hosts), "connections, one host each")(
        "prefix", po::value(&o.prefix), "host name prefix (name = prefix + index)")(
        "password", po::value(&o.password), "password prefix (password = prefix + index)")(
        "bytes", po::value(&o.bytes), "bytes shipped per host (0: connect and hold only)")("window", po::value(&o.window),
                                                                "unacked bytes per connection")(
        "max-handshakes", po::value(&o.max_handshakes),
        "handshakes in flight")("hold-ms", po::value(&o.hold_ms), "idle time after all connected")(
        "timeout-s", po::value(&o.timeout_s), "deadline of every step and of the whole run");
    po::variables_map vm;
    try {
        po::store(po::parse_command_line(argc, argv, d), vm);
        if (vm.count("help")) {
            std::cout << d;
            return false;
        }
        po::notify(vm);
    } catch (const std::exception& e) {
        std::cerr << "adist_fanin: " << e.what() << "\n" << d;
        return false;
    }
    return o.hosts > 0 && o.hosts <= 100000 && o.max_handshakes > 0 &&
           o.window >= adist::proto::max_payload;
}

} // namespace

int main(int argc, char** argv) {
    asio::io_context io(1);
    shared_state g(io);
    if (!parse(argc, argv, g.opt)) return 64;
    std::ifstream in(g.opt.source, std::ios::binary);
    std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (bytes.size() < g.opt.bytes) {
        std::cerr << "adist_fanin: " << g.opt.source << " is smaller than --bytes\n";
        return 66;
    }
    auto fp = adist::proto::parse_fingerprint(g.opt.fingerprint);
    if (!fp) {
        std::cerr << "adist_fanin: bad --fingerprint\n";
        return 64;
    }
    g.fingerprint = *fp;
    g.source.resize(bytes.size());
    std::memcpy(g.source.data(), bytes.data(), bytes.size());
    ::signal(SIGPIPE,
             SIG_IGN); // OpenSSL writes with write(): a closed peer is an error, not a signal
    rlimit rl{};
    if (::getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        ::setrlimit(RLIMIT_NOFILE, &rl);
    }
    auto tls = adist::common::make_client_context();
    auto t0 = clock_type::now();
    for (unsigned i = 0; i < g.opt.hosts; ++i) {
        asio::co_spawn(io, run_host(io, tls, g, i), asio::detached);
    }
    asio::co_spawn(io, conductor(io, g, t0), asio::detached);
    // The whole run is bounded too: past the deadline every connection is closed.
    asio::steady_timer deadline(io, std::chrono::seconds(g.opt.timeout_s));
    g.deadline = &deadline;
    deadline.async_wait([&](boost::system::error_code ec) {
        if (ec) return;
        std::cerr << "adist_fanin: deadline passed\n";
        for (auto& s : g.streams)
            s->close();
        io.stop();
    });
    io.run_for(std::chrono::seconds(g.opt.timeout_s + 5));
    return g.done == g.opt.hosts ? 0 : 1;
}
