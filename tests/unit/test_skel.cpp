// The dispatcher: env + stdin → handler → the JSON answer, with version gates and error reporting.
#include <doctest/doctest.h>

#include "libcni/errors.h"
#include "libcni/skel.h"
#include "libcni/version.h"
#include "tests/unit/helpers.h"

using namespace zl;
using namespace zl::cni;
using test::env_for;

namespace {

constexpr std::string_view kArgs[] = {"IP"};

struct Recorder {
  std::vector<std::string> calls;
  std::string last_version, last_container, last_ip_arg;
  std::vector<Attachment> last_attachments;
  Status status_answer;
  Result<CniResult> add_answer = CniResult{};

  Plugin plugin() {
    Plugin p;
    p.name = "test";
    p.cni_args = kArgs;
    auto note = [this](const char* what, const Context& ctx) {
      calls.emplace_back(what);
      last_version = ctx.conf.cni_version;
      last_container = ctx.env.container_id;
      last_ip_arg = std::string(ctx.cni_arg("IP"));
      last_attachments = ctx.conf.valid_attachments;
    };
    p.add = [this, note](const Context& ctx) -> Result<CniResult> {
      note("ADD", ctx);
      return add_answer;
    };
    p.del = [this, note](const Context& ctx) -> Status {
      note("DEL", ctx);
      return status_answer;
    };
    p.check = [this, note](const Context& ctx) -> Status {
      note("CHECK", ctx);
      return status_answer;
    };
    p.gc = [this, note](const Context& ctx) -> Status {
      note("GC", ctx);
      return status_answer;
    };
    p.status = [this, note](const Context& ctx) -> Status {
      note("STATUS", ctx);
      return status_answer;
    };
    return p;
  }
};

std::string conf(std::string_view version, std::string_view extra = "") {
  return R"({"cniVersion":")" + std::string(version) + R"(","name":"net","type":"test")" + (extra.empty() ? "" : ",") +
         std::string(extra) + "}";
}

struct Answer {
  int rc;
  std::string out;
};

Answer run(Recorder& rec, const test::FakeEnv& env, std::string stdin_data) {
  Answer a;
  a.rc = dispatch(rec.plugin(), env.lookup(), std::move(stdin_data), a.out);
  return a;
}

// The parsed error answer: (cniVersion, code, msg).
struct ErrAnswer {
  std::string version;
  int code = 0;
  std::string msg;
};

ErrAnswer parse_error(const std::string& out) {
  auto doc = test::json(out);
  REQUIRE(doc->IsObject());
  REQUIRE(doc->HasMember("code"));
  ErrAnswer e{(*doc)["cniVersion"].GetString(), (*doc)["code"].GetInt(), (*doc)["msg"].GetString()};
  // Only the spec's keys.
  for (auto it = doc->MemberBegin(); it != doc->MemberEnd(); ++it) {
    std::string k = it->name.GetString();
    CHECK_MESSAGE((k == "cniVersion" || k == "code" || k == "msg" || k == "details"), k);
  }
  return e;
}

}  // namespace

TEST_CASE("dispatch: ADD prints the result in the config's version") {
  for (auto v : kSupportedVersions) {
    CAPTURE(v);
    Recorder rec;
    CniResult r;
    r.ips.push_back({test::cidr("10.0.0.5/24"), test::ip("10.0.0.1"), std::nullopt});
    rec.add_answer = r;
    auto a = run(rec, env_for("ADD"), conf(v));
    CHECK(a.rc == 0);
    CHECK(rec.calls == std::vector<std::string>{"ADD"});
    CHECK(rec.last_version == v);
    CHECK(rec.last_container == "c0ffee");
    CHECK(a.out == result_json(r, v));
    const bool legacy = v == "0.3.0" || v == "0.3.1" || v == "0.4.0";
    CHECK(a.out == R"({"cniVersion":")" + std::string(v) + R"(","ips":[{)" + (legacy ? R"("version":"4",)" : "") +
                       R"("address":"10.0.0.5/24","gateway":"10.0.0.1"}]})");
  }
}

