// The network configuration: decode errors, versions, names, field types, prevResult, GC lists, helpers.
#include <doctest/doctest.h>

#include "libcni/conf.h"
#include "libcni/errors.h"
#include "libcni/version.h"
#include "tests/unit/helpers.h"

using namespace zl;
using namespace zl::cni;

namespace {
std::string conf(std::string_view version, std::string_view extra = "") {
  return R"({"cniVersion":")" + std::string(version) + R"(","name":"zl-mesh","type":"zl-bridge")" +
         (extra.empty() ? "" : ",") + std::string(extra) + "}";
}
}  // namespace

TEST_CASE("parse_netconf: the common keys") {
  const std::string raw = conf("1.0.0", R"("ipam":{"type":"zl-ipam","subnet":"10.0.0.0/24"},"dns":{"nameservers":["10.0.0.53"]})");
  auto c = parse_netconf(raw);
  REQUIRE_MESSAGE(c.ok(), c.error().msg);
  CHECK(c->raw == raw);
  CHECK(c->cni_version == "1.0.0");
  CHECK(c->name == "zl-mesh");
  CHECK(c->type == "zl-bridge");
  REQUIRE(c->ipam != nullptr);
  CHECK(c->ipam_type == "zl-ipam");
  CHECK(std::string((*c->ipam)["subnet"].GetString()) == "10.0.0.0/24");
  CHECK(c->runtime_config == nullptr);
  CHECK(c->args == nullptr);
  CHECK_FALSE(c->prev_result.has_value());
  CHECK(c->dns.nameservers == std::vector<std::string>{"10.0.0.53"});
  CHECK(c->valid_attachments.empty());
  CHECK_FALSE(c->has_valid_attachments);
  CHECK(c->root().IsObject());
}

TEST_CASE("parse_netconf: each supported version is accepted") {
  for (auto v : kSupportedVersions) {
    CAPTURE(v);
    auto c = parse_netconf(conf(v));
    REQUIRE(c.ok());
    CHECK(c->cni_version == v);
  }
}

TEST_CASE("parse_netconf: malformed JSON and non-objects are code 6") {
  for (std::string bad : {"", "{", "{\"cniVersion\":", "not json", "{\"a\":1,}", "{} x"}) {
    CAPTURE(bad);
    CHECK_FAILS(parse_netconf(bad), kErrDecode, "network configuration: invalid JSON at offset");
  }
  for (std::string bad : {"[]", "\"1.0.0\"", "42", "null", "true"}) {
    CAPTURE(bad);
    CHECK_FAILS(parse_netconf(bad), kErrDecode, "expected a JSON object");
  }
}

TEST_CASE("parse_netconf: missing or unsupported cniVersion is code 1") {
  CHECK_FAILS(parse_netconf(R"({"name":"n","type":"t"})"), kErrIncompatibleVersion, "cniVersion is missing");
  CHECK_FAILS(parse_netconf(R"({"cniVersion":"","name":"n"})"), kErrIncompatibleVersion, "cniVersion is missing");
  CHECK_FAILS(parse_netconf(R"({"cniVersion":null,"name":"n"})"), kErrIncompatibleVersion, "cniVersion is missing");
  for (auto v : {"0.2.0", "0.1.0", "2.0.0", "1.2.0", "1.0", "latest"}) {
    CAPTURE(v);
    CHECK_FAILS(parse_netconf(conf(v)), kErrIncompatibleVersion,
                "cniVersion \"" + std::string(v) + "\" is not supported (supported: 0.3.0, 0.3.1, 0.4.0, 1.0.0, 1.1.0)");
  }
  // A non-string version is a type error.
  CHECK_FAILS(parse_netconf(R"({"cniVersion":1,"name":"n"})"), kErrInvalidConfig, "cniVersion: expected a string, got 1");
}

