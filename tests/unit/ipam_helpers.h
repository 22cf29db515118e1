// Helpers for the zl-ipam unit tests: a parsed NetConf + Config from an ipam JSON object.
#pragma once

#include <doctest/doctest.h>

#include <memory>
#include <string>

#include "plugins/zl-ipam/config.h"
#include "tests/unit/helpers.h"

namespace zl::test {

inline cni::NetConf netconf(std::string_view ipam_json, std::string_view extra = "", std::string_view name = "zl-test") {
  std::string raw = R"({"cniVersion":"1.1.0","name":")" + std::string(name) + R"(","type":"zl-bridge","ipam":)" +
                    std::string(ipam_json) + (extra.empty() ? "" : ",") + std::string(extra) + "}";
  auto c = cni::parse_netconf(raw);
  REQUIRE_MESSAGE(c.ok(), (c.ok() ? std::string() : c.error().msg));
  return std::move(*c);
}

inline Result<ipam::Config> ipam_config(std::string_view ipam_json) {
  auto c = netconf(ipam_json);
  return ipam::parse_config(c);
}

inline ipam::Config ipam_ok(std::string_view ipam_json) {
  auto c = ipam_config(ipam_json);
  REQUIRE_MESSAGE(c.ok(), (c.ok() ? std::string() : c.error().msg));
  return std::move(*c);
}

}  // namespace zl::test
