// Hostile shapes through every parser of untrusted bytes: nesting that would exhaust the
// stack, oversized documents, invalid UTF-8, NUL bytes, loose numbers — decode/config errors,
// never a crash.
#include <doctest/doctest.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <string>

#include "libcni/env.h"
#include "libcni/errors.h"
#include "libcni/json.h"
#include "libcni/skel.h"
#include "libnet/core/file.h"
#include "plugins/zl-ipam/store.h"
#include "plugins/zl-wg/config.h"
#include "tests/unit/helpers.h"

using namespace zl;
using cni::kErrDecode;
using cni::kErrInvalidConfig;

namespace {

std::string nested(size_t depth, char open = '[', char close = ']') {
  return std::string(depth, open) + std::string(depth, close);
}

// A temporary directory removed at the end of the test case.
struct TempDir {
  std::string path;
  TempDir() {
    char tmpl[] = "/tmp/zl-unit.XXXXXX";
    REQUIRE(::mkdtemp(tmpl));
    path = tmpl;
  }
  ~TempDir() { (void)!std::system(("rm -rf '" + path + "'").c_str()); }
};

}  // namespace

TEST_CASE("json: nesting beyond the limit is a decode error, at any depth") {
  for (size_t depth : {size_t{129}, size_t{100000}, size_t{1000000}}) {
    CAPTURE(depth);
    CHECK_FAILS(cni::parse_json(nested(depth), "stdin"), kErrDecode, "nested deeper than 128 levels");
    CHECK_FAILS(cni::parse_json(std::string(depth, '['), "stdin"), kErrDecode, "stdin");  // unterminated too
  }
  std::string objects;
  for (int i = 0; i < 200000; ++i) objects += R"({"a":)";
  CHECK_FAILS(cni::parse_json(objects, "peersFile"), kErrDecode, "nested deeper");
  CHECK(cni::parse_json(nested(128), "stdin").ok());
}

TEST_CASE("json: oversized documents and invalid UTF-8 are decode errors") {
  std::string big(cni::kMaxJsonBytes + 1, ' ');
  big[0] = '1';
  CHECK_FAILS(cni::parse_json(big, "stdin"), kErrDecode, "larger than the limit of 64 MiB");
  CHECK_FAILS(cni::parse_json("{\"name\":\"a\xff\"}", "stdin"), kErrDecode, "invalid JSON");
  CHECK_FAILS(cni::parse_json("{\"name\":\"\xed\xa0\x80\"}", "stdin"), kErrDecode, "invalid JSON");
}

TEST_CASE("json: an escape that decodes to a lone UTF-16 surrogate is a decode error, in keys and values") {
  // A raw surrogate is invalid UTF-8 already; the escaped one must not sneak the same bytes in
  // (the state file would then be written with bytes that never parse again).
  for (const char* text : {R"({"name":"a\udc00"})", R"({"a\udfff":1})", R"({"name":"\ud800"})",
                           R"({"name":"x\udc00\ud800y"})"}) {
    CAPTURE(text);
    CHECK_FAILS(cni::parse_json(text, "stdin"), kErrDecode, "stdin: ");
  }
  CHECK_FAILS(cni::parse_json(R"({"name":"a\udc00"})", "stdin"), kErrDecode, "lone UTF-16 surrogate");
  auto pair = cni::parse_json(R"({"name":"\ud83d\ude00 \u00e9\u0000"})", "stdin");  // a pair, é, NUL: fine
  REQUIRE(pair.ok());
  CHECK(std::string((**pair)["name"].GetString(), (**pair)["name"].GetStringLength()) ==
        std::string("\xf0\x9f\x98\x80 \xc3\xa9\0", 8));
  CHECK_FAILS(ipam::parse_state(R"({"allocations":[{"ip":"10.0.0.1","containerID":"a\udc00","ifname":"e"}]})", "state"),
              kErrDecode, "lone UTF-16 surrogate");
  CHECK(!cni::detail::has_surrogate("\xed\x9f\xbf", 3));  // U+D7FF, the last character before them
  CHECK(cni::detail::has_surrogate("ab\xed\xa0\x80", 5));
}

