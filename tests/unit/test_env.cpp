// The CNI_* environment: required variables per command, interface names, container IDs, CNI_ARGS.
#include <doctest/doctest.h>

#include "libcni/env.h"
#include "libcni/errors.h"
#include "tests/unit/helpers.h"

using namespace zl;
using namespace zl::cni;
using test::env_for;

namespace {
constexpr std::string_view kKnown[] = {"IP", "K8S_POD_NAME"};
}

TEST_CASE("parse_env: a full ADD environment") {
  auto e = env_for("ADD");
  e.vars["CNI_ARGS"] = "IP=10.0.0.5;K8S_POD_NAME=web-0";
  auto env = parse_env(e.lookup(), kKnown);
  REQUIRE_MESSAGE(env.ok(), env.error().msg);
  CHECK(env->command == Command::kAdd);
  CHECK(env->command_name == "ADD");
  CHECK(env->container_id == "c0ffee");
  CHECK(env->netns == "/var/run/netns/test");
  CHECK(env->ifname == "eth0");
  CHECK(env->path == "/opt/cni/bin");
  CHECK(env->args == "IP=10.0.0.5;K8S_POD_NAME=web-0");
  CHECK(env->cni_args == std::vector<std::pair<std::string, std::string>>{{"IP", "10.0.0.5"}, {"K8S_POD_NAME", "web-0"}});
}

TEST_CASE("parse_env: each command maps to its enum") {
  const std::pair<const char*, Command> cmds[] = {{"ADD", Command::kAdd},       {"DEL", Command::kDel},
                                                  {"CHECK", Command::kCheck},   {"GC", Command::kGc},
                                                  {"STATUS", Command::kStatus}, {"VERSION", Command::kVersion}};
  for (auto [name, cmd] : cmds) {
    CAPTURE(name);
    auto env = parse_env(env_for(name).lookup(), kKnown);
    REQUIRE(env.ok());
    CHECK(env->command == cmd);
  }
}

TEST_CASE("parse_env: CNI_COMMAND missing, empty or unknown is code 4") {
  auto e = env_for("ADD");
  e.vars.erase("CNI_COMMAND");
  CHECK_FAILS(parse_env(e.lookup(), kKnown), kErrInvalidEnv, "CNI_COMMAND is not set");
  e.vars["CNI_COMMAND"] = "";
  CHECK_FAILS(parse_env(e.lookup(), kKnown), kErrInvalidEnv, "CNI_COMMAND is not set");
  e.vars["CNI_COMMAND"] = "add";
  CHECK_FAILS(parse_env(e.lookup(), kKnown), kErrInvalidEnv, "CNI_COMMAND \"add\": unknown command");
  e.vars["CNI_COMMAND"] = "DELETE";
  CHECK_FAILS(parse_env(e.lookup(), kKnown), kErrInvalidEnv, "\"DELETE\"");
}

TEST_CASE("parse_env: required variables per command") {
  struct Need {
    const char* cmd;
    bool container, netns, ifname, path;
  };
  const Need needs[] = {
      {"ADD", true, true, true, true},      {"DEL", true, false, true, true},
      {"CHECK", true, true, true, true},    {"GC", false, false, false, true},
      {"STATUS", false, false, false, true}, {"VERSION", false, false, false, false},
  };
  for (const auto& n : needs) {
    const std::pair<const char*, bool> vars[] = {
        {"CNI_CONTAINERID", n.container}, {"CNI_NETNS", n.netns}, {"CNI_IFNAME", n.ifname}, {"CNI_PATH", n.path}};
    for (auto [var, required] : vars) {
      CAPTURE(n.cmd);
      CAPTURE(var);
      for (bool empty : {false, true}) {
        auto e = env_for(n.cmd);
        if (empty) {
          e.vars[var] = "";
        } else {
          e.vars.erase(var);
        }
        auto env = parse_env(e.lookup(), kKnown);
        if (required) {
          CHECK_FAILS(env, kErrInvalidEnv, var);
          CHECK_FAILS(env, kErrInvalidEnv, std::string("missing for ") + n.cmd);
        } else {
          CHECK_MESSAGE(env.ok(), (env.ok() ? "" : env.error().msg));
        }
      }
    }
  }
}

TEST_CASE("parse_env: all missing variables are named at once") {
  test::FakeEnv e;
  e.vars = {{"CNI_COMMAND", "ADD"}};
  auto env = parse_env(e.lookup(), kKnown);
  CHECK_FAILS(env, kErrInvalidEnv, "CNI_CONTAINERID, CNI_NETNS, CNI_IFNAME, CNI_PATH");
}

