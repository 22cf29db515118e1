// The etcd gateway codec without a network: base64, request bodies, answers with omitted
// defaults and int64 strings, error answers, the watch stream, hostile answers.
#include <doctest/doctest.h>

#include <string>

#include "libcni/json.h"
#include "plugins/zl-wg/meshd/etcd_codec.h"

using namespace zl;
using namespace zl::meshd;
namespace codec = zl::meshd::codec;

namespace {

const char* kHeader = R"("header":{"cluster_id":"1","member_id":"2","revision":"42","raft_term":"3"})";

std::string with_header(const std::string& rest) { return "{" + std::string(kHeader) + rest + "}"; }

// A request body parsed back, for checking its fields.
std::string field(const std::string& json, const char* a, const char* b = nullptr) {
  auto doc = cni::parse_json(json, "request");
  REQUIRE(doc);
  const cni::JVal* v = cni::member(**doc, a);
  if (v && b) v = cni::member(*v, b);
  REQUIRE(v);
  REQUIRE(v->IsString());
  return v->GetString();
}

}  // namespace

TEST_CASE("etcd codec: base64 round trips, binary and empty included") {
  std::string all;
  for (int i = 0; i < 256; ++i) all.push_back(static_cast<char>(i));
  for (const std::string& s : {std::string(), std::string("a"), std::string("ab"), std::string("abc"),
                               std::string("/zl/nodes/n1"), std::string("\0\xff\n", 3), all}) {
    auto d = codec::b64_decode(codec::b64_encode(s));
    REQUIRE(d);
    CHECK(*d == s);
  }
  CHECK(codec::b64_encode("a") == "YQ==");
  CHECK(codec::b64_encode("") == "");
  for (const char* bad : {"YQ=", "Y", "YQ==YQ==", "Y Q==", "!!!!", "YQ==\n"}) {
    auto d = codec::b64_decode(bad);
    REQUIRE_FALSE(d);
    CHECK(d.error().code == kEtcdInvalid);
  }
}

TEST_CASE("etcd codec: prefix range end is the prefix with its last byte + 1") {
  CHECK(codec::prefix_end("/zl/") == "/zl0");
  CHECK(codec::prefix_end("a\xff") == "b");
  CHECK(codec::prefix_end("\xff\xff") == std::string(1, '\0'));
  CHECK(codec::prefix_end("") == std::string(1, '\0'));
}

TEST_CASE("etcd codec: request bodies carry base64 bytes and int64 strings") {
  auto range = codec::range_request("/zl/", true, 7);
  CHECK(field(range, "key") == codec::b64_encode("/zl/"));
  CHECK(field(range, "range_end") == codec::b64_encode("/zl0"));
  CHECK(field(range, "revision") == "7");
  CHECK(codec::range_request("k", false, 0) == R"({"key":"aw=="})");
  CHECK(codec::put_request("k", "v", 0) == R"({"key":"aw==","value":"dg=="})");
  CHECK(field(codec::put_request("k", "", 9223372036854775807), "lease") == "9223372036854775807");
  CHECK(codec::grant_request(10) == R"({"TTL":"10"})");
  CHECK(codec::lease_id_request(-5) == R"({"ID":"-5"})");
  CHECK(codec::auth_request("root", "p\"w") == R"({"name":"root","password":"p\"w"})");
  auto w = codec::watch_request("/p", 12);
  CHECK(field(w, "create_request", "start_revision") == "12");
  CHECK(field(w, "create_request", "range_end") == codec::b64_encode("/q"));
}

TEST_CASE("etcd codec: txn create-only request") {
  auto body = codec::txn_request(
      {Compare{.key = "k", .target = Compare::Target::kCreate, .op = Compare::Op::kEqual, .number = 0},
       Compare{.key = "k", .target = Compare::Target::kValue, .op = Compare::Op::kNotEqual, .value = "x"}},
      {TxnOp{.kind = TxnOp::Kind::kPut, .key = "k", .value = "v", .lease = 3}},
      {TxnOp{.kind = TxnOp::Kind::kRange, .key = "k/", .prefix = true}, TxnOp{.kind = TxnOp::Kind::kDelete, .key = "d"}});
  CHECK(body == R"({"compare":[{"key":"aw==","target":"CREATE","result":"EQUAL","create_revision":"0"},)"
                R"({"key":"aw==","target":"VALUE","result":"NOT_EQUAL","value":"eA=="}],)"
                R"("success":[{"request_put":{"key":"aw==","value":"dg==","lease":"3"}}],)"
                R"("failure":[{"request_range":{"key":"ay8=","range_end":"azA="}},{"request_delete_range":{"key":"ZA=="}}]})");
}