TEST_CASE("dispatch: a million nested arrays on stdin get a CNI error, even for VERSION") {
  for (const char* cmd : {"VERSION", "ADD", "DEL", "CHECK"}) {
    CAPTURE(cmd);
    auto env = test::env_for(cmd);
    std::string out;
    cni::Plugin p{.name = "t", .add = [](const cni::Context&) -> Result<cni::CniResult> { return cni::CniResult{}; }};
    int rc = cni::dispatch(p, env.lookup(), nested(1000000), out);
    if (std::string_view(cmd) == "VERSION") {
      CHECK(rc == 0);  // VERSION answers in the latest version when the request is unusable
      CHECK(test::contains(out, "supportedVersions"));
    } else {
      CHECK(rc == 1);
      auto doc = test::json(out);
      CHECK((*doc)["code"].GetInt() == kErrDecode);
    }
  }
}

TEST_CASE("ipam state: deep nesting under an unknown key, invalid UTF-8, NUL bytes") {
  CHECK_FAILS(ipam::parse_state(R"({"allocations":[],"future":)" + nested(500000) + "}", "state"), kErrDecode,
              "nested deeper");
  CHECK_FAILS(ipam::parse_state("{\"allocations\":[{\"ip\":\"10.0.0.1\",\"containerID\":\"\xc0\xaf\",\"ifname\":\"e\"}]}",
                                "state"),
              kErrDecode, "invalid JSON");
  CHECK(ipam::parse_state(R"({"allocations":[],"future":)" + nested(100) + "}", "state").ok());
}

TEST_CASE("config strings: a NUL byte anywhere is code 7 naming the key") {
  auto doc = cni::parse_json(R"({"a":"x\u0000y","p":"/var/lib/zl\u0000/../../etc/passwd"})", "t");
  REQUIRE(doc.ok());
  CHECK_FAILS(cni::get_string(**doc, "a", "a"), kErrInvalidConfig, "a \"x?y\": contains a NUL byte");
  CHECK_FAILS(cni::get_path(**doc, "p", "privateKeyFile", "/x"), kErrInvalidConfig, "privateKeyFile");
  CHECK_FAILS(cni::validate_path(std::string("/a\0b", 4), "dataDir"), kErrInvalidConfig, "NUL");
  CHECK(cni::validate_path("/var/lib/zl-cni/wg/net.key", "k").ok());
  CHECK(cni::validate_path("/a/..b/c.", "k").ok());
}

TEST_CASE("CNI_ARGS: a key given twice takes the last value, like the reference plugins") {
  static constexpr std::string_view kKnown[] = {"IP", "MAC"};
  auto r = cni::parse_cni_args("IP=10.0.0.5;MAC=02:00:00:00:00:01;IP=10.0.0.6", kKnown);
  REQUIRE(r.ok());
  REQUIRE(r->size() == 2);
  CHECK((*r)[0] == std::pair<std::string, std::string>{"IP", "10.0.0.6"});
  CHECK((*r)[1] == std::pair<std::string, std::string>{"MAC", "02:00:00:00:00:01"});
}

TEST_CASE("zl-wg endpoints: only plain decimal ports") {
  for (const char* bad : {"192.0.2.1: 80", "192.0.2.1:+80", "192.0.2.1:0x50", "192.0.2.1:-1", "192.0.2.1:080000",
                          "192.0.2.1:65536", "192.0.2.1:", "[2001:db8::1]: 80", "[2001:db8::1]:+1"}) {
    CAPTURE(bad);
    auto conf = cni::parse_netconf(std::string(R"({"cniVersion":"1.1.0","name":"n","type":"zl-wg","peers":[)") +
                                   R"({"publicKey":"V+uNV2d4iBLr21k3e91h4a5TQGnzsE0gcil6U+axvCA=","endpoint":")" + bad +
                                   R"("}]})");
    REQUIRE(conf.ok());
    CHECK_FAILS(wg::parse_config(*conf), kErrInvalidConfig, "port must be 1-65535");
  }
}

