// The CNI result model: parsing and writing every supported version, conversion between them.
#include <doctest/doctest.h>

#include "libcni/errors.h"
#include "libcni/skel.h"
#include "libcni/types.h"
#include "libcni/version.h"
#include "tests/unit/helpers.h"

using namespace zl;
using namespace zl::cni;
using test::cidr;
using test::ip;

namespace {

// A result using every field of the model.
CniResult full_result() {
  CniResult r;
  r.interfaces.push_back({"eth0", "aa:bb:cc:dd:ee:ff", "/var/run/netns/pod", 1420, "/run/vhost.sock", "0000:00:1f.6"});
  r.interfaces.push_back({"zlh1a2b3c", "02:00:00:00:00:01", "", 0, "", ""});
  r.ips.push_back({cidr("10.244.1.5/24"), ip("10.244.1.1"), 0});
  r.ips.push_back({cidr("fd00:244::5/64"), ip("fd00:244::1"), 0});
  r.ips.push_back({cidr("192.0.2.9/32"), std::nullopt, std::nullopt});
  Route def{cidr("0.0.0.0/0"), ip("10.244.1.1"), 1400, 1360, 100, 200, 0};
  Route six{cidr("::/0"), std::nullopt, 0, 0, 0, std::nullopt, std::nullopt};
  r.routes = {def, six};
  r.dns.nameservers = {"10.96.0.10", "fd00::10"};
  r.dns.domain = "cluster.local";
  r.dns.search = {"default.svc.cluster.local", "svc.cluster.local"};
  r.dns.options = {"ndots:5"};
  return r;
}

// What survives a version without the 1.1.0 fields.
CniResult without_v11(CniResult r) {
  for (auto& i : r.interfaces) {
    i.mtu = 0;
    i.socket_path.clear();
    i.pci_id.clear();
  }
  for (auto& rt : r.routes) {
    rt.mtu = rt.advmss = rt.priority = 0;
    rt.table.reset();
    rt.scope.reset();
  }
  return r;
}

const char* kIfaces11 =
    R"("interfaces":[{"name":"eth0","mac":"aa:bb:cc:dd:ee:ff","mtu":1420,"sandbox":"/var/run/netns/pod",)"
    R"("socketPath":"/run/vhost.sock","pciID":"0000:00:1f.6"},{"name":"zlh1a2b3c","mac":"02:00:00:00:00:01"}])";
const char* kIfacesOld =
    R"("interfaces":[{"name":"eth0","mac":"aa:bb:cc:dd:ee:ff","sandbox":"/var/run/netns/pod"},)"
    R"({"name":"zlh1a2b3c","mac":"02:00:00:00:00:01"}])";
const char* kIpsLegacy =
    R"("ips":[{"version":"4","interface":0,"address":"10.244.1.5/24","gateway":"10.244.1.1"},)"
    R"({"version":"6","interface":0,"address":"fd00:244::5/64","gateway":"fd00:244::1"},)"
    R"({"version":"4","address":"192.0.2.9/32"}])";
const char* kIps =
    R"("ips":[{"interface":0,"address":"10.244.1.5/24","gateway":"10.244.1.1"},)"
    R"({"interface":0,"address":"fd00:244::5/64","gateway":"fd00:244::1"},)"
    R"({"address":"192.0.2.9/32"}])";
const char* kRoutes11 =
    R"("routes":[{"dst":"0.0.0.0/0","gw":"10.244.1.1","mtu":1400,"advmss":1360,"priority":100,"table":200,"scope":0},)"
    R"({"dst":"::/0"}])";
const char* kRoutesOld = R"("routes":[{"dst":"0.0.0.0/0","gw":"10.244.1.1"},{"dst":"::/0"}])";
const char* kDns =
    R"("dns":{"nameservers":["10.96.0.10","fd00::10"],"domain":"cluster.local",)"
    R"("search":["default.svc.cluster.local","svc.cluster.local"],"options":["ndots:5"]})";

std::string expected_json(std::string_view v) {
  const bool v11 = v == "1.1.0", legacy = v == "0.3.0" || v == "0.3.1" || v == "0.4.0";
  return R"({"cniVersion":")" + std::string(v) + R"(",)" + (v11 ? kIfaces11 : kIfacesOld) + "," +
         (legacy ? kIpsLegacy : kIps) + "," + (v11 ? kRoutes11 : kRoutesOld) + "," + kDns + "}";
}

}  // namespace

