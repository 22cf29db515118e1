// The zl-ipam state document: serialize/parse round trips and rejection of anything else.
#include <doctest/doctest.h>

#include "libcni/errors.h"
#include "plugins/zl-ipam/store.h"
#include "tests/unit/helpers.h"

using namespace zl;
using namespace zl::ipam;
using test::ip;

TEST_CASE("state: exact serialized form") {
  State s;
  s.last_reserved = {ip("10.0.0.3"), std::nullopt};
  s.allocations = {{ip("10.0.0.3"), "c1", "eth0"}, {ip("fd00::2"), "c1", "eth0"}};
  CHECK(serialize_state(s) ==
        R"({"lastReserved":["10.0.0.3",null],"allocations":[{"ip":"10.0.0.3","containerID":"c1","ifname":"eth0"},)"
        R"({"ip":"fd00::2","containerID":"c1","ifname":"eth0"}]})"
        "\n");
  CHECK(serialize_state(State{}) == "{\"lastReserved\":[],\"allocations\":[]}\n");
}

TEST_CASE("state: parse_state(serialize_state(s)) == s") {
  std::vector<State> cases;
  cases.push_back(State{});
  State one;
  one.last_reserved = {std::nullopt};
  one.allocations = {{ip("10.244.1.2"), "abc", "eth0"}};
  cases.push_back(one);
  State dual;
  dual.last_reserved = {ip("10.244.1.9"), ip("fd00:244::9"), std::nullopt};
  for (int i = 0; i < 50; ++i) {
    dual.allocations.push_back({ip("10.244.1.2").add(i), "c" + std::to_string(i), i % 2 ? "eth0" : "net1"});
    dual.allocations.push_back({ip("fd00:244::2").add(i), "c" + std::to_string(i), i % 2 ? "eth0" : "net1"});
  }
  cases.push_back(dual);
  State odd;  // strings that need escaping survive
  odd.allocations = {{ip("::ffff:10.0.0.1"), "id \"quoted\" \\ \xc3\xa9", std::string("if\0x", 4)},
                     {ip("255.255.255.255"), "", ""}};
  cases.push_back(odd);
  for (const auto& s : cases) {
    auto text = serialize_state(s);
    auto back = parse_state(text, "state");
    REQUIRE_MESSAGE(back.ok(), back.error().msg);
    CHECK(*back == s);
    CHECK(serialize_state(*back) == text);
  }
}

TEST_CASE("state: older documents without lastReserved parse") {
  auto s = parse_state(R"({"allocations":[{"ip":"10.0.0.2","containerID":"a","ifname":"eth0"}]})", "state");
  REQUIRE_MESSAGE(s.ok(), s.error().msg);
  CHECK(s->last_reserved.empty());
  CHECK(s->allocations == std::vector<Allocation>{{ip("10.0.0.2"), "a", "eth0"}});
  // Unknown keys are tolerated (a newer writer may add some).
  auto t = parse_state(R"({"version":2,"lastReserved":[],"allocations":[]})", "state");
  CHECK(t.ok());
}

TEST_CASE("state: malformed or foreign documents are code 6 naming the file") {
  const char* bad[] = {
      "",
      "{",
      "not json",
      "[]",
      "null",
      "42",
      R"({})",
      R"({"hello":"world"})",
      R"({"cniVersion":"1.0.0","ips":[{"address":"10.0.0.2/24"}]})",
      R"({"lastReserved":[]})",
      R"({"allocations":{}})",
      R"({"allocations":null})",
      R"({"allocations":[5]})",
      R"({"allocations":[{"ip":"10.0.0.2","containerID":"a"}]})",
      R"({"allocations":[{"ip":"10.0.0.2","ifname":"eth0"}]})",
      R"({"allocations":[{"containerID":"a","ifname":"eth0"}]})",
      R"({"allocations":[{"ip":"10.0.0.300","containerID":"a","ifname":"eth0"}]})",
      R"({"allocations":[{"ip":"10.0.0.2/24","containerID":"a","ifname":"eth0"}]})",
      R"({"allocations":[{"ip":"10.0.0.2\u0000x","containerID":"a","ifname":"eth0"}]})",
      R"({"allocations":[{"ip":167772162,"containerID":"a","ifname":"eth0"}]})",
      R"({"allocations":[{"ip":"10.0.0.2","containerID":1,"ifname":"eth0"}]})",
      R"({"allocations":[],"lastReserved":{}})",
      R"({"allocations":[],"lastReserved":["x"]})",
      R"({"allocations":[],"lastReserved":[5]})",
      R"({"allocations":[],"lastReserved":["10.0.0.2\u0000"]})",
  };
  for (std::string text : bad) {
    CAPTURE(text);
    CHECK_FAILS(parse_state(text, "/var/lib/zl-cni/ipam/net.json"), cni::kErrDecode, "/var/lib/zl-cni/ipam/net.json");
  }
}