TEST_CASE("files: FIFOs, devices, directories and symlinks are refused at once, never waited on") {
  TempDir d;
  const std::string fifo = d.path + "/fifo", link = d.path + "/link", reg = d.path + "/reg";
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  REQUIRE(net::write_file_atomic(reg, "{}").ok());
  REQUIRE(::symlink(reg.c_str(), link.c_str()) == 0);
  auto t0 = std::chrono::steady_clock::now();
  auto r = net::read_file(fifo);
  CHECK(std::chrono::steady_clock::now() - t0 < std::chrono::seconds(5));
  REQUIRE_FALSE(r.ok());
  CHECK(test::contains(r.error().msg, "a FIFO, not a regular file"));
  CHECK(test::contains(net::read_file("/dev/zero").error().msg, "a character device"));
  CHECK(test::contains(net::read_file(d.path).error().msg, "a directory"));
  CHECK(net::read_file(link).ok());  // followed by default
  auto nofollow = net::read_file(link, {.follow_symlink = false});
  REQUIRE_FALSE(nofollow.ok());
  CHECK(test::contains(nofollow.error().msg, "a symlink"));
  REQUIRE(::chmod(reg.c_str(), 0666) == 0);
  auto loose = net::read_file(reg, {.forbidden_mode = 022});
  REQUIRE_FALSE(loose.ok());
  CHECK(test::contains(loose.error().msg, "mode 0666: must not be writable by group or others"));
  auto capped = net::read_file(reg, {}, 1);
  REQUIRE_FALSE(capped.ok());
  CHECK(capped.error().sys == EFBIG);
}

TEST_CASE("files: write_file_atomic never writes through a symlink planted at its temp name") {
  TempDir d;
  const std::string target = d.path + "/victim", path = d.path + "/state.json";
  REQUIRE(net::write_file_atomic(target, "precious").ok());
  const std::string tmp = path + ".tmp." + std::to_string(::getpid());
  REQUIRE(::symlink(target.c_str(), tmp.c_str()) == 0);
  REQUIRE(net::write_file_atomic(path, "new").ok());
  CHECK(*net::read_file(target) == "precious");
  CHECK(*net::read_file(path) == "new");
}

TEST_CASE("files: FileLock::try_acquire does not wait, and refuses a FIFO or symlink as the lock") {
  TempDir d;
  const std::string path = d.path + "/agent.lock";
  auto held = net::FileLock::try_acquire(path);
  REQUIRE(held.ok());
  REQUIRE(held->has_value());
  auto second = net::FileLock::try_acquire(path);  // another open file: flock says no at once
  REQUIRE(second.ok());
  CHECK_FALSE(second->has_value());
  CHECK((*held)->current(path));
  REQUIRE(::unlink(path.c_str()) == 0);  // deleted under its holder: no longer current
  CHECK_FALSE((*held)->current(path));
  auto after = net::FileLock::try_acquire(path);  // what a second holder would get: the holder must notice
  REQUIRE(after.ok());
  CHECK(after->has_value());
  after->reset();
  held->reset();
  auto third = net::FileLock::try_acquire(path);
  REQUIRE(third.ok());
  CHECK(third->has_value());
  const std::string fifo = d.path + "/fifo.lock", link = d.path + "/link.lock";
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  REQUIRE(::symlink(path.c_str(), link.c_str()) == 0);
  auto f = net::FileLock::try_acquire(fifo);
  REQUIRE_FALSE(f.ok());
  CHECK(test::contains(f.error().msg, "a FIFO"));
  CHECK_FALSE(net::FileLock::try_acquire(link).ok());
}