TEST_CASE("etcd codec: answers with omitted defaults and int64 strings") {
  auto empty = codec::parse_range(with_header(""));
  REQUIRE(empty);
  CHECK(empty->revision == 42);
  CHECK(empty->kvs.empty());
  CHECK_FALSE(empty->more);
  auto r = codec::parse_range(with_header(
      R"(,"kvs":[{"key":"YQ==","create_revision":"2","mod_revision":"9","version":"3","value":"Yg==","lease":"7587"},)"
      R"({"key":"Yw=="}],"count":"2","more":true)"));
  REQUIRE(r);
  REQUIRE(r->kvs.size() == 2);
  CHECK(r->kvs[0].key == "a");
  CHECK(r->kvs[0].value == "b");
  CHECK(r->kvs[0].create_revision == 2);
  CHECK(r->kvs[0].mod_revision == 9);
  CHECK(r->kvs[0].version == 3);
  CHECK(r->kvs[0].lease == 7587);
  CHECK(r->kvs[1].value.empty());
  CHECK(r->kvs[1].lease == 0);
  CHECK(r->more);
  auto put = codec::parse_put(with_header(""));
  REQUIRE(put);
  CHECK(*put == 42);
  auto del0 = codec::parse_delete(with_header(""));
  REQUIRE(del0);
  CHECK(*del0 == 0);
  auto del = codec::parse_delete(with_header(R"(,"deleted":"3")"));
  REQUIRE(del);
  CHECK(*del == 3);
}

TEST_CASE("etcd codec: txn, lease and auth answers") {
  auto lost = codec::parse_txn(with_header(R"(,"responses":[{"response_range":{"header":{"revision":"42"},)"
                                           R"("kvs":[{"key":"aw==","value":"dg==","mod_revision":"5"}],"count":"1"}}])"));
  REQUIRE(lost);
  CHECK_FALSE(lost->succeeded);
  REQUIRE(lost->ranges.size() == 1);
  CHECK(lost->ranges[0].kvs.at(0).mod_revision == 5);
  auto won = codec::parse_txn(with_header(R"(,"succeeded":true,"responses":[{"response_put":{"header":{}}}])"));
  REQUIRE(won);
  CHECK(won->succeeded);
  CHECK(won->revision == 42);
  CHECK(won->ranges.empty());
  auto g = codec::parse_grant(with_header(R"(,"ID":"6908700184518637064","TTL":"10")"));
  REQUIRE(g);
  CHECK(g->id == 6908700184518637064);
  CHECK(g->ttl == 10);
  CHECK_FALSE(codec::parse_grant(with_header(R"(,"TTL":"10")")));
  auto ka = codec::parse_keepalive("{\"result\":" + with_header(R"(,"ID":"1","TTL":"9")") + "}");
  REQUIRE(ka);
  CHECK(*ka == 9);
  // A keep-alive of an expired or revoked lease answers with no TTL.
  auto gone = codec::parse_keepalive("{\"result\":" + with_header(R"(,"ID":"1")") + "}");
  REQUIRE_FALSE(gone);
  CHECK(gone.error().code == kEtcdLeaseNotFound);
  auto tok = codec::parse_auth(with_header(R"(,"token":"abc.12"})").substr(0, with_header(R"(,"token":"abc.12")").size()));
  REQUIRE(tok);
  CHECK(*tok == "abc.12");
  CHECK_FALSE(codec::parse_auth(with_header(R"(,"token":"a\r\nX-Evil: 1")")));
  CHECK_FALSE(codec::parse_auth(with_header("")));
}

