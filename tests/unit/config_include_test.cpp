// Unit tests for the include statement (common/config_include.cpp): included
// files parsed in place with errors naming their own file and line, the
// rules of where include may stand, the bundle codec, and reading the files
// from disk (glob order, the main file's ownership rules, regular files).
#include "common/config.hpp"

#include "tests/unit/test_config.hpp"

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <string>
#include <sys/stat.h>
#include <unistd.h>

using namespace adist::common;

namespace {

const std::string pattern = "/etc/security/auditdistd.d/*.conf";

std::string host_block(const std::string& name, const std::string& password) {
    return "host " + name + " {\n    remote \"10.0.0." + std::to_string(name.size()) +
           "\"\n    password \"" + password + "\"\n}\n";
}

config_bundle bundle(const std::string& main, std::vector<config_source> sources) {
    return config_bundle{"main.conf", main, {pattern}, std::move(sources)};
}

config_result parse(const config_bundle& b) {
    return parse_config_bundle(b, "myhost");
}

config_error error_of(const config_bundle& b) {
    auto result = parse(b);
    REQUIRE(std::holds_alternative<config_error>(result));
    return std::get<config_error>(result);
}

const std::string receiver_main = "receiver {\n    directory \"/r\"\n    include \"" + pattern +
                                  "\"\n}\n";

} // namespace

TEST_CASE("include: the files of a pattern add hosts where the statement stands", "[config_include]") {
    auto b = bundle(receiver_main, {{pattern, "/etc/security/auditdistd.d/a.conf",
                                     host_block("web1", "s1-long-secret")},
                                    {pattern, "/etc/security/auditdistd.d/b.conf",
                                     "# one file per host\n" + host_block("web22", "s2-long-secret")}});
    auto result = parse(b);
    REQUIRE(std::holds_alternative<config>(result));
    const auto& cfg = std::get<config>(result);
    REQUIRE(cfg.receivers.size() == 2);
    CHECK(cfg.receivers[0].name == "web1");
    CHECK(cfg.receivers[0].file == "/etc/security/auditdistd.d/a.conf");
    CHECK(cfg.receivers[0].directory == "/r/web1"); // the section's directory applies
    CHECK(cfg.receivers[1].name == "web22");
    CHECK(cfg.receivers[1].line == 2);

    // A pattern that matched nothing adds nothing.
    auto empty = parse(bundle(receiver_main, {}));
    REQUIRE(std::holds_alternative<config>(empty));
    CHECK(std::get<config>(empty).receivers.empty());
}

TEST_CASE("include: an error names the included file and its line", "[config_include]") {
    auto e = error_of(bundle(receiver_main, {{pattern, "/d/bad.conf", "\n\nhost x {\n  bogus 1\n}\n"}}));
    CHECK(e.file == "/d/bad.conf");
    CHECK(e.line == 4);
    CHECK(e.message.find("unknown keyword") != std::string::npos);

    // Found by validation, after parsing: still the host's own file.
    auto v = error_of(bundle(receiver_main, {{pattern, "/d/nopw.conf", "host y {\n remote 10.0.0.9\n}\n"}}));
    CHECK(v.file == "/d/nopw.conf");
    CHECK(v.line == 1);
    CHECK(v.message == "host \"y\": no password");

    // Two files defining one host: the second is named.
    auto twice = error_of(bundle(receiver_main, {{pattern, "/d/a.conf", host_block("web1", "aaaa-secret")},
                                                 {pattern, "/d/b.conf", host_block("web1", "bbbb-secret")}}));
    CHECK(twice.file == "/d/b.conf");
    CHECK(twice.message.find("configured more than once") != std::string::npos);
}

TEST_CASE("include: where it may stand", "[config_include]") {
    SECTION("not in a host block") {
        auto e = error_of(bundle("receiver {\n host a {\n  include \"" + pattern + "\"\n }\n}\n", {}));
        CHECK(e.file == "main.conf");
        CHECK(e.line == 3);
        CHECK(e.message.find("not allowed in the receiver host section") != std::string::npos);
    }
    SECTION("an included file includes no other") {
        auto e = error_of(bundle(receiver_main, {{pattern, "/d/a.conf", "include \"" + pattern + "\"\n"}}));
        CHECK(e.file == "/d/a.conf");
        CHECK(e.message == "an included file cannot include other files");
    }
    SECTION("an absolute pattern") {
        auto e = error_of(bundle("include \"auditdistd.d/*.conf\"\n", {}));
        CHECK(e.message == "include needs an absolute path or pattern");
    }
    SECTION("text without its files: refused, never taken as no files") {
        auto result = parse_config(receiver_main, "main.conf", "myhost");
        REQUIRE(std::holds_alternative<config_error>(result));
        CHECK(std::get<config_error>(result).message.find("were not read") != std::string::npos);
    }
    SECTION("a keyword given in the section and in an included file is given twice") {
        auto e = error_of(bundle(receiver_main, {{pattern, "/d/a.conf", "directory \"/other\"\n"}}));
        CHECK(e.file == "/d/a.conf");
        CHECK(e.message == "\"directory\" is given twice in the receiver section");
    }
    SECTION("global level: a whole section in an included file") {
        auto b = config_bundle{"main.conf", "name me\ninclude \"" + pattern + "\"\n", {pattern},
                               {{pattern, "/d/r.conf", "receiver {\n" + host_block("h", "hhhh-secret") + "}\n"}}};
        auto result = parse(b);
        REQUIRE(std::holds_alternative<config>(result));
        CHECK(std::get<config>(result).has_receiver);
    }
}