TEST_CASE("parse_env: DEL without CNI_NETNS works (the netns may be gone)") {
  auto e = env_for("DEL");
  e.vars.erase("CNI_NETNS");
  auto env = parse_env(e.lookup(), kKnown);
  REQUIRE(env.ok());
  CHECK(env->netns.empty());
}

TEST_CASE("parse_env: a bad CNI_IFNAME is code 4 naming the variable") {
  for (std::string bad : {"0123456789abcdef", ".", "..", "a/b", "a:b", "a b", "a\tb", "a\nb", "/"}) {
    CAPTURE(bad);
    auto e = env_for("ADD");
    e.vars["CNI_IFNAME"] = bad;
    CHECK_FAILS(parse_env(e.lookup(), kKnown), kErrInvalidEnv, "CNI_IFNAME: interface name \"" + bad + "\"");
  }
  // Optional for GC, but still validated when given.
  auto e = env_for("GC");
  e.vars["CNI_IFNAME"] = "a/b";
  CHECK_FAILS(parse_env(e.lookup(), kKnown), kErrInvalidEnv, "CNI_IFNAME");
}

TEST_CASE("parse_env: an interface name or netns path that is not UTF-8 is code 4 (it would go into JSON)") {
  // The kernel takes such a name, but the IPAM state and the result are JSON: one ADD with it
  // made the network's state unreadable for every later call.
  for (std::string bad : {"eth\xff", "\xed\xa0\x80", "e\xc3", "\xc0\xaf"}) {
    CAPTURE(bad);
    auto e = env_for("ADD");
    e.vars["CNI_IFNAME"] = bad;
    CHECK_FAILS(parse_env(e.lookup(), kKnown), kErrInvalidEnv, "not UTF-8");
  }
  auto e = env_for("ADD");
  e.vars["CNI_IFNAME"] = "\xc3\xa9th0";
  CHECK(parse_env(e.lookup(), kKnown).ok());
  e.vars["CNI_NETNS"] = "/run/netns/\xff";
  CHECK_FAILS(parse_env(e.lookup(), kKnown), kErrInvalidEnv, "CNI_NETNS \"/run/netns/\xef\xbf\xbd\": not UTF-8");
}

TEST_CASE("validate_ifname: the kernel's rules") {
  CHECK(validate_ifname("eth0").ok());
  CHECK(validate_ifname("a").ok());
  CHECK(validate_ifname("0123456789abcde").ok());  // 15 bytes
  CHECK(validate_ifname("net1.100").ok());
  CHECK(validate_ifname("...").ok());
  CHECK(validate_ifname("eth-0_x").ok());
  CHECK_FAILS(validate_ifname(""), kErrInvalidEnv, "interface name is empty");
  CHECK_FAILS(validate_ifname("0123456789abcdef"), kErrInvalidEnv, "longer than 15 bytes");
  // 15 characters but 16 bytes.
  CHECK_FAILS(validate_ifname("\xc3\xa9" "0123456789abcd"), kErrInvalidEnv, "longer than 15 bytes");
  CHECK_FAILS(validate_ifname("."), kErrInvalidEnv, "not allowed");
  CHECK_FAILS(validate_ifname(".."), kErrInvalidEnv, "not allowed");
  const std::string_view bads[] = {"a/b", "a:b", "a b", "a\tb", "a\vb", "a\rb", std::string_view("a\0b", 3)};
  for (std::string_view bad : bads) {
    CAPTURE(bad);
    CHECK_FAILS(validate_ifname(bad), kErrInvalidEnv, "must not contain");
  }
}

TEST_CASE("parse_env: container IDs must be identifiers") {
  for (std::string bad : {"-abc", ".abc", "_abc", "a/b", "a b", "../etc", "a;b", "a\xc3\xa9"}) {
    CAPTURE(bad);
    auto e = env_for("ADD");
    e.vars["CNI_CONTAINERID"] = bad;
    CHECK_FAILS(parse_env(e.lookup(), kKnown), kErrInvalidEnv, "CNI_CONTAINERID \"" + bad + "\"");
  }
  for (std::string good : {"a", "0", "abc-DEF_0.1", "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"}) {
    CAPTURE(good);
    auto e = env_for("ADD");
    e.vars["CNI_CONTAINERID"] = good;
    CHECK(parse_env(e.lookup(), kKnown).ok());
  }
  // GC has no container; one given is still validated.
  auto e = env_for("GC");
  e.vars["CNI_CONTAINERID"] = "a/b";
  CHECK_FAILS(parse_env(e.lookup(), kKnown), kErrInvalidEnv, "CNI_CONTAINERID");
}