TEST_CASE("etcd codec: error answers map to EtcdErr") {
  struct Case {
    long status;
    const char* body;
    int code;
  };
  const Case cases[] = {
      {404, R"({"error":"etcdserver: requested lease not found","code":5,"message":"etcdserver: requested lease not found"})", kEtcdLeaseNotFound},
      {503, R"({"error":"etcdserver: no leader","code":14,"message":"etcdserver: no leader"})", kEtcdUnavailable},
      {401, R"({"error":"etcdserver: invalid auth token","code":16,"message":"etcdserver: invalid auth token"})", kEtcdAuth},
      {400, R"({"error":"etcdserver: authentication failed, invalid user ID or password","code":3,"message":"etcdserver: authentication failed, invalid user ID or password"})", kEtcdAuth},
      {403, R"({"error":"etcdserver: permission denied","code":7,"message":"etcdserver: permission denied"})", kEtcdAuth},
      {400, R"({"error":"etcdserver: user name is empty","code":3,"message":"etcdserver: user name is empty"})", kEtcdAuth},
      {400, R"({"error":"mvcc: required revision has been compacted","code":11,"message":"mvcc: required revision has been compacted"})", kEtcdCompacted},
      {400, R"({"error":"etcdserver: key is not provided","code":3,"message":"etcdserver: key is not provided"})", kEtcdInvalid},
      {200, R"({"error":"etcdserver: request timed out","code":14,"message":"etcdserver: request timed out"})", kEtcdUnavailable},
      {502, "Bad Gateway", kEtcdUnavailable},
      {401, "", kEtcdAuth},
      {404, "404 page not found", kEtcdInvalid},
      {200, "not json", kEtcdInvalid},
      {200, "[]", kEtcdInvalid},
  };
  for (const Case& c : cases) {
    CAPTURE(c.body);
    auto st = codec::check_answer(c.status, c.body);
    REQUIRE_FALSE(st);
    CHECK(st.error().code == c.code);
  }
  CHECK(codec::check_answer(200, with_header("")));
  auto expired = codec::check_answer(401, cases[2].body);
  CHECK(codec::token_invalid(expired.error()));
  CHECK_FALSE(codec::token_invalid(codec::check_answer(400, cases[3].body).error()));
}

TEST_CASE("etcd codec: the watch stream, split anywhere, created first, events after") {
  const std::string stream =
      R"({"result":{"header":{"revision":"3"},"created":true}})"
      "\n"
      R"({"result":{"header":{"revision":"5"},"events":[{"kv":{"key":"L2EveA==","create_revision":"4","mod_revision":"4","version":"1","value":"MQ=="}},)"
      R"({"type":"DELETE","kv":{"key":"L2EveQ==","mod_revision":"5"}}]}})"
      "\n";
  for (size_t chunk = 1; chunk <= stream.size(); chunk += (chunk < 8 ? 1 : 37)) {
    CAPTURE(chunk);
    codec::LineSplitter lines;
    std::vector<WatchBatch> batches;
    int messages = 0;
    for (size_t at = 0; at < stream.size(); at += chunk) {
      REQUIRE(lines.feed(std::string_view(stream).substr(at, chunk)));
      while (auto line = lines.next()) {
        ++messages;
        auto m = codec::parse_watch_message(*line);
        REQUIRE(m);
        if (*m) batches.push_back(**m);
      }
    }
    CHECK(messages == 2);
    CHECK(lines.pending() == 0);
    REQUIRE(batches.size() == 1);
    CHECK(batches[0].revision == 5);
    REQUIRE(batches[0].events.size() == 2);
    CHECK(batches[0].events[0].type == WatchEvent::Type::kPut);
    CHECK(batches[0].events[0].kv.key == "/a/x");
    CHECK(batches[0].events[0].kv.value == "1");
    CHECK(batches[0].events[1].type == WatchEvent::Type::kDelete);
    CHECK(batches[0].events[1].kv.key == "/a/y");
    CHECK(batches[0].events[1].kv.mod_revision == 5);
  }
}

