// zl-wg's peer names file (written by zl-meshd, read by `zl-wg show`): round trip, a missing
// file is no names, hostile or malformed files are errors, bad names are refused on write.
#include <doctest/doctest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "libnet/core/file.h"
#include "libnet/wireguard/keys.h"
#include "plugins/zl-wg/names.h"

using namespace zl;
using zl::wg::PeerName;

namespace {

net::Key key_n(uint8_t n) {
  net::Key k{};
  k[0] = n;
  k[31] = 0x17;
  return k;
}

// A unique interface name; its names file is removed at the end.
struct NamesFile {
  std::string ifname = "zlnt" + std::to_string(getpid() % 100000000);
  std::string path = wg::peer_names_file(ifname);
  ~NamesFile() { unlink(path.c_str()); }
  void put(std::string_view text) const { REQUIRE(net::write_file_atomic(path, text, 0644).ok()); }
};

}  // namespace

TEST_CASE("peer names: the file's path") { CHECK(wg::peer_names_file("zl-wg0") == "/run/zl-cni/wg/zl-wg0.names.json"); }

TEST_CASE("peer names: written atomically 0644, read back the same; missing is none") {
  NamesFile f;
  unlink(f.path.c_str());
  auto none = wg::read_peer_names(f.ifname);
  REQUIRE(none.ok());
  CHECK(none->empty());
  std::vector<PeerName> in{{key_n(1), "node-a", true}, {key_n(2), "nöde-b.example", false}};
  REQUIRE(wg::write_peer_names(f.ifname, in).ok());
  struct stat st{};
  REQUIRE(stat(f.path.c_str(), &st) == 0);
  CHECK((st.st_mode & 07777) == 0644);
  auto back = wg::read_peer_names(f.ifname);
  REQUIRE_MESSAGE(back.ok(), back.error().msg);
  REQUIRE(back->size() == 2);
  CHECK((*back)[0].public_key == key_n(1));
  CHECK((*back)[0].node == "node-a");
  CHECK((*back)[0].up);
  CHECK((*back)[1].public_key == key_n(2));
  CHECK((*back)[1].node == "nöde-b.example");
  CHECK_FALSE((*back)[1].up);
  REQUIRE(wg::write_peer_names(f.ifname, {}).ok());  // replaced whole
  CHECK(wg::read_peer_names(f.ifname)->empty());
}

TEST_CASE("peer names: bad names, duplicates and bad interfaces are refused on write") {
  NamesFile f;
  REQUIRE(wg::write_peer_names(f.ifname, {{key_n(1), "a", true}}).ok());
  for (const std::string& bad : {std::string(), std::string("evil\x1b[2J"), std::string(254, 'x'), std::string("tab\there")}) {
    auto s = wg::write_peer_names(f.ifname, {{key_n(1), bad, true}});
    CHECK_FALSE(s.ok());
  }
  auto dup = wg::write_peer_names(f.ifname, {{key_n(1), "a", true}, {key_n(1), "b", true}});
  REQUIRE_FALSE(dup.ok());
  CHECK(dup.error().msg.find("listed twice") != std::string::npos);
  CHECK_FALSE(wg::write_peer_names("../etc", {}).ok());
  CHECK_FALSE(wg::read_peer_names("a/b").ok());
  CHECK(wg::read_peer_names(f.ifname)->size() == 1);  // the refused writes left it as it was
}

TEST_CASE("peer names: malformed or hostile files are errors naming the file") {
  NamesFile f;
  std::string k = net::key_to_base64(key_n(1));
  for (const std::string& bad : std::vector<std::string>{std::string("{\"peers\": ["), std::string("[]"), std::string("{\"peers\": {}}"),
        "{\"peers\": [{\"publicKey\": \"abc\", \"node\": \"a\"}]}", "{\"peers\": [{\"publicKey\": \"" + k + "\"}]}",
        "{\"peers\": [{\"publicKey\": \"" + k + "\", \"node\": \"a\", \"up\": \"yes\"}]}",
        "{\"peers\": [{\"publicKey\": \"" + k + "\", \"node\": \"a\\u0007\"}]}",
        "{\"peers\": [{\"publicKey\": \"" + k + "\", \"node\": \"a\"}, {\"publicKey\": \"" + k + "\", \"node\": \"b\"}]}",
        std::string(200, '[') + std::string(200, ']')}) {
    f.put(bad);
    auto r = wg::read_peer_names(f.ifname);
    REQUIRE_MESSAGE(!r.ok(), bad);
    CHECK_MESSAGE(r.error().msg.find(f.path) != std::string::npos, r.error().msg);
  }
  f.put("{\"peers\": [{\"publicKey\": \"" + k + "\", \"node\": \"a\"}]}");
  auto ok = wg::read_peer_names(f.ifname);
  REQUIRE(ok.ok());
  CHECK(ok->at(0).up);  // "up" defaults to true
  std::string real = f.path + ".real";
  REQUIRE(rename(f.path.c_str(), real.c_str()) == 0);
  REQUIRE(symlink(real.c_str(), f.path.c_str()) == 0);
  auto link = wg::read_peer_names(f.ifname);
  CHECK_FALSE(link.ok());
  unlink(f.path.c_str());
  unlink(real.c_str());
  REQUIRE(mkfifo(f.path.c_str(), 0644) == 0);
  auto fifo = wg::read_peer_names(f.ifname);  // refused without blocking
  REQUIRE_FALSE(fifo.ok());
  CHECK(fifo.error().msg.find("FIFO") != std::string::npos);
}

TEST_CASE("peer names: parse_peer_names names its source in errors") {
  auto empty = wg::parse_peer_names(R"({"peers": []})", "src");
  REQUIRE(empty.ok());
  CHECK(empty->empty());
  auto bad = wg::parse_peer_names(R"({"peers": [1]})", "src");
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error().msg.find("src peers[0]: expected an object") != std::string::npos);
}
