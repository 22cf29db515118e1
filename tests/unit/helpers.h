// Shared helpers for the unit tests: a fake environment and small JSON utilities.
#pragma once

#include <doctest/doctest.h>

#include <map>
#include <ostream>
#include <memory>
#include <string>
#include <string_view>

#include "libcni/conf.h"
#include "libcni/env.h"
#include "libcni/json.h"
#include "libnet/core/ip.h"
#include "libnet/core/result.h"

namespace zl::test {

// A CNI_* environment held in a map; lookup() hands out pointers into it.
struct FakeEnv {
  std::map<std::string, std::string> vars;
  cni::EnvLookup lookup() const {
    return [this](const char* k) -> const char* {
      auto it = vars.find(k);
      return it == vars.end() ? nullptr : it->second.c_str();
    };
  }
};

// The usual ADD environment; callers adjust it.
inline FakeEnv env_for(std::string command) {
  FakeEnv e;
  e.vars = {{"CNI_COMMAND", std::move(command)},
            {"CNI_CONTAINERID", "c0ffee"},
            {"CNI_NETNS", "/var/run/netns/test"},
            {"CNI_IFNAME", "eth0"},
            {"CNI_PATH", "/opt/cni/bin"}};
  return e;
}

inline std::unique_ptr<rapidjson::Document> json(std::string_view text) {
  auto d = cni::parse_json(text, "test");
  REQUIRE_MESSAGE(d.ok(), (d.ok() ? std::string() : d.error().msg));
  return std::move(*d);
}

inline net::IpAddr ip(std::string_view s) {
  auto a = net::IpAddr::parse(s);
  REQUIRE_MESSAGE(a.has_value(), std::string(s));
  return *a;
}

inline net::IpNet cidr(std::string_view s) {
  auto n = net::IpNet::parse(s);
  REQUIRE_MESSAGE(n.has_value(), std::string(s));
  return *n;
}

inline bool contains(std::string_view hay, std::string_view needle) { return hay.find(needle) != std::string_view::npos; }

// Asserts a failed Result with `code` whose message mentions `needle`.
#define CHECK_FAILS(expr, want_code, needle)                                      \
  do {                                                                            \
    auto&& r_ = (expr);                                                           \
    REQUIRE_FALSE(r_.ok());                                                       \
    CHECK(r_.error().code == (want_code));                                        \
    CHECK_MESSAGE(::zl::test::contains(r_.error().msg, (needle)), r_.error().msg); \
  } while (0)

}  // namespace zl::test

namespace zl::net {
inline std::ostream& operator<<(std::ostream& o, const IpAddr& a) { return o << a.str(); }
inline std::ostream& operator<<(std::ostream& o, const IpNet& n) { return o << n.str(); }
}  // namespace zl::net
