// The sender's digest checkpoint: its record (proto/checkpoint_record) and
// when a resume may start from it, when it is written, what a restart
// reads back (sender/digest_checkpoint).
#include "proto/checkpoint_record.hpp"
#include "proto/digest.hpp"
#include "sender/digest_checkpoint.hpp"
#include "temp_dir.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <stdlib.h>
#include <vector>

using adist::test::temp_dir;
using namespace adist::proto;
using adist::sender::digest_checkpoint;

namespace {
std::vector<std::byte> bytes_of(std::size_t n, unsigned seed) {
    std::vector<std::byte> v(n);
    for (std::size_t i = 0; i < n; ++i) v[i] = std::byte((i * 131 + seed) & 0xff);
    return v;
}

sha256_state state_after(std::span<const std::byte> data) {
    sha256_state s;
    s.update(data);
    return s;
}

std::size_t size_of(const std::string& path) {
    std::error_code ec;
    auto n = std::filesystem::file_size(path, ec);
    return ec ? 0 : static_cast<std::size_t>(n);
}
} // namespace

TEST_CASE("checkpoint_record: encodes and decodes; a torn or changed record is refused") {
    auto data = bytes_of(1000, 7); // 1000 % 64 = 40 bytes in the partial block
    checkpoint_record r{0x1234, 0xabcdef0123ULL, state_after(data).midstate()};
    auto bytes = encode_checkpoint_record(r);
    std::string why;
    auto back = decode_checkpoint_record(bytes, &why);
    REQUIRE(back);
    CHECK(*back == r);
    // Taken up again, it gives the digest of the whole data.
    auto s = sha256_state::resume(back->state);
    REQUIRE(s);
    CHECK(s->current().sha256 == state_after(data).current().sha256);

    CHECK_FALSE(decode_checkpoint_record(std::span(bytes).first(100), &why));
    CHECK(why.find("not 160") != std::string::npos);
    for (std::size_t at : {0u, 4u, 9u, 30u, 60u, 100u, 150u}) {
        auto bad = bytes;
        bad[at] ^= std::byte{0x01};
        CHECK_FALSE(decode_checkpoint_record(bad, &why));
    }
    // A record whose checksum is right but whose state is impossible (bytes
    // in the partial block past size % 64): refused too.
    checkpoint_record odd = r;
    odd.state.partial[63] = std::byte{1};
    CHECK_FALSE(decode_checkpoint_record(encode_checkpoint_record(odd), &why));
    CHECK(why.find("SHA-256 state") != std::string::npos);
}

TEST_CASE("digest_checkpoint: a resume starts from the checkpoint of the same file at or before it") {
    auto data = bytes_of(300000, 3);
    digest_checkpoint c(""); // memory only
    CHECK_FALSE(c.start_for(1, 2, 1000));
    c.acknowledged(1, 2, state_after(std::span(data).first(100000)), -1,
                   digest_checkpoint::clock::now());
    auto s = c.start_for(1, 2, 250000);
    REQUIRE(s);
    CHECK(s->size() == 100000);
    s->update(std::span(data).subspan(100000, 150000));
    CHECK(s->current().sha256 == state_after(std::span(data).first(250000)).current().sha256);
    CHECK(c.start_for(1, 2, 100000));         // exactly at it
    CHECK_FALSE(c.start_for(1, 2, 99999));    // the receiver has less than was acknowledged
    CHECK_FALSE(c.start_for(1, 3, 250000));   // another inode
    CHECK_FALSE(c.start_for(9, 2, 250000));   // another device
}