TEST_CASE("dispatch: handler errors propagate code and message in the config's version") {
  for (const char* cmd : {"ADD", "DEL", "CHECK", "GC", "STATUS"}) {
    CAPTURE(cmd);
    Recorder rec;
    rec.add_answer = fail(kErrAddressUnavailable, "no free address in range set 0");
    rec.status_answer = fail(kErrAddressUnavailable, "no free address in range set 0");
    auto a = run(rec, env_for(cmd), conf("1.1.0", R"("cni.dev/valid-attachments":[])"));
    CHECK(a.rc == 1);
    CHECK(rec.calls == std::vector<std::string>{cmd});
    CHECK(a.out == R"({"cniVersion":"1.1.0","code":100,"msg":"no free address in range set 0"})");
  }
  Recorder rec;
  rec.add_answer = fail(kErrTryAgainLater, "busy");
  auto a = run(rec, env_for("ADD"), conf("0.3.1"));
  CHECK(a.rc == 1);
  CHECK(a.out == R"({"cniVersion":"0.3.1","code":11,"msg":"busy"})");
  // An errno failure without a CNI code maps through error_code.
  rec.add_answer = Error::from_errno(EAGAIN, "lock state");
  a = run(rec, env_for("ADD"), conf("1.0.0"));
  auto e = parse_error(a.out);
  CHECK(e.code == kErrTryAgainLater);
  CHECK(e.version == "1.0.0");
  CHECK(test::contains(e.msg, "lock state: "));
}

TEST_CASE("dispatch: DEL, CHECK, GC, STATUS print nothing on success") {
  for (const char* cmd : {"DEL", "CHECK", "GC", "STATUS"}) {
    CAPTURE(cmd);
    Recorder rec;
    auto a = run(rec, env_for(cmd), conf("1.1.0", R"("cni.dev/valid-attachments":[{"containerID":"x"}])"));
    CHECK(a.rc == 0);
    CHECK(a.out.empty());
    CHECK(rec.calls == std::vector<std::string>{cmd});
  }
}

TEST_CASE("dispatch: a plugin without a handler succeeds silently") {
  Plugin p;
  p.cni_args = kArgs;
  std::string out;
  CHECK(dispatch(p, env_for("STATUS").lookup(), conf("1.1.0"), out) == 0);
  CHECK(out.empty());
  CHECK(dispatch(p, env_for("DEL").lookup(), conf("1.1.0"), out) == 0);
  CHECK(out.empty());
}

TEST_CASE("dispatch: CHECK needs 0.4.0+") {
  for (auto v : {"0.3.0", "0.3.1"}) {
    CAPTURE(v);
    Recorder rec;
    auto a = run(rec, env_for("CHECK"), conf(v));
    CHECK(a.rc == 1);
    CHECK(rec.calls.empty());
    CHECK(a.out == R"({"cniVersion":")" + std::string(v) + R"(","code":1,"msg":"cniVersion )" + v +
                       R"x( does not support CHECK (needs 0.4.0+)"})x");
  }
  for (auto v : {"0.4.0", "1.0.0", "1.1.0"}) {
    CAPTURE(v);
    Recorder rec;
    auto a = run(rec, env_for("CHECK"), conf(v));
    CHECK(a.rc == 0);
    CHECK(rec.calls == std::vector<std::string>{"CHECK"});
  }
}

TEST_CASE("dispatch: GC and STATUS need 1.1.0") {
  for (const char* cmd : {"GC", "STATUS"}) {
    for (auto v : {"0.3.0", "0.3.1", "0.4.0", "1.0.0"}) {
      CAPTURE(cmd);
      CAPTURE(v);
      Recorder rec;
      auto a = run(rec, env_for(cmd), conf(v, R"("cni.dev/valid-attachments":[])"));
      CHECK(a.rc == 1);
      CHECK(rec.calls.empty());
      auto e = parse_error(a.out);
      CHECK(e.code == kErrIncompatibleVersion);
      CHECK(e.version == v);
      CHECK(e.msg == "cniVersion " + std::string(v) + " does not support " + cmd + " (needs 1.1.0+)");
    }
  }
}

TEST_CASE("dispatch: GC without valid-attachments is code 7; with them the handler sees them") {
  Recorder rec;
  auto a = run(rec, env_for("GC"), conf("1.1.0"));
  CHECK(a.rc == 1);
  CHECK(rec.calls.empty());
  CHECK(a.out == R"({"cniVersion":"1.1.0","code":7,"msg":"GC: cni.dev/valid-attachments is missing"})");

  auto env = env_for("GC");
  env.vars.erase("CNI_CONTAINERID");
  env.vars.erase("CNI_IFNAME");
  env.vars.erase("CNI_NETNS");
  a = run(rec, env, conf("1.1.0", R"("cni.dev/valid-attachments":[{"containerID":"a","ifname":"eth0"}])"));
  CHECK(a.rc == 0);
  CHECK(rec.calls == std::vector<std::string>{"GC"});
  CHECK(rec.last_attachments == std::vector<Attachment>{{"a", "eth0"}});
}