TEST_CASE("parse_netconf: network names are safe path components") {
  auto named = [](std::string_view name_json) {
    return parse_netconf(R"({"cniVersion":"1.0.0","name":)" + std::string(name_json) + "}");
  };
  CHECK_FAILS(named(R"("")"), kErrInvalidConfig, "name is missing");
  CHECK_FAILS(parse_netconf(R"({"cniVersion":"1.0.0"})"), kErrInvalidConfig, "name is missing");
  CHECK_FAILS(named(R"("a/b")"), kErrInvalidConfig, "network name \"a/b\"");
  CHECK_FAILS(named(R"("..")"), kErrInvalidConfig, "network name \"..\"");
  CHECK_FAILS(named(R"("../etc")"), kErrInvalidConfig, "network name \"../etc\"");
  CHECK_FAILS(named(R"(".hidden")"), kErrInvalidConfig, "network name");
  CHECK_FAILS(named(R"("a b")"), kErrInvalidConfig, "network name");
  CHECK_FAILS(named(R"("a\u0000b")"), kErrInvalidConfig, "name \"a?b\": contains a NUL byte");
  CHECK_FAILS(named(R"("net\u0000")"), kErrInvalidConfig, "contains a NUL byte");
  CHECK_FAILS(named("\"" + std::string(129, 'n') + "\""), kErrInvalidConfig, "must be 1-128");
  auto ok = named("\"" + std::string(128, 'n') + "\"");
  REQUIRE(ok.ok());
  CHECK(ok->name.size() == 128);
  CHECK(named(R"("a.b_c-1")").ok());
}

TEST_CASE("parse_netconf: wrong types are code 7 naming the field") {
  CHECK_FAILS(parse_netconf(R"({"cniVersion":"1.0.0","name":5})"), kErrInvalidConfig, "name: expected a string, got 5");
  CHECK_FAILS(parse_netconf(conf("1.0.0", R"("ipam":[])")), kErrInvalidConfig, "ipam: expected an object, got []");
  CHECK_FAILS(parse_netconf(conf("1.0.0", R"("runtimeConfig":"x")")), kErrInvalidConfig,
              "runtimeConfig: expected an object, got \"x\"");
  CHECK_FAILS(parse_netconf(conf("1.0.0", R"("args":[1])")), kErrInvalidConfig, "args: expected an object");
  CHECK_FAILS(parse_netconf(R"({"cniVersion":"1.0.0","name":"n","type":{}})"), kErrInvalidConfig,
              "type: expected a string");
  CHECK_FAILS(parse_netconf(conf("1.0.0", R"("ipam":{"type":7})")), kErrInvalidConfig, "ipam.type: expected a string");
  CHECK_FAILS(parse_netconf(conf("1.0.0", R"("dns":{"nameservers":"x"})")), kErrInvalidConfig, "dns.nameservers");
  CHECK_FAILS(parse_netconf(conf("1.0.0", R"("prevResult":[])")), kErrInvalidConfig, "prevResult: result: expected an object");
}

TEST_CASE("parse_netconf: null members count as absent") {
  auto c = parse_netconf(conf("1.0.0", R"("ipam":null,"runtimeConfig":null,"args":null,"prevResult":null)"));
  REQUIRE(c.ok());
  CHECK(c->ipam == nullptr);
  CHECK(c->ipam_type.empty());
  CHECK(c->runtime_config == nullptr);
  CHECK_FALSE(c->prev_result.has_value());
}

TEST_CASE("parse_netconf: prevResult is parsed in the config's version") {
  const std::string legacy_prev =
      R"("prevResult":{"cniVersion":"0.3.1","ips":[{"version":"4","address":"10.0.0.5/24","gateway":"10.0.0.1"}]})";
  auto c = parse_netconf(conf("0.3.1", legacy_prev));
  REQUIRE_MESSAGE(c.ok(), c.error().msg);
  REQUIRE(c->prev_result.has_value());
  REQUIRE(c->prev_result->ips.size() == 1);
  CHECK(c->prev_result->ips[0].address == test::cidr("10.0.0.5/24"));
  CHECK(c->prev_result->ips[0].gateway == test::ip("10.0.0.1"));
  // The 0.3.x family check applies to a 0.3.x config…
  const std::string wrong_family = R"("prevResult":{"ips":[{"version":"6","address":"10.0.0.5/24"}]})";
  CHECK_FAILS(parse_netconf(conf("0.3.1", wrong_family)), kErrInvalidConfig, "prevResult: ips[0].version \"6\"");
  // …and not to a 1.0.0 one, where "version" does not exist.
  CHECK(parse_netconf(conf("1.0.0", wrong_family)).ok());
  // Errors inside prevResult are prefixed.
  CHECK_FAILS(parse_netconf(conf("1.1.0", R"("prevResult":{"ips":[{"address":"bad"}]})")), kErrInvalidConfig,
              "prevResult: ips[0].address \"bad\"");
  // 1.1.0 fields are kept in a 1.1.0 prevResult.
  auto c11 = parse_netconf(conf("1.1.0", R"("prevResult":{"interfaces":[{"name":"eth0","mtu":1300}],"routes":[{"dst":"::/0","table":7}]})"));
  REQUIRE(c11.ok());
  CHECK(c11->prev_result->interfaces[0].mtu == 1300);
  CHECK(c11->prev_result->routes[0].table == 7);
}