TEST_CASE("write_result: exact JSON for every supported version") {
  const CniResult r = full_result();
  for (auto v : kSupportedVersions) {
    CAPTURE(v);
    CHECK(result_json(r, v) == expected_json(v));
  }
}

TEST_CASE("write_result: 0.3.x and 0.4.0 ips carry version 4/6, 1.0.0+ do not") {
  CniResult r;
  r.ips.push_back({cidr("10.0.0.2/24"), std::nullopt, std::nullopt});
  r.ips.push_back({cidr("2001:db8::2/64"), std::nullopt, std::nullopt});
  CHECK(result_json(r, "0.3.0") ==
        R"({"cniVersion":"0.3.0","ips":[{"version":"4","address":"10.0.0.2/24"},{"version":"6","address":"2001:db8::2/64"}]})");
  CHECK(result_json(r, "0.3.1") ==
        R"({"cniVersion":"0.3.1","ips":[{"version":"4","address":"10.0.0.2/24"},{"version":"6","address":"2001:db8::2/64"}]})");
  CHECK(result_json(r, "0.4.0") ==
        R"({"cniVersion":"0.4.0","ips":[{"version":"4","address":"10.0.0.2/24"},{"version":"6","address":"2001:db8::2/64"}]})");
  for (auto v : {"1.0.0", "1.1.0"}) {
    CAPTURE(v);
    CHECK(result_json(r, v) == R"({"cniVersion":")" + std::string(v) +
                                   R"(","ips":[{"address":"10.0.0.2/24"},{"address":"2001:db8::2/64"}]})");
  }
}

TEST_CASE("write_result: an empty result is just the version") {
  CHECK(result_json(CniResult{}, "1.0.0") == R"({"cniVersion":"1.0.0"})");
}

TEST_CASE("parse(write(r, v), v) round-trips for every supported version") {
  const CniResult r = full_result();
  for (auto v : kSupportedVersions) {
    CAPTURE(v);
    auto back = parse_result_text(result_json(r, v), v);
    REQUIRE_MESSAGE(back.ok(), back.error().msg);
    if (v == "1.1.0") {
      CHECK(*back == r);
    } else {
      CHECK(*back == without_v11(r));
      CHECK_FALSE(*back == r);
    }
    // Writing what was read gives the same bytes again.
    CHECK(result_json(*back, v) == expected_json(v));
  }
}

TEST_CASE("parse_result keeps 1.1.0 fields when reading 1.1.0") {
  auto r = parse_result_text(expected_json("1.1.0"), "1.1.0");
  REQUIRE(r.ok());
  CHECK(r->interfaces[0].mtu == 1420);
  CHECK(r->interfaces[0].socket_path == "/run/vhost.sock");
  CHECK(r->interfaces[0].pci_id == "0000:00:1f.6");
  CHECK(r->routes[0].mtu == 1400);
  CHECK(r->routes[0].advmss == 1360);
  CHECK(r->routes[0].priority == 100);
  CHECK(r->routes[0].table == 200);
  CHECK(r->routes[0].scope == 0);
  CHECK_FALSE(r->routes[1].table.has_value());
  CHECK_FALSE(r->routes[1].scope.has_value());
}