TEST_CASE("dispatch: config errors are reported in the config's version when it has a usable one") {
  Recorder rec;
  // A valid version but an invalid name: answer in 0.3.1.
  auto a = run(rec, env_for("ADD"), R"({"cniVersion":"0.3.1","name":"a/b"})");
  CHECK(a.rc == 1);
  auto e = parse_error(a.out);
  CHECK(e.version == "0.3.1");
  CHECK(e.code == kErrInvalidConfig);
  CHECK(test::contains(e.msg, "network name \"a/b\""));
  // An unsupported version: answer in the latest one.
  a = run(rec, env_for("ADD"), R"({"cniVersion":"0.2.0","name":"n"})");
  e = parse_error(a.out);
  CHECK(e.version == "1.1.0");
  CHECK(e.code == kErrIncompatibleVersion);
  CHECK(test::contains(e.msg, "\"0.2.0\""));
  a = run(rec, env_for("ADD"), R"({"cniVersion":"2.0.0","name":"n"})");
  e = parse_error(a.out);
  CHECK(e.code == kErrIncompatibleVersion);
  CHECK(e.version == "1.1.0");
  // Missing version.
  a = run(rec, env_for("ADD"), R"({"name":"n"})");
  e = parse_error(a.out);
  CHECK(e.code == kErrIncompatibleVersion);
  CHECK(e.version == "1.1.0");
  // Garbage stdin: decode error, latest version.
  a = run(rec, env_for("ADD"), "garbage");
  e = parse_error(a.out);
  CHECK(e.code == kErrDecode);
  CHECK(e.version == "1.1.0");
  // A wrong type with a good version: that version.
  a = run(rec, env_for("DEL"), R"({"cniVersion":"1.0.0","name":"n","ipam":[]})");
  e = parse_error(a.out);
  CHECK(e.code == kErrInvalidConfig);
  CHECK(e.version == "1.0.0");
  CHECK(e.msg == "ipam: expected an object, got []");
  CHECK(rec.calls.empty());
}

TEST_CASE("dispatch: environment errors are code 4 and no handler runs") {
  Recorder rec;
  auto env = env_for("ADD");
  env.vars.erase("CNI_NETNS");
  auto a = run(rec, env, conf("1.0.0"));
  CHECK(a.rc == 1);
  auto e = parse_error(a.out);
  CHECK(e.code == kErrInvalidEnv);
  CHECK(test::contains(e.msg, "CNI_NETNS"));
  CHECK(e.version == "1.0.0");

  env = env_for("ADD");
  env.vars["CNI_ARGS"] = "FOO=1";
  a = run(rec, env, conf("0.4.0"));
  e = parse_error(a.out);
  CHECK(e.code == kErrInvalidEnv);
  CHECK(test::contains(e.msg, "unknown key \"FOO\""));
  CHECK(e.version == "0.4.0");

  env = env_for("NOPE");
  a = run(rec, env, conf("1.1.0"));
  e = parse_error(a.out);
  CHECK(e.code == kErrInvalidEnv);
  CHECK(rec.calls.empty());
}

TEST_CASE("dispatch: known CNI_ARGS reach the handler") {
  Recorder rec;
  auto env = env_for("ADD");
  env.vars["CNI_ARGS"] = "IgnoreUnknown=1;K8S_POD_NAME=web;IP=10.0.0.9";
  auto a = run(rec, env, conf("1.0.0"));
  CHECK(a.rc == 0);
  CHECK(rec.last_ip_arg == "10.0.0.9");
}

TEST_CASE("dispatch: an ADD result that fails to parse as prevResult is caught before the handler") {
  Recorder rec;
  auto a = run(rec, env_for("CHECK"), conf("1.0.0", R"("prevResult":{"ips":[{"address":"10.0.0.5/24","interface":3}]})"));
  CHECK(a.rc == 1);
  CHECK(rec.calls.empty());
  auto e = parse_error(a.out);
  CHECK(e.code == kErrInvalidConfig);
  CHECK(e.msg == "prevResult: ips: interface index 3 is out of range");
}