TEST_CASE("digest_checkpoint: written after the trail is synced, at most once per interval, read at a restart") {
    temp_dir d("ckpt");
    std::string path = d.path + "/digests/web1"; // the directory is made
    auto data = bytes_of(200000, 5);
    std::string trail = d.path + "/trail";
    { std::ofstream(trail, std::ios::binary).write(reinterpret_cast<const char*>(data.data()), 200000); }
    int fd = ::open(trail.c_str(), O_RDONLY | O_CLOEXEC);
    REQUIRE(fd >= 0);
    auto t0 = digest_checkpoint::clock::now();
    {
        digest_checkpoint c(path, std::chrono::seconds(30));
        REQUIRE(c.open());
        struct stat st {};
        REQUIRE(::stat(path.c_str(), &st) == 0);
        CHECK((st.st_mode & 0777) == 0600);
        CHECK(size_of(path) == 0);
        c.acknowledged(1, 2, state_after(std::span(data).first(1000)), fd, t0);
        CHECK(size_of(path) == checkpoint_record_size); // the first ack: at once
        c.acknowledged(1, 2, state_after(std::span(data).first(5000)), fd, t0 + std::chrono::seconds(10));
        c.acknowledged(1, 2, state_after(std::span(data).first(6000)), -1, t0 + std::chrono::seconds(40));
    }
    {
        digest_checkpoint c(path);
        REQUIRE(c.open());
        auto s = c.start_for(1, 2, 200000);
        REQUIRE(s);
        CHECK(s->size() == 1000); // the later acks were not due, or not for an open trail
        c.acknowledged(1, 2, state_after(std::span(data).first(7000)), fd, t0);
        c.acknowledged(1, 2, state_after(std::span(data).first(9000)), fd, t0 + std::chrono::seconds(1));
        c.write_now(1, 3, fd); // another file's descriptor: not written
    }
    {
        digest_checkpoint c(path);
        REQUIRE(c.open());
        CHECK(c.start_for(1, 2, 200000)->size() == 7000);
        c.acknowledged(1, 2, state_after(std::span(data).first(8000)), fd, t0);
        c.acknowledged(1, 2, state_after(std::span(data).first(9000)), fd, t0 + std::chrono::seconds(1));
        c.write_now(1, 2, fd); // a connection ends: what memory holds is written
    }
    digest_checkpoint c(path);
    REQUIRE(c.open());
    CHECK(c.start_for(1, 2, 200000)->size() == 9000);
    ::close(fd);
    // A torn record is not believed: the resume reads from the start.
    { std::ofstream(path, std::ios::binary | std::ios::in) << "torn"; }
    digest_checkpoint torn(path);
    REQUIRE(torn.open());
    CHECK_FALSE(torn.start_for(1, 2, 200000));
}

TEST_CASE("digest_checkpoint: a file it cannot keep leaves it in memory, saying why") {
    temp_dir d("ckpt");
    std::string blocker = d.path + "/file";
    { std::ofstream(blocker) << "x"; }
    digest_checkpoint c(blocker + "/web1"); // its directory would be a file
    CHECK_FALSE(c.open());
    CHECK(c.problem().find("cannot make") != std::string::npos);
    c.acknowledged(1, 2, state_after(bytes_of(100, 1)), -1, digest_checkpoint::clock::now());
    CHECK(c.start_for(1, 2, 100));
}

TEST_CASE("digest_checkpoint: a file with another name or owner is not used") {
    temp_dir d("ckpt");
    std::string path = d.path + "/web1";
    { std::ofstream(path) << ""; }
    REQUIRE(::link(path.c_str(), (d.path + "/other").c_str()) == 0);
    digest_checkpoint linked(path);
    CHECK_FALSE(linked.open());
    CHECK(linked.problem().find("has 2 links") != std::string::npos);
    REQUIRE(::unlink((d.path + "/other").c_str()) == 0);
    if (::geteuid() == 0) {
        REQUIRE(::chown(path.c_str(), 65534, 65534) == 0);
        digest_checkpoint foreign(path);
        CHECK_FALSE(foreign.open());
        CHECK(foreign.problem().find("belongs to uid 65534") != std::string::npos);
        REQUIRE(::chown(path.c_str(), 0, 0) == 0);
    }
    digest_checkpoint ours(path);
    CHECK(ours.open());
}