TEST_CASE("convert: a 0.3.1 document written as 1.0.0 and back") {
  const std::string v031 =
      R"({"cniVersion":"0.3.1","interfaces":[{"name":"eth0","sandbox":"/proc/1/ns/net"}],)"
      R"("ips":[{"version":"4","interface":0,"address":"10.1.0.7/16","gateway":"10.1.0.1"},)"
      R"({"version":"6","address":"fd01::7/64"}],"routes":[{"dst":"0.0.0.0/0"}],"dns":{"nameservers":["1.1.1.1"]}})";
  auto r = parse_result_text(v031, "0.3.1");
  REQUIRE_MESSAGE(r.ok(), r.error().msg);
  REQUIRE(r->ips.size() == 2);
  CHECK(r->ips[0].interface == 0);
  CHECK(r->ips[0].gateway == ip("10.1.0.1"));
  CHECK_FALSE(r->ips[1].interface.has_value());
  const std::string v100 =
      R"({"cniVersion":"1.0.0","interfaces":[{"name":"eth0","sandbox":"/proc/1/ns/net"}],)"
      R"("ips":[{"interface":0,"address":"10.1.0.7/16","gateway":"10.1.0.1"},)"
      R"({"address":"fd01::7/64"}],"routes":[{"dst":"0.0.0.0/0"}],"dns":{"nameservers":["1.1.1.1"]}})";
  CHECK(result_json(*r, "1.0.0") == v100);
  auto r2 = parse_result_text(v100, "1.0.0");
  REQUIRE(r2.ok());
  CHECK(*r2 == *r);
  CHECK(result_json(*r2, "0.3.1") == v031);
}

TEST_CASE("convert: a 1.1.0 document written as 1.0.0 loses only the 1.1.0 fields") {
  auto r = parse_result_text(expected_json("1.1.0"), "1.1.0");
  REQUIRE(r.ok());
  CHECK(result_json(*r, "1.0.0") == expected_json("1.0.0"));
  CHECK(result_json(*r, "0.3.0") == expected_json("0.3.0"));
}

TEST_CASE("parse_result: 0.3.x version field must match the address family") {
  auto ok = parse_result_text(R"({"ips":[{"version":"6","address":"fd00::1/64"}]})", "0.3.0");
  CHECK(ok.ok());
  CHECK_FAILS(parse_result_text(R"({"ips":[{"version":"6","address":"10.0.0.1/24"}]})", "0.3.1"), kErrInvalidConfig,
              "ips[0].version \"6\"");
  CHECK_FAILS(parse_result_text(R"({"ips":[{"version":"4","address":"fd00::1/64"}]})", "0.3.1"), kErrInvalidConfig,
              "fd00::1/64");
  // 0.4.0+ has no version field; one present is ignored.
  CHECK(parse_result_text(R"({"ips":[{"version":"6","address":"10.0.0.1/24"}]})", "1.0.0").ok());
}

TEST_CASE("parse_result: interface index must point into interfaces") {
  CHECK_FAILS(parse_result_text(R"({"interfaces":[{"name":"eth0"}],"ips":[{"address":"10.0.0.1/24","interface":1}]})",
                                "1.0.0"),
              kErrInvalidConfig, "interface index 1 is out of range");
  CHECK_FAILS(parse_result_text(R"({"ips":[{"address":"10.0.0.1/24","interface":0}]})", "0.4.0"), kErrInvalidConfig,
              "interface index 0");
  CHECK_FAILS(parse_result_text(R"({"ips":[{"address":"10.0.0.1/24","interface":-1}]})", "1.1.0"), kErrInvalidConfig,
              "ips[0].interface -1");
  CHECK_FAILS(parse_result_text(R"({"ips":[{"address":"10.0.0.1/24","interface":"0"}]})", "1.1.0"), kErrInvalidConfig,
              "ips[0].interface: expected an integer");
  CHECK(parse_result_text(R"({"interfaces":[{"name":"a"},{"name":"b"}],"ips":[{"address":"10.0.0.1/24","interface":1}]})",
                          "1.0.0")
            .ok());
}