TEST_CASE("include: a password in an included file is never shown", "[config_include]") {
    // The host is named like its password: the message would show it.
    const std::string secret = "Very-Secret-Included-Pw";
    auto e = error_of(bundle(receiver_main, {{pattern, "/d/a.conf", "host \"" + secret +
                                                                         "\" {\n password \"" + secret + "\"\n}\n"}}));
    CHECK(e.message.find(secret.substr(0, 8)) == std::string::npos);
}

TEST_CASE("include: the bundle codec round-trips and refuses damage", "[config_include]") {
    auto b = bundle(receiver_main, {{pattern, "/d/a.conf", host_block("web1", "x-secret-1")},
                                    {pattern, "/d/b.conf", std::string("nul\0inside", 10)}});
    auto bytes = encode_config_bundle(b);
    auto back = decode_config_bundle(bytes);
    REQUIRE(back.has_value());
    CHECK(*back == b);
    for (std::size_t cut = 0; cut < bytes.size(); cut += 7) {
        CHECK_FALSE(decode_config_bundle(std::string_view(bytes).substr(0, cut)).has_value());
    }
    CHECK_FALSE(decode_config_bundle(bytes + "x").has_value());
    std::string huge(16, '\xff'); // lengths of 4 GiB
    CHECK_FALSE(decode_config_bundle(huge).has_value());
}

TEST_CASE("include: reading the files from disk", "[config_include]") {
    namespace fs = std::filesystem;
    char tmpl[] = "/tmp/adist-include-XXXXXX";
    REQUIRE(::mkdtemp(tmpl) != nullptr);
    fs::path dir(tmpl);
    fs::create_directory(dir / "d");
    auto write = [](const fs::path& p, const std::string& text, mode_t mode) {
        std::ofstream(p) << text;
        ::chmod(p.c_str(), mode);
    };
    std::string pat = (dir / "d" / "*.conf").string();
    write(dir / "main.conf", "receiver {\n    include \"" + pat + "\"\n}\n", 0600);
    write(dir / "d" / "b.conf", host_block("web2", "b-secret-long"), 0600);
    write(dir / "d" / "a.conf", host_block("web1", "a-secret-long"), 0600);
    write(dir / "d" / "ignored.txt", "garbage", 0644);

    auto read = read_config_bundle((dir / "main.conf").string());
    REQUIRE(std::holds_alternative<config_bundle>(read));
    const auto& b = std::get<config_bundle>(read);
    REQUIRE(b.sources.size() == 2);
    CHECK(b.sources[0].file == (dir / "d" / "a.conf").string()); // sorted
    CHECK(b.patterns == std::vector<std::string>{pat});
    auto cfg = load_config((dir / "main.conf").string());
    REQUIRE(std::holds_alternative<config>(cfg));
    CHECK(std::get<config>(cfg).receivers.size() == 2);

    SECTION("an included file others may read is refused like the main file") {
        ::chmod((dir / "d" / "b.conf").c_str(), 0644);
        auto bad = read_config_bundle((dir / "main.conf").string());
        REQUIRE(std::holds_alternative<config_error>(bad));
        CHECK(std::get<config_error>(bad).file == (dir / "d" / "b.conf").string());
        CHECK(std::get<config_error>(bad).message.find("mode 0644") != std::string::npos);
    }
    SECTION("a matched directory is refused") {
        fs::create_directory(dir / "d" / "c.conf");
        ::chmod((dir / "d" / "c.conf").c_str(), 0700);
        auto bad = read_config_bundle((dir / "main.conf").string());
        REQUIRE(std::holds_alternative<config_error>(bad));
        CHECK(std::get<config_error>(bad).message.find("Is a directory") != std::string::npos);
    }
    fs::remove_all(dir);
}
