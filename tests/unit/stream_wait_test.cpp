// common::stream's wait for readability without a coroutine (when_readable,
// readable_now): what the receiver's quiet connections wait with.
#include <catch2/catch.hpp>

#include <boost/asio.hpp>

#include <chrono>
#include <memory>
#include <optional>

#include "common/stream.hpp"

namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using namespace std::chrono_literals;

// A connected pair on 127.0.0.1: `ours` wrapped in a stream, `peer` plain.
struct conn_pair {
    asio::io_context io;
    tcp::socket peer{io};
    std::shared_ptr<adist::common::stream> ours;

    conn_pair() {
        tcp::acceptor acceptor(io, tcp::endpoint(asio::ip::address_v4::loopback(), 0));
        peer.connect(acceptor.local_endpoint());
        ours = std::make_shared<adist::common::stream>(acceptor.accept());
    }
    void send(const char* text) { asio::write(peer, asio::buffer(std::string(text))); }
    // Runs the loop until `result` is set, for at most `limit`.
    void run_until(const std::optional<boost::system::error_code>& result,
                   std::chrono::milliseconds limit) {
        auto until = std::chrono::steady_clock::now() + limit;
        while (!result && std::chrono::steady_clock::now() < until) {
            io.restart();
            io.run_for(10ms);
        }
    }
};

} // namespace

TEST_CASE("when_readable runs its handler once bytes arrive, not before") {
    conn_pair p;
    CHECK_FALSE(p.ours->readable_now());
    std::optional<boost::system::error_code> result;
    int calls = 0;
    p.ours->when_readable([&](boost::system::error_code ec) {
        result = ec;
        ++calls;
    });
    p.io.run_for(100ms);
    CHECK_FALSE(result.has_value());

    p.send("x");
    p.run_until(result, 5000ms);
    REQUIRE(result.has_value());
    CHECK_FALSE(*result);
    CHECK(calls == 1);
    CHECK(p.ours->readable_now());
    // The bytes are still there for read_some().
    char byte = 0;
    CHECK(p.ours->socket().read_some(asio::buffer(&byte, 1)) == 1);
    CHECK(byte == 'x');
    CHECK_FALSE(p.ours->readable_now());
}

TEST_CASE("when_readable reports the peer's end as readable") {
    conn_pair p;
    std::optional<boost::system::error_code> result;
    p.ours->when_readable([&](boost::system::error_code ec) { result = ec; });
    p.peer.close();
    p.run_until(result, 5000ms);
    REQUIRE(result.has_value());
    CHECK_FALSE(*result); // read_some() then says it is the end
    CHECK(p.ours->readable_now());
}

TEST_CASE("close() ends a pending when_readable with operation_aborted") {
    conn_pair p;
    std::optional<boost::system::error_code> result;
    p.ours->when_readable([&](boost::system::error_code ec) { result = ec; });
    p.io.run_for(20ms);
    p.ours->close();
    p.run_until(result, 5000ms);
    REQUIRE(result.has_value());
    CHECK(*result == asio::error::operation_aborted);
    CHECK_FALSE(p.ours->timed_out());

    SECTION("and one asked for after close() too, on the loop, not inline") {
        std::optional<boost::system::error_code> late;
        p.ours->when_readable([&](boost::system::error_code ec) { late = ec; });
        CHECK_FALSE(late.has_value());
        p.run_until(late, 5000ms);
        REQUIRE(late.has_value());
        CHECK(*late == asio::error::operation_aborted);
    }
}

TEST_CASE("a quiet peer past the read timeout ends when_readable, timed out") {
    conn_pair p;
    p.ours->set_timeout(150ms);
    p.ours->start_watchdog();
    std::optional<boost::system::error_code> result;
    auto started = std::chrono::steady_clock::now();
    p.ours->when_readable([&](boost::system::error_code ec) { result = ec; });
    p.run_until(result, 5000ms);
    REQUIRE(result.has_value());
    CHECK(*result == asio::error::operation_aborted);
    CHECK(p.ours->timed_out());
    CHECK(std::chrono::steady_clock::now() - started >= 150ms);
}

TEST_CASE("a wait that completed clears its deadline") {
    conn_pair p;
    p.ours->set_timeout(150ms);
    p.ours->start_watchdog();
    std::optional<boost::system::error_code> result;
    p.ours->when_readable([&](boost::system::error_code ec) { result = ec; });
    p.send("x");
    p.run_until(result, 5000ms);
    REQUIRE(result.has_value());
    CHECK_FALSE(*result);
    // Nothing waits now: the watchdog must not close the stream later.
    p.io.restart();
    p.io.run_for(400ms);
    CHECK_FALSE(p.ours->timed_out());
    CHECK(p.ours->socket().is_open());
    CHECK(p.ours->readable_now());
}