TEST_CASE("parse_netconf: GC valid attachments") {
  const std::string both =
      R"("cni.dev/valid-attachments":[{"containerID":"a1","ifname":"eth0"},{"containerID":"b2"}],)"
      R"("cni.dev/attachments":[{"containerID":"c3","ifname":"net1"}])";
  auto c = parse_netconf(conf("1.1.0", both), /*for_gc=*/true);
  REQUIRE_MESSAGE(c.ok(), c.error().msg);
  CHECK(c->has_valid_attachments);
  CHECK(c->valid_attachments == std::vector<Attachment>{{"a1", "eth0"}, {"b2", ""}, {"c3", "net1"}});

  auto only_old = parse_netconf(conf("1.1.0", R"("cni.dev/attachments":[{"containerID":"c3","ifname":"net1"}])"), true);
  REQUIRE(only_old.ok());
  CHECK(only_old->has_valid_attachments);
  CHECK(only_old->valid_attachments == std::vector<Attachment>{{"c3", "net1"}});

  auto empty = parse_netconf(conf("1.1.0", R"("cni.dev/valid-attachments":[])"), true);
  REQUIRE(empty.ok());
  CHECK(empty->has_valid_attachments);
  CHECK(empty->valid_attachments.empty());

  auto none = parse_netconf(conf("1.1.0"), true);
  REQUIRE(none.ok());
  CHECK_FALSE(none->has_valid_attachments);

  // Outside GC the lists are not read at all.
  auto not_gc = parse_netconf(conf("1.1.0", both), false);
  REQUIRE(not_gc.ok());
  CHECK_FALSE(not_gc->has_valid_attachments);
  CHECK(not_gc->valid_attachments.empty());
}

TEST_CASE("parse_netconf: malformed GC lists are code 7") {
  CHECK_FAILS(parse_netconf(conf("1.1.0", R"("cni.dev/valid-attachments":{})"), true), kErrInvalidConfig,
              "cni.dev/valid-attachments: expected a list");
  CHECK_FAILS(parse_netconf(conf("1.1.0", R"("cni.dev/valid-attachments":["a1"])"), true), kErrInvalidConfig,
              "cni.dev/valid-attachments[0]: expected an object");
  CHECK_FAILS(parse_netconf(conf("1.1.0", R"("cni.dev/valid-attachments":[{"containerID":"a"},{"ifname":"eth0"}])"), true),
              kErrInvalidConfig, "cni.dev/valid-attachments[1].containerID: missing");
  CHECK_FAILS(parse_netconf(conf("1.1.0", R"("cni.dev/valid-attachments":[{"containerID":""}])"), true), kErrInvalidConfig,
              "containerID: missing");
  CHECK_FAILS(parse_netconf(conf("1.1.0", R"("cni.dev/valid-attachments":[{"containerID":1}])"), true), kErrInvalidConfig,
              "cni.dev/valid-attachments[0].containerID: expected a string");
  CHECK_FAILS(parse_netconf(conf("1.1.0", R"("cni.dev/attachments":[{"containerID":"a","ifname":[]}])"), true),
              kErrInvalidConfig, "cni.dev/attachments[0].ifname: expected a string");
}

namespace {
std::vector<std::string> rendered(const std::vector<AttachmentArg>& v) {
  std::vector<std::string> out;
  for (const auto& a : v) out.push_back(a.source + "=" + a.value);
  return out;
}
}  // namespace

