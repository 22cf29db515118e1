#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <string>

#include "libcni/conflist.h"
#include "libnet/core/file.h"
#include "libnet/core/search_path.h"
#include "tests/unit/helpers.h"

using namespace zl;
using namespace zl::cni;

namespace {

struct TempDir {
  std::string path;
  TempDir() {
    char tmpl[] = "/tmp/zl-conflist-XXXXXX";
    REQUIRE(::mkdtemp(tmpl) != nullptr);
    path = tmpl;
  }
  ~TempDir() { (void)std::system(("rm -rf '" + path + "'").c_str()); }
  std::string write(const std::string& name, const std::string& text) const {
    std::string p = path + "/" + name;
    REQUIRE(net::write_file_atomic(p, text, 0644).ok());
    return p;
  }
};

constexpr const char* kList = R"({"cniVersion":"1.0.0","name":"mesh","plugins":[
  {"type":"zl-bridge","bridge":"br0","ipam":{"type":"zl-ipam","subnet":"10.1.0.0/24"}},
  {"type":"zl-wg","name":"ignored","cniVersion":"0.3.1","listenPort":51821},
  {"type":"zl-wg","listenPort":1}]})";

}  // namespace

TEST_CASE("load_conflist: types in order, name and cniVersion injected into each plugin") {
  TempDir d;
  auto l = load_conflist(d.write("a.conflist", kList));
  REQUIRE_MESSAGE(l.ok(), l.error().msg);
  CHECK(l->name == "mesh");
  CHECK(l->cni_version == "1.0.0");
  CHECK(l->types == std::vector<std::string>{"zl-bridge", "zl-wg", "zl-wg"});
  REQUIRE(l->plugin_confs.size() == 3);
  auto wg = l->plugin("zl-wg");
  REQUIRE_MESSAGE(wg.ok(), wg.error().msg);
  CHECK(wg->name == "mesh");
  CHECK(wg->cni_version == "1.0.0");  // the list's, not the plugin's own
  CHECK(wg->root()["listenPort"].GetInt() == 51821);  // the first of that type
  auto br = l->plugin("zl-bridge");
  REQUIRE(br.ok());
  CHECK(br->ipam_type == "zl-ipam");
  CHECK_FAILS(l->plugin("zl-nope"), kErrInvalidConfig, "a.conflist: no zl-nope plugin in the conflist");
}

TEST_CASE("load_conflist: cniVersion defaults to 1.1.0; a bad network name fails when the plugin is taken") {
  TempDir d;
  auto l = load_conflist(d.write("v.conflist", R"({"name":"n","plugins":[{"type":"x"}]})"));
  REQUIRE(l.ok());
  CHECK(l->cni_version == "1.1.0");
  auto bad = load_conflist(d.write("b.conflist", R"({"name":"../etc","plugins":[{"type":"x"}]})"));
  REQUIRE(bad.ok());
  CHECK_FAILS(bad->plugin("x"), kErrInvalidConfig, "b.conflist: network name \"../etc\"");
}

TEST_CASE("load_conflist: hostile and malformed files are refused, naming the file") {
  TempDir d;
  CHECK_FAILS(load_conflist(d.write("1", R"([1,2])")), kErrInvalidConfig, "/1: not a conflist");
  CHECK_FAILS(load_conflist(d.write("2", R"({"name":1,"plugins":[]})")), kErrInvalidConfig, "/2: not a conflist");
  CHECK_FAILS(load_conflist(d.write("3", R"({"plugins":[]})")), kErrInvalidConfig, "/3: conflist needs name and plugins");
  CHECK_FAILS(load_conflist(d.write("4", R"({"name":"n","plugins":[{"type":"a"},3]})")), kErrInvalidConfig,
              "/4: plugins[1]: expected an object with a string \"type\"");
  CHECK_FAILS(load_conflist(d.write("5", R"({"name":"n","plugins":[{"type":7}]})")), kErrInvalidConfig,
              "/5: plugins[0]");
  CHECK_FAILS(load_conflist(d.write("6", R"({"name":"n",)")), kErrDecode, "6");
  CHECK_FAILS(load_conflist(d.write("7", std::string(200, '[') + std::string(200, ']'))), kErrDecode,
              "nested deeper than 128");
  std::string fifo = d.path + "/fifo.conflist";
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  auto f = load_conflist(fifo);  // must not block
  REQUIRE_FALSE(f.ok());
  CHECK_MESSAGE(test::contains(f.error().msg, "a FIFO"), f.error().msg);
  CHECK_FALSE(load_conflist(d.path).ok());                   // a directory
  CHECK_FALSE(load_conflist(d.path + "/missing").ok());
  std::string link = d.path + "/link.conflist";
  REQUIRE(::symlink(d.write("real", kList).c_str(), link.c_str()) == 0);
  CHECK(load_conflist(link).ok());  // /etc/cni/net.d entries are often symlinks: followed
}

TEST_CASE("find_executable: first executable regular file along the list, empty entries skipped") {
  TempDir a, b;
  std::string in_a = a.write("tool", "#!/bin/sh\n");  // 0644: not executable
  std::string in_b = b.write("tool", "#!/bin/sh\n");
  REQUIRE(::chmod(in_b.c_str(), 0755) == 0);
  REQUIRE(::mkdir((a.path + "/dir").c_str(), 0755) == 0);
  CHECK(net::find_executable("tool", "::" + a.path + "::" + b.path) == in_b);
  REQUIRE(::chmod(in_a.c_str(), 0755) == 0);
  CHECK(net::find_executable("tool", a.path + ":" + b.path) == in_a);
  CHECK_FALSE(net::find_executable("dir", a.path).has_value());       // a directory
  CHECK_FALSE(net::find_executable("missing", a.path + ":" + b.path).has_value());
  CHECK_FALSE(net::find_executable("", a.path).has_value());
  CHECK_FALSE(net::find_executable("../" + a.path.substr(5) + "/tool", "/tmp/x").has_value());  // not a plain name
  CHECK_FALSE(net::find_executable("tool", "").has_value());
}