TEST_CASE("valid_identifier") {
  CHECK(valid_identifier("zl-mesh"));
  CHECK(valid_identifier("a.b_c-d"));
  CHECK(valid_identifier("a..b"));
  CHECK_FALSE(valid_identifier(""));
  CHECK_FALSE(valid_identifier(".."));
  CHECK_FALSE(valid_identifier("a/b"));
  CHECK_FALSE(valid_identifier(std::string_view("a\0", 2)));
}

using Pairs = std::vector<std::pair<std::string, std::string>>;

TEST_CASE("parse_cni_args: pairs, empty segments, empty values") {
  auto a = parse_cni_args("IP=10.0.0.5;K8S_POD_NAME=web-0", kKnown);
  REQUIRE(a.ok());
  CHECK(*a == Pairs{{"IP", "10.0.0.5"}, {"K8S_POD_NAME", "web-0"}});
  a = parse_cni_args(";;IP=10.0.0.5;;", kKnown);
  REQUIRE(a.ok());
  CHECK(*a == Pairs{{"IP", "10.0.0.5"}});
  a = parse_cni_args("", kKnown);
  REQUIRE(a.ok());
  CHECK(a->empty());
  a = parse_cni_args("IP=", kKnown);
  REQUIRE(a.ok());
  CHECK(*a == Pairs{{"IP", ""}});
  // Only the first '=' splits.
  a = parse_cni_args("IP=a=b", kKnown);
  REQUIRE(a.ok());
  CHECK(*a == Pairs{{"IP", "a=b"}});
}

TEST_CASE("parse_cni_args: malformed pairs are code 4") {
  CHECK_FAILS(parse_cni_args("novalue", kKnown), kErrInvalidEnv, "\"novalue\" is not KEY=VALUE");
  CHECK_FAILS(parse_cni_args("IP=1.2.3.4;novalue", kKnown), kErrInvalidEnv, "\"novalue\"");
  CHECK_FAILS(parse_cni_args("=x", kKnown), kErrInvalidEnv, "\"=x\" is not KEY=VALUE");
  // Malformed is an error even with IgnoreUnknown.
  CHECK_FAILS(parse_cni_args("IgnoreUnknown=1;novalue", kKnown), kErrInvalidEnv, "novalue");
}

TEST_CASE("parse_cni_args: unknown keys and IgnoreUnknown") {
  CHECK_FAILS(parse_cni_args("IP=1.2.3.4;FOO=bar", kKnown), kErrInvalidEnv, "unknown key \"FOO\"");
  CHECK_FAILS(parse_cni_args("ip=1.2.3.4", kKnown), kErrInvalidEnv, "unknown key \"ip\"");
  for (std::string on : {"1", "true", "TRUE", "True"}) {
    CAPTURE(on);
    // IgnoreUnknown applies wherever it appears in the list.
    for (std::string s : {"IgnoreUnknown=" + on + ";FOO=bar;IP=1.2.3.4", "FOO=bar;IP=1.2.3.4;IgnoreUnknown=" + on}) {
      auto a = parse_cni_args(s, kKnown);
      REQUIRE_MESSAGE(a.ok(), a.error().msg);
      CHECK(*a == Pairs{{"IP", "1.2.3.4"}});
    }
  }
  for (std::string off : {"0", "false", "FALSE"}) {
    CAPTURE(off);
    CHECK_FAILS(parse_cni_args("IgnoreUnknown=" + off + ";FOO=bar", kKnown), kErrInvalidEnv, "unknown key \"FOO\"");
    auto a = parse_cni_args("IgnoreUnknown=" + off + ";IP=1.2.3.4", kKnown);
    REQUIRE(a.ok());
    CHECK(*a == Pairs{{"IP", "1.2.3.4"}});
  }
  for (std::string bad : {"yes", "", "2", "on"}) {
    CAPTURE(bad);
    CHECK_FAILS(parse_cni_args("IgnoreUnknown=" + bad, kKnown), kErrInvalidEnv,
                "IgnoreUnknown=\"" + bad + "\": must be true, false, 1 or 0");
  }
}

TEST_CASE("parse_env: CNI_ARGS errors surface as code 4") {
  auto e = env_for("ADD");
  e.vars["CNI_ARGS"] = "FOO=bar";
  CHECK_FAILS(parse_env(e.lookup(), kKnown), kErrInvalidEnv, "unknown key \"FOO\"");
  e.vars["CNI_ARGS"] = "IgnoreUnknown=1;FOO=bar;K8S_POD_NAME=x";
  auto env = parse_env(e.lookup(), kKnown);
  REQUIRE(env.ok());
  CHECK(env->cni_args == Pairs{{"K8S_POD_NAME", "x"}});
  CHECK(env->args == "IgnoreUnknown=1;FOO=bar;K8S_POD_NAME=x");
}