TEST_CASE("parse_result: bad addresses are code 7 naming the value") {
  CHECK_FAILS(parse_result_text(R"({"ips":[{"address":"10.0.0.5"}]})", "1.0.0"), kErrInvalidConfig,
              "ips[0].address \"10.0.0.5\": not a CIDR");
  CHECK_FAILS(parse_result_text(R"({"ips":[{"address":"10.0.0.5/33"}]})", "1.0.0"), kErrInvalidConfig, "10.0.0.5/33");
  CHECK_FAILS(parse_result_text(R"({"ips":[{"address":"10.0.0.5/24"},{"address":"nope/8"}]})", "1.0.0"),
              kErrInvalidConfig, "ips[1].address \"nope/8\"");
  CHECK_FAILS(parse_result_text(R"({"ips":[{"gateway":"10.0.0.1"}]})", "1.0.0"), kErrInvalidConfig,
              "ips[0].address: missing");
  CHECK_FAILS(parse_result_text(R"({"ips":[{"address":"10.0.0.5/24","gateway":"10.0.0.300"}]})", "1.0.0"),
              kErrInvalidConfig, "ips[0].gateway \"10.0.0.300\": not an IP address");
  CHECK_FAILS(parse_result_text(R"({"ips":[{"address":"10.0.0.5/24","gateway":"10.0.0.1/24"}]})", "0.4.0"),
              kErrInvalidConfig, "\"10.0.0.1/24\"");
  CHECK_FAILS(parse_result_text(R"({"routes":[{"dst":"0.0.0.0"}]})", "1.0.0"), kErrInvalidConfig,
              "routes[0].dst \"0.0.0.0\": not a CIDR");
  CHECK_FAILS(parse_result_text(R"({"routes":[{"dst":"0.0.0.0/0","gw":"x"}]})", "1.0.0"), kErrInvalidConfig,
              "routes[0].gw \"x\"");
  CHECK_FAILS(parse_result_text(R"({"routes":[{"gw":"10.0.0.1"}]})", "1.0.0"), kErrInvalidConfig, "routes[0].dst: missing");
}

TEST_CASE("parse_result: wrong shapes are rejected") {
  CHECK_FAILS(parse_result_text(R"([])", "1.0.0"), kErrInvalidConfig, "result: expected an object");
  CHECK_FAILS(parse_result_text(R"({"ips":{}})", "1.0.0"), kErrInvalidConfig, "ips: expected a list");
  CHECK_FAILS(parse_result_text(R"({"ips":["10.0.0.1/24"]})", "1.0.0"), kErrInvalidConfig, "ips[0]: expected an object");
  CHECK_FAILS(parse_result_text(R"({"interfaces":[5]})", "1.0.0"), kErrInvalidConfig, "interfaces[0]: expected an object");
  CHECK_FAILS(parse_result_text(R"({"interfaces":[{"name":5}]})", "1.0.0"), kErrInvalidConfig,
              "interfaces[0].name: expected a string");
  CHECK_FAILS(parse_result_text(R"({"interfaces":[{"name":"e","mtu":70000}]})", "1.1.0"), kErrInvalidConfig,
              "interfaces[0].mtu 70000");
  CHECK_FAILS(parse_result_text(R"({"routes":[{"dst":"::/0","table":-1}]})", "1.1.0"), kErrInvalidConfig,
              "routes[0].table -1");
  CHECK_FAILS(parse_result_text(R"({"routes":[{"dst":"::/0","scope":256}]})", "1.1.0"), kErrInvalidConfig,
              "routes[0].scope 256");
  CHECK_FAILS(parse_result_text(R"({"routes":"x"})", "1.1.0"), kErrInvalidConfig, "routes: expected a list");
  CHECK_FAILS(parse_result_text(R"({"dns":{"nameservers":"1.1.1.1"}})", "1.1.0"), kErrInvalidConfig,
              "dns.nameservers: expected a list");
  CHECK_FAILS(parse_result_text(R"({"dns":{"search":[1]}})", "1.1.0"), kErrInvalidConfig, "dns.search: expected strings");
  CHECK_FAILS(parse_result_text(R"({"dns":"1.1.1.1"})", "1.1.0"), kErrInvalidConfig, "dns");
  CHECK_FAILS(parse_result_text(R"({"dns":["1.1.1.1"]})", "1.1.0"), kErrInvalidConfig, "dns");
  CHECK_FAILS(parse_result_text(R"({"ips":[)", "1.1.0"), kErrDecode, "invalid JSON");
}

