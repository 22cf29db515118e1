// CNI spec versions: parsing, ordering, the supported set, and the VERSION command.
#include <doctest/doctest.h>

#include "libcni/skel.h"
#include "libcni/version.h"
#include "tests/unit/helpers.h"

using namespace zl;
using namespace zl::cni;

TEST_CASE("parse_version accepts X.Y.Z with decimal parts") {
  CHECK(parse_version("0.3.1") == std::array<int, 3>{0, 3, 1});
  CHECK(parse_version("1.1.0") == std::array<int, 3>{1, 1, 0});
  CHECK(parse_version("10.20.30") == std::array<int, 3>{10, 20, 30});
  CHECK(parse_version("0.0.0") == std::array<int, 3>{0, 0, 0});
}

TEST_CASE("parse_version rejects everything else") {
  for (std::string_view bad : {"", "1", "1.0", "1.0.", ".1.0", "1..0", "1.0.0.0", "1.0.0-rc1", "v1.0.0", "a.b.c",
                               "1.0.x", " 1.0.0", "1.0.0 ", "-1.0.0", "1.-1.0", "1.0.-0", "+1.0.0", "99999.0.0"}) {
    CAPTURE(bad);
    CHECK_FALSE(parse_version(bad).has_value());
  }
}

TEST_CASE("compare_versions orders numerically, not lexically") {
  CHECK(compare_versions("0.3.0", "0.3.1") < 0);
  CHECK(compare_versions("0.3.1", "0.3.0") > 0);
  CHECK(compare_versions("0.4.0", "0.4.0") == 0);
  CHECK(compare_versions("0.10.0", "0.9.0") > 0);
  CHECK(compare_versions("1.0.0", "0.4.0") > 0);
  CHECK(compare_versions("1.1.0", "1.0.0") > 0);
  CHECK(compare_versions("2.0.0", "1.10.10") > 0);
  // Unparsable ones sort first; two unparsable ones are equal.
  CHECK(compare_versions("garbage", "0.1.0") < 0);
  CHECK(compare_versions("0.1.0", "garbage") > 0);
  CHECK(compare_versions("", "x") == 0);
  CHECK(version_at_least("1.1.0", "1.1.0"));
  CHECK(version_at_least("1.1.0", "0.4.0"));
  CHECK_FALSE(version_at_least("0.3.1", "0.4.0"));
  CHECK_FALSE(version_at_least("1.0.0", "1.1.0"));
}

TEST_CASE("is_supported_version: exactly 0.3.0, 0.3.1, 0.4.0, 1.0.0, 1.1.0") {
  for (auto v : {"0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0"}) CHECK(is_supported_version(v));
  for (auto v : {"0.1.0", "0.2.0", "0.3.2", "0.5.0", "1.0.1", "1.2.0", "2.0.0", "", "1.1", "01.1.0"}) {
    CAPTURE(v);
    CHECK_FALSE(is_supported_version(v));
  }
  CHECK(kLatestVersion == "1.1.0");
  CHECK(kSupportedVersions.size() == 5);
}

namespace {

std::string run_version(std::string stdin_data, int* rc = nullptr) {
  Plugin p;
  p.name = "test";
  auto env = test::env_for("VERSION");
  env.vars.erase("CNI_CONTAINERID");
  env.vars.erase("CNI_NETNS");
  env.vars.erase("CNI_IFNAME");
  env.vars.erase("CNI_PATH");
  std::string out;
  int code = dispatch(p, env.lookup(), std::move(stdin_data), out);
  if (rc) *rc = code;
  return out;
}

const std::string kAll = R"("supportedVersions":["0.3.0","0.3.1","0.4.0","1.0.0","1.1.0"])";

}  // namespace

TEST_CASE("VERSION answers in the requested version with the supported list") {
  for (auto v : kSupportedVersions) {
    CAPTURE(v);
    int rc = -1;
    std::string out = run_version(R"({"cniVersion":")" + std::string(v) + R"("})", &rc);
    CHECK(rc == 0);
    CHECK(out == R"({"cniVersion":")" + std::string(v) + R"(",)" + kAll + "}");
  }
}

TEST_CASE("VERSION with garbage or empty stdin answers in the latest version") {
  for (std::string in : {"", "not json", "[]", "{", R"({"cniVersion":5})", R"({"cniVersion":"x.y"})", "null"}) {
    CAPTURE(in);
    int rc = -1;
    CHECK(run_version(in, &rc) == R"({"cniVersion":"1.1.0",)" + kAll + "}");
    CHECK(rc == 0);
  }
}

TEST_CASE("VERSION needs no variable but CNI_COMMAND") {
  Plugin p;
  test::FakeEnv env;
  env.vars = {{"CNI_COMMAND", "VERSION"}};
  std::string out;
  CHECK(dispatch(p, env.lookup(), "", out) == 0);
  CHECK(test::contains(out, "supportedVersions"));
}