TEST_CASE("attachment_args: runtimeConfig, then args.cni, then CNI_ARGS (comma separated), all kept") {
  auto c = parse_netconf(conf("1.0.0", R"("args":{"cni":{"ips":["10.0.0.5","fd00::5/64"]}},"runtimeConfig":{"ips":["10.0.0.6"],"other":1})"));
  REQUIRE(c.ok());
  auto a = attachment_args(*c, "ips", "IP", "10.0.0.7,10.0.0.8");
  REQUIRE(a.ok());
  CHECK(rendered(*a) == std::vector<std::string>{"runtimeConfig.ips=10.0.0.6", "args.cni.ips=10.0.0.5",
                                                 "args.cni.ips=fd00::5/64", "CNI_ARGS IP=10.0.0.7",
                                                 "CNI_ARGS IP=10.0.0.8"});
  // Absent keys give empty lists.
  CHECK(attachment_args(*c, "macs", "MACS", "")->empty());
  auto plain = parse_netconf(conf("1.0.0"));
  REQUIRE(plain.ok());
  CHECK(attachment_args(*plain, "ips", "IP", "")->empty());
  auto no_cni = parse_netconf(conf("1.0.0", R"("args":{"k8s":{}})"));
  REQUIRE(no_cni.ok());
  CHECK(attachment_args(*no_cni, "ips", "IP", "")->empty());
}

TEST_CASE("attachment_arg: the first source that has it wins") {
  auto all = parse_netconf(conf("1.0.0", R"("args":{"cni":{"mac":"02:00:00:00:00:02"}},"runtimeConfig":{"mac":"02:00:00:00:00:01"})"));
  REQUIRE(all.ok());
  auto m = attachment_arg(*all, "mac", "MAC", "02:00:00:00:00:03");
  REQUIRE(m.ok());
  REQUIRE(m->has_value());
  CHECK((*m)->source == "runtimeConfig.mac");
  CHECK((*m)->value == "02:00:00:00:00:01");
  auto args = parse_netconf(conf("1.0.0", R"("args":{"cni":{"mac":"02:00:00:00:00:02"}},"runtimeConfig":{"ips":[]})"));
  REQUIRE(args.ok());
  CHECK((*attachment_arg(*args, "mac", "MAC", "02:00:00:00:00:03"))->source == "args.cni.mac");
  auto plain = parse_netconf(conf("1.0.0"));
  REQUIRE(plain.ok());
  auto env = attachment_arg(*plain, "mac", "MAC", "02:00:00:00:00:03");
  REQUIRE(env.ok());
  CHECK((*env)->source == "CNI_ARGS MAC");
  CHECK_FALSE(attachment_arg(*plain, "mac", "MAC", "")->has_value());
}

TEST_CASE("attachment args: wrong shapes are code 7, bad values 4 from CNI_ARGS and 7 from the config") {
  auto bad_list = parse_netconf(conf("1.0.0", R"("args":{"cni":{"ips":"10.0.0.5"}},"runtimeConfig":{"ips":[1]})"));
  REQUIRE(bad_list.ok());
  CHECK_FAILS(attachment_args(*bad_list, "ips", "IP", ""), kErrInvalidConfig, "runtimeConfig.ips: expected strings, got 1");
  auto bad_args = parse_netconf(conf("1.0.0", R"("args":{"cni":{"ips":"10.0.0.5"}})"));
  REQUIRE(bad_args.ok());
  CHECK_FAILS(attachment_args(*bad_args, "ips", "IP", ""), kErrInvalidConfig, "args.cni.ips: expected a list");
  auto bad_cni = parse_netconf(conf("1.0.0", R"("args":{"cni":["ips"]})"));
  REQUIRE(bad_cni.ok());
  CHECK_FAILS(attachment_args(*bad_cni, "ips", "IP", ""), kErrInvalidConfig, "args.cni: expected an object");
  CHECK_FAILS(attachment_arg(*bad_cni, "mac", "MAC", ""), kErrInvalidConfig, "args.cni: expected an object");
  auto bad_mac = parse_netconf(conf("1.0.0", R"("runtimeConfig":{"mac":5})"));
  REQUIRE(bad_mac.ok());
  CHECK_FAILS(attachment_arg(*bad_mac, "mac", "MAC", ""), kErrInvalidConfig, "runtimeConfig.mac: expected a string");
  Error env = AttachmentArg{"CNI_ARGS MAC", "zz"}.invalid("not a MAC");
  CHECK(env.code == kErrInvalidEnv);
  CHECK(env.msg == "CNI_ARGS MAC \"zz\": not a MAC");
  CHECK(AttachmentArg{"args.cni.mac", "zz"}.invalid("not a MAC").code == kErrInvalidConfig);
}