TEST_CASE("parse_result: unsupported versions are code 1") {
  for (std::string_view v : {"0.2.0", "0.1.0", "2.0.0", "", "1.1", "garbage"}) {
    CAPTURE(v);
    CHECK_FAILS(parse_result_text(R"({"ips":[]})", v), kErrIncompatibleVersion, "is not supported");
  }
}

TEST_CASE("parse_result: null and absent members are the same") {
  auto r = parse_result_text(R"({"interfaces":null,"ips":null,"routes":null,"dns":null})", "1.0.0");
  REQUIRE(r.ok());
  CHECK(*r == CniResult{});
  auto r2 = parse_result_text(R"({"ips":[{"address":"10.0.0.1/8","gateway":null,"interface":null}]})", "1.0.0");
  REQUIRE(r2.ok());
  CHECK_FALSE(r2->ips[0].gateway.has_value());
  CHECK_FALSE(r2->ips[0].interface.has_value());
}

TEST_CASE("error_json: {cniVersion, code, msg[, details]}") {
  CHECK(error_json("1.0.0", 7, "bad thing") == R"({"cniVersion":"1.0.0","code":7,"msg":"bad thing"})");
  CHECK(error_json("0.3.1", 100, "full", "range 10.0.0.0/24") ==
        R"({"cniVersion":"0.3.1","code":100,"msg":"full","details":"range 10.0.0.0/24"})");
  // Quotes are escaped so the answer stays valid JSON; control characters other than newline
  // and tab become '?'.
  std::string j = error_json("1.1.0", 4, std::string("a \"q\"\n\0b\x1b[2J", 12));
  auto doc = test::json(j);
  CHECK(std::string((*doc)["msg"].GetString(), (*doc)["msg"].GetStringLength()) == "a \"q\"\n?b?[2J");
  CHECK((*doc)["code"].GetInt() == 4);
  CHECK_FALSE(doc->HasMember("details"));
}

TEST_CASE("error_json: valid UTF-8 and bounded, whatever the message held") {
  // Invalid sequences: a lone continuation byte, a truncated sequence, an overlong encoding,
  // a UTF-16 surrogate, a code point beyond U+10FFFF.
  std::string bad = "id \x80 \xe2\x82 \xc0\xaf \xed\xa0\x80 \xf4\x90\x80\x80 ok \xc3\xa9";
  std::string j = error_json("1.1.0", 4, bad);
  auto doc = test::json(j);
  REQUIRE(doc->HasMember("msg"));
  rapidjson::Document strict;
  strict.Parse<rapidjson::kParseValidateEncodingFlag>(j.c_str());
  CHECK_FALSE(strict.HasParseError());
  std::string msg((*doc)["msg"].GetString(), (*doc)["msg"].GetStringLength());
  CHECK(test::contains(msg, "ok \xc3\xa9"));  // valid text kept as is
  CHECK(test::contains(msg, "\xef\xbf\xbd"));  // invalid bytes replaced by U+FFFD
  std::string huge = error_json("1.1.0", 7, "value \"" + std::string(1 << 20, 'x') + "\"");
  CHECK(huge.size() < 5000);
  CHECK(test::contains(huge, "\xe2\x80\xa6"));
}

TEST_CASE("error_code maps errno when no CNI code is set") {
  CHECK(error_code(Error::from_errno(EACCES, "x")) == kErrIo);
  CHECK(error_code(Error::make(7, "x")) == 7);
  CHECK(error_code(Error::from_errno(EAGAIN, "x")) == kErrTryAgainLater);
  CHECK(error_code(Error::from_errno(EINTR, "x")) == kErrTryAgainLater);
  CHECK(error_code(Error::from_errno(ENOSPC, "x")) == kErrIo);
  CHECK(error_code(Error::from_errno(EIO, "x")) == kErrIo);
  CHECK(error_code(Error::from_errno(EPERM, "x")) == kErrInternal);
  CHECK(error_code(Error{}) == kErrInternal);
}
