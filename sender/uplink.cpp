// Uplink to one receiver (see uplink.hpp).
#include "sender/uplink.hpp"

#include "common/async.hpp"
#include "common/log.hpp"
#include "common/tls.hpp"
#include "proto/handshake.hpp"
#include "sender/settled_links.hpp"

#include <algorithm>
#include <sys/stat.h>

namespace adist::sender {
using asio::ip::tcp;
using namespace std::chrono_literals;

namespace {
using common::tuple_awaitable;

bool family_matches(const tcp::endpoint& ep, common::family f) {
    if (f == common::family::v4) return ep.address().is_v4();
    if (f == common::family::v6) return ep.address().is_v6();
    return true;
}
} // namespace

uplink::uplink(asio::io_context& io, std::string own_name, common::sender_host host,
               asio::ssl::context& tls, uplink_options options,
               std::shared_ptr<fanout_group> fanout, std::shared_ptr<receipt_keeper> receipts,
               std::shared_ptr<digest_checkpoint> checkpoint)
    : io_(io), own_name_(std::move(own_name)), host_(std::move(host)), tls_(tls),
      options_(options), prefix_("[" + host_.name + "] "), wake_(io.get_executor()),
      watch_(io.get_executor(), wake_), repeats_(options_.transfer.repeat_interval),
      fanout_(std::move(fanout)), receipts_(std::move(receipts)), checkpoint_(std::move(checkpoint)) {}

uplink::~uplink() { stop(); }

void uplink::start() {
    // Disconnected since the start: a receiver never reached ages like one
    // lost (status --check, stalled).
    if (!status_.since) status_.since = std::chrono::system_clock::now();
    if (stopping_) return; // stopped (by a reload) before it was started
    running_ = true;
    if (host_.remote.scheme == common::scheme::tcp) {
        log::warning(prefix_, "sending to ", host_.remote.to_string(),
                     " without TLS: traffic is not encrypted and the receiver is not authenticated");
    }
    asio::co_spawn(io_, run(), [this](std::exception_ptr e) {
        if (!e) return;
        running_ = false;
        // Nothing may escape a completion handler: it would stop the loop.
        try {
            log::error(prefix_, "uplink stopped by an internal error: ", log::exception_text(e));
        } catch (...) {
        }
    });
}

void uplink::stop() {
    stopping_ = true;
    if (stream_) stream_->close();
    watch_.stop();
    wake_.notify();
}

std::chrono::milliseconds uplink::next_backoff() {
    backoff_ = backoff_.count() == 0 ? options_.backoff_min
                                     : std::min(backoff_ * 2, options_.backoff_max);
    // Jitter in [backoff/2, backoff]: many senders restarting with one
    // receiver do not come back in lockstep.
    std::uniform_int_distribution<long> dist(backoff_.count() / 2, backoff_.count());
    return std::chrono::milliseconds(dist(rng_));
}

asio::awaitable<void> uplink::pause(std::chrono::milliseconds d) {
    auto until = std::chrono::steady_clock::now() + d;
    while (!stopping_ && std::chrono::steady_clock::now() < until) {
        co_await wake_.wait_for(until - std::chrono::steady_clock::now());
    }
}

// The dist directory as opened must still be the one at its path: after it
// was removed (or replaced by a new directory) we open it again.
bool uplink::dist_still_current() const {
    struct stat open_st {}, path_st {};
    return ::fstat(dist_fd_.get(), &open_st) == 0 && open_st.st_nlink > 0 &&
           ::stat(host_.directory.c_str(), &path_st) == 0 && open_st.st_dev == path_st.st_dev &&
           open_st.st_ino == path_st.st_ino;
}

asio::awaitable<bool> uplink::open_dist() {
    if (dist_fd_ && dist_still_current()) co_return true;
    if (dist_fd_) {
        log::warning(prefix_, "dist directory ", host_.directory,
                     " was removed or replaced; opening it again");
        dist_fd_.reset();
        watch_.stop();
    }
    dist_fd_ = common::open_directory(host_.directory);
    std::string error;
    if (!dist_fd_) {
        error = "cannot open dist directory " + host_.directory + ": " + common::errno_text(errno);
    } else if (!watch_.start(host_.directory, &error)) {
        dist_fd_.reset();
    }
    if (!dist_fd_) {
        auto d = next_backoff();
        log::error(prefix_, error, "; retrying in ", d.count(), " ms");
        status_.error(error);
        co_await pause(d);
        co_return false;
    }
    co_return true;
}

asio::awaitable<void> uplink::run() {
    while (!stopping_) {
        if (!co_await open_dist()) continue;
        stream_ = co_await connect();
        resume_point resume;
        // stop() may come at any await: check before each step that commits.
        // (One step per statement: g++ 12 miscompiles co_await chains in &&.)
        bool ready = stream_ != nullptr && !stopping_;
        if (ready) ready = co_await verify_receiver(*stream_);
        if (ready) ready = !stopping_;
        if (ready) ready = co_await handshake(*stream_, resume);
        if (ready) ready = !stopping_;
        if (ready) {
            const auto& name = resume.name;
            log::info(prefix_, "connected to ", host_.remote.to_string(), "; receiver has ",
                      name.empty() ? std::string("no file yet") : name + " at " + std::to_string(resume.size),
                      " (protocol version ", resume.version, ")");
            status_.connected = true;
            ++status_.counters.connections;
            status_.since = std::chrono::system_clock::now();
            note_resume(resume.name);
            dist_context ctx{dist_fd_.get(), host_.directory, &watch_,       &wake_,    &notes_,
                             &status_,       &repeats_,       fanout_.get(), host_.name};
            ctx.receipts = receipts_.get();
            ctx.checkpoint = checkpoint_.get();
            if (std::find(options_.collector_dists.begin(), options_.collector_dists.end(),
                          host_.directory) != options_.collector_dists.end())
                ctx.other_owner = options_.collector_uid;
            auto t = std::make_shared<transfer>(stream_, ctx, options_.transfer, prefix_);
            t->set_protocol(resume.version, resume.prefix);
            co_await t->run(resume.name, resume.size);
            // Only a connection that got something acknowledged and ended
            // without a refusal resets the backoff: a receiver that refuses
            // (every time, or after a few files under a per-host limit) is
            // not hammered.
            if (t->made_progress() && !t->refused()) backoff_ = 0ms;
            status_.connected = false;
            status_.since = std::chrono::system_clock::now();
            status_.file.clear();
        }
        if (stream_) stream_->close();
        stream_.reset();
        if (stopping_) break;
        auto d = next_backoff();
        log::info(prefix_, "reconnecting in ", d.count(), " ms");
        co_await pause(d);
    }
    running_ = false;
}

// Fan-out: the receiver's resume point tells the group what it holds.
void uplink::note_resume(const std::string& cursor) {
    bool ok = true;
    auto listing = list_trails(dist_fd_.get(), host_.directory, &ok);
    if (ok) {
        fanout_->resumed(host_.name, cursor, listing);
        // What it holds may settle links: kept for it, or whose CLOSE it
        // acknowledged without the acknowledgement reaching us.
        remove_settled(*fanout_, dist_fd_.get(),
                       "every required receiver has it (" + host_.name +
                           (cursor.empty() ? " has no trail" : "'s newest trail is " + cursor) +
                           ")");
    }
    if (!fanout_->shared()) return;
    auto missed = fanout_->missed_bytes(host_.name);
    if (missed != 0) {
        log::warning(prefix_, missed, " bytes of trails were removed before this optional "
                     "receiver got them (every required receiver has them); it continues with "
                     "what still exists");
    }
}

asio::awaitable<std::shared_ptr<common::stream>> uplink::connect() {
    const auto& r = host_.remote;
    tcp::resolver resolver(io_);
    auto [rec, endpoints] = co_await resolver.async_resolve(r.host, std::to_string(r.port),
                                                            tuple_awaitable);
    if (rec) {
        log::warning(prefix_, "cannot resolve ", r.host, ": ", rec.message());
        status_.error("cannot resolve " + r.host + ": " + rec.message());
        co_return nullptr;
    }
    std::string last_error = "no usable address";
    for (const auto& entry : endpoints) {
        if (stopping_) co_return nullptr;
        auto ep = entry.endpoint();
        if (!family_matches(ep, r.family)) continue;
        tcp::socket socket(io_);
        boost::system::error_code ec;
        socket.open(ep.protocol(), ec);
        if (!ec && host_.source) {
            auto src = asio::ip::make_address(host_.source->host, ec);
            if (!ec) socket.bind({src, host_.source->port_given ? host_.source->port : std::uint16_t(0)}, ec);
        }
        if (ec) {
            last_error = ec.message();
            continue;
        }
        auto stream = host_.remote.scheme == common::scheme::tls
                          ? std::make_shared<common::stream>(std::move(socket), tls_)
                          : std::make_shared<common::stream>(std::move(socket));
        // This host's tls_min_version, on this connection only.
        if (stream->is_tls()) common::set_min_version(stream->native_ssl(), host_.tls_min_version);
        stream->set_timeout(options_.timeout);
        stream->start_watchdog();
        stream_ = stream; // so stop() can close it
        log::debug(prefix_, "connecting to ", ep.address().to_string(), " port ", ep.port());
        if (auto cec = co_await stream->connect(ep); cec) {
            last_error = stream->timed_out() ? "timed out" : cec.message();
            log::debug(prefix_, "cannot connect to ", ep.address().to_string(), ": ", last_error);
            stream->close(); // ends its watchdog and frees the socket
            continue;
        }
        stream->socket().set_option(tcp::no_delay(true), ec);
        co_return stream;
    }
    log::warning(prefix_, "cannot connect to ", r.to_string(), ": ", last_error);
    status_.error("cannot connect to " + r.to_string() + ": " + last_error);
    co_return nullptr;
}

asio::awaitable<bool> uplink::verify_receiver(common::stream& s) {
    if (!s.is_tls()) co_return true;
    auto min = host_.tls_min_version;
    if (auto ec = co_await s.handshake(asio::ssl::stream_base::client); ec) {
        if (common::is_version_refusal(ec)) { // FreeBSD's receiver speaks TLS 1.0 only
            auto why = common::sender_version_refusal(host_.remote.to_string(),
                                                      SSL_version(s.native_ssl()), min);
            log::error(prefix_, "TLS handshake failed: ", why);
            status_.error("TLS handshake failed: " + why);
            ++status_.counters.handshake_failures["tls version"];
            co_return false;
        }
        std::string why = s.timed_out() ? "timed out" : ec.message();
        log::warning(prefix_, "TLS handshake with ", host_.remote.to_string(), " failed: ", why);
        status_.error("TLS handshake failed: " + why);
        ++status_.counters.handshake_failures["tls"];
        co_return false;
    }
    // Fail closed: nothing of ours goes out before the certificate matches.
    auto got = common::peer_fingerprint(s.native_ssl());
    if (!got || !host_.fingerprint || *got != *host_.fingerprint) {
        log::error(prefix_, "receiver ", host_.remote.to_string(),
                   " presented a certificate that does not match the configured fingerprint; expected ",
                   host_.fingerprint ? proto::format_fingerprint(*host_.fingerprint) : "(none)",
                   ", got ", got ? proto::format_fingerprint(*got) : "(no certificate)");
        status_.error("the receiver's certificate does not match the configured fingerprint");
        ++status_.counters.handshake_failures["fingerprint"];
        co_return false;
    }
    log::debug(prefix_, s.tls_summary(), "; the certificate matches the pinned fingerprint");
    // Every connection that uses a lowered minimum says so (FreeBSD's TLS 1.0).
    if (common::is_legacy(min)) {
        log::warning(prefix_, common::legacy_connection_warning("host \"" + host_.name + "\"", min,
                                                                SSL_version(s.native_ssl())));
    }
    co_return true;
}

asio::awaitable<bool> uplink::handshake(common::stream& s, resume_point& result) {
    proto::sender_handshake hs(own_name_, host_.password, proto::random_challenge(),
                               options_.max_protocol, host_.min_protocol_version);
    auto step = hs.start();
    std::vector<std::byte> in;
    int sent = 0; // 1: the welcome, 2: and our name, 3: and our password proof
    while (step.status == proto::handshake_status::in_progress) {
        if (!step.send.empty()) {
            if (auto ec = co_await s.write_all(asio::buffer(step.send)); ec) {
                log::warning(prefix_, "connection lost during the handshake: ", ec.message());
                status_.error("connection lost during the handshake: " + ec.message());
                co_return false;
            }
            ++sent;
        }
        in.resize(hs.want());
        if (auto ec = co_await s.read_exact(asio::buffer(in)); ec) {
            bool proof_sent = sent >= 3;
            // FreeBSD's receiver closes right after reading a name it has
            // no host block for (ours answers with a decoy challenge).
            bool after_name = sent == 2 && !s.timed_out();
            std::string detail =
                proof_sent ? " after our password proof (wrong password, or this sender's name or "
                             "address is not configured there)"
                : after_name ? " after our name \"" + own_name_ +
                                   "\": the receiver may not know this host's name (FreeBSD's "
                                   "auditdistd closes the connection when none of its host "
                                   "blocks is named so); check its host block for this sender, "
                                   "or set \"name\" here to the name it has"
                : s.timed_out() ? " (timed out)"
                                : "";
            log::error(prefix_, "the receiver closed the connection during the handshake", detail);
            status_.error("the receiver closed the connection during the handshake" + detail);
            ++status_.counters.handshake_failures[proof_sent   ? "closed after proof"
                                                  : after_name ? "closed after name"
                                                               : "closed"];
            co_return false;
        }
        step = hs.feed(in);
    }
    if (step.status != proto::handshake_status::done) {
        std::string why = hs.error() == proto::handshake_error::auth_failed
                              ? "the receiver does not know our password (wrong password or impostor)"
                              : std::string(to_string(hs.error()));
        // Someone on the path altered the handshake: evidence, not an outage.
        bool altered = hs.error() == proto::handshake_error::downgrade ||
                       hs.error() == proto::handshake_error::resume_forged;
        if (altered) {
            log::alert(prefix_, "handshake with ", host_.remote.to_string(), " failed: ", why);
        } else {
            log::error(prefix_, "handshake with ", host_.remote.to_string(), " failed: ", why);
        }
        status_.error("handshake failed: " + why);
        ++status_.counters.handshake_failures[std::string(to_string(hs.error()))];
        co_return false;
    }
    result.name = hs.resume_name();
    result.size = hs.resume_size();
    result.version = hs.version();
    result.prefix = hs.resume_prefix();
    co_return true;
}

common::host_status uplink::status() const {
    common::host_status s;
    s.role = "sender";
    s.host = host_.name;
    s.remote = host_.remote.to_string();
    s.connected = status_.connected;
    s.since = status_.since;
    s.file = status_.file;
    s.offset = status_.sent_offset;
    if (dist_fd_) {
        auto kept = [this](const std::string& name) {
            return fanout_->kept_for_others(host_.name, name);
        };
        s.unacked = unacked_bytes(dist_fd_.get(), host_.directory, status_, kept);
    }
    auto missed = fanout_->missed_bytes(host_.name);
    s.lagging = lag_problem(s.unacked.value_or(0), missed, host_.max_lag_bytes);
    s.last_data_ack = status_.last_data_ack;
    s.waiting_since = status_.waiting_since;
    s.last_heard = status_.last_heard;
    s.counters = status_.counters;
    s.counters.missed_files = fanout_->missed_files(host_.name);
    s.last_error = status_.last_error;
    s.last_error_at = status_.last_error_at;
    if (receipts_) {
        s.receipt = receipts_->summary();
        if (s.receipt.empty()) s.receipt = "none yet";
        s.receipt_alert = !receipts_->alert().empty() ? receipts_->alert()
                          : receipts_->problem().empty() ? std::string()
                                                         : "receipts cannot be kept: " + receipts_->problem();
    }
    return s;
}

} // namespace adist::sender