TEST_CASE("etcd codec: watch ends: compaction, cancel, stream errors") {
  auto compacted = codec::parse_watch_message(R"({"result":{"header":{},"canceled":true,"compact_revision":"8"}})");
  REQUIRE_FALSE(compacted);
  CHECK(compacted.error().code == kEtcdCompacted);
  CHECK(compacted.error().msg.find("8") != std::string::npos);
  auto canceled = codec::parse_watch_message(R"({"result":{"canceled":true,"cancel_reason":"gone"}})");
  REQUIRE_FALSE(canceled);
  CHECK(canceled.error().code == kEtcdUnavailable);
  auto noleader = codec::parse_watch_message(
      R"({"error":{"grpc_code":14,"http_code":503,"message":"etcdserver: no leader","http_status":"Service Unavailable"}})");
  REQUIRE_FALSE(noleader);
  CHECK(noleader.error().code == kEtcdUnavailable);
  auto progress = codec::parse_watch_message(R"({"result":{"header":{"revision":"9"}}})");
  REQUIRE(progress);
  CHECK_FALSE(*progress);
}

TEST_CASE("etcd codec: hostile answers are kEtcdInvalid, never a crash") {
  const std::string deep = std::string(100000, '[') + std::string(100000, ']');
  const std::string huge = with_header(",\"kvs\":[{\"key\":\"" + std::string(codec::kMaxAnswerBytes, 'A') + "\"}]");
  // Hostile for every answer parser.
  const std::string any[] = {
      deep, "{\"a\":" + deep + "}", huge, R"({"header":"x"})", R"({"header":{"revision":{}}})",
      "{\"header\":{\"revision\":\"1\"}", "\xff\xfe", "", "null",
  };
  for (const std::string& body : any) {
    CAPTURE(body.substr(0, 80));
    auto r = codec::parse_range(body);
    REQUIRE_FALSE(r);
    CHECK(r.error().code == kEtcdInvalid);
    auto t = codec::parse_txn(body);
    REQUIRE_FALSE(t);
    CHECK(t.error().code == kEtcdInvalid);
    CHECK_FALSE(codec::parse_put(body));
    CHECK_FALSE(codec::parse_grant(body));
    CHECK_FALSE(codec::parse_keepalive(body));
    CHECK_FALSE(codec::parse_watch_message("{\"result\":" + body + "}"));
  }
  // Wrong shapes and types in range answers (also as a txn's range and a watch event's kv).
  const std::string kvs[] = {
      R"({"key":"YQ=="})", R"([1,2])", R"([{"key":5}])", R"([{"key":"not base64!"}])",
      R"([{"key":"YQ==","mod_revision":"12x"}])", R"([{"key":"YQ==","mod_revision":"99999999999999999999"}])",
      R"([{"key":"YQ==","version":1.5}])", R"([{"key":"YQ==","lease":" 1"}])", R"([{"key":"YQ==","lease":"\t1"}])", R"([{"key":"YQ==","lease":"+1"}])",
  };
  for (const std::string& k : kvs) {
    CAPTURE(k);
    auto r = codec::parse_range(with_header(",\"kvs\":" + k));
    REQUIRE_FALSE(r);
    CHECK(r.error().code == kEtcdInvalid);
    CHECK_FALSE(codec::parse_txn(with_header(R"(,"responses":[{"response_range":{"kvs":)" + k + "}}]")));
  }
  CHECK_FALSE(codec::parse_range(with_header(R"(,"more":"yes")")));
  CHECK_FALSE(codec::parse_txn(with_header(R"(,"responses":[7])")));
  CHECK_FALSE(codec::parse_txn(with_header(R"(,"succeeded":1)")));
  CHECK_FALSE(codec::parse_watch_message(R"({"result":{"events":[{"type":"BOOM","kv":{"key":"YQ=="}}]}})"));
  CHECK_FALSE(codec::parse_watch_message(R"({"result":{"events":[{"type":"PUT"}]}})"));
  CHECK_FALSE(codec::parse_watch_message(R"({"result":{"events":"x"}})"));
  CHECK_FALSE(codec::parse_watch_message(R"({"error":{"grpc_code":"x"}})"));
}

TEST_CASE("etcd codec: a watch message without a newline cannot grow without bound") {
  codec::LineSplitter lines(1024);
  CHECK(lines.feed(std::string(1000, 'x')));
  auto over = lines.feed(std::string(100, 'x'));
  REQUIRE_FALSE(over);
  CHECK(over.error().code == kEtcdInvalid);
  codec::LineSplitter ok(1024);
  for (int i = 0; i < 100; ++i) {
    REQUIRE(ok.feed(std::string(600, 'y') + "\n"));
    REQUIRE(ok.next());
  }
  CHECK_FALSE(ok.next());
}
