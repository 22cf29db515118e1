#include "plugins/zl-wg/meshd/etcd_codec.h"

#include <sodium.h>

#include <cerrno>
#include <cstdlib>
#include <limits>

#include "libcni/json.h"

namespace zl::meshd::codec {
namespace {

using cni::JVal;
using cni::JWriter;

Error invalid(std::string msg) { return Error::make(kEtcdInvalid, "etcd answer: " + std::move(msg)); }

Result<std::unique_ptr<rapidjson::Document>> parse(std::string_view body) {
  if (body.size() > kMaxAnswerBytes) return invalid("too large (" + std::to_string(body.size()) + " bytes)");
  auto doc = cni::parse_json(body, "etcd answer");
  if (!doc) return Error::make(kEtcdInvalid, doc.error().msg);
  if (!(*doc)->IsObject()) return invalid("not an object: " + cni::json_snippet(**doc));
  return doc;
}

// An int64 field: absent or null is 0 (the default etcd omits); a decimal string or a number.
Result<int64_t> i64(const JVal& obj, std::string_view name) {
  const JVal* v = cni::member(obj, name);
  if (!v) return int64_t{0};
  if (v->IsInt64()) return v->GetInt64();
  if (v->IsString()) {
    std::string s(v->GetString(), v->GetStringLength());
    char* end = nullptr;
    errno = 0;
    long long n = std::strtoll(s.c_str(), &end, 10);
    if (!s.empty() && (s[0] == '-' || (s[0] >= '0' && s[0] <= '9')) && errno == 0 && end == s.c_str() + s.size()) return int64_t{n};
  }
  return invalid(std::string(name) + " " + cni::json_snippet(*v) + ": not an int64");
}

Result<bool> flag(const JVal& obj, std::string_view name) {
  const JVal* v = cni::member(obj, name);
  if (!v) return false;
  if (!v->IsBool()) return invalid(std::string(name) + " " + cni::json_snippet(*v) + ": not a boolean");
  return v->GetBool();
}

Result<std::string> str(const JVal& obj, std::string_view name) {
  const JVal* v = cni::member(obj, name);
  if (!v) return std::string();
  if (!v->IsString()) return invalid(std::string(name) + " " + cni::json_snippet(*v) + ": not a string");
  return std::string(v->GetString(), v->GetStringLength());
}

Result<std::string> bytes(const JVal& obj, std::string_view name) {
  auto s = str(obj, name);
  if (!s) return s;
  auto d = b64_decode(*s);
  if (!d) return invalid(std::string(name) + ": " + d.error().msg);
  return d;
}

// An object member (absent: nullptr); an error when present but not an object.
Result<const JVal*> object(const JVal& obj, std::string_view name) {
  const JVal* v = cni::member(obj, name);
  if (!v) return static_cast<const JVal*>(nullptr);
  if (!v->IsObject()) return invalid(std::string(name) + " " + cni::json_snippet(*v) + ": not an object");
  return v;
}

Result<const JVal*> array(const JVal& obj, std::string_view name) {
  const JVal* v = cni::member(obj, name);
  if (!v) return static_cast<const JVal*>(nullptr);
  if (!v->IsArray()) return invalid(std::string(name) + " " + cni::json_snippet(*v) + ": not an array");
  return v;
}

Result<int64_t> header_revision(const JVal& obj) {
  auto h = object(obj, "header");
  if (!h) return std::move(h).error();
  return *h ? i64(**h, "revision") : Result<int64_t>(int64_t{0});
}

Result<KeyValue> parse_kv(const JVal& v) {
  if (!v.IsObject()) return invalid("kv " + cni::json_snippet(v) + ": not an object");
  KeyValue kv;
  auto key = bytes(v, "key"), value = bytes(v, "value");
  auto cr = i64(v, "create_revision"), mr = i64(v, "mod_revision"), ver = i64(v, "version"),
       lease = i64(v, "lease");
  for (const Status& s : {key ? Status() : Status(key.error()), value ? Status() : Status(value.error()),
                          cr ? Status() : Status(cr.error()), mr ? Status() : Status(mr.error()),
                          ver ? Status() : Status(ver.error()), lease ? Status() : Status(lease.error())})
    if (!s) return s.error();
  kv.key = std::move(*key);
  kv.value = std::move(*value);
  kv.create_revision = *cr;
  kv.mod_revision = *mr;
  kv.version = *ver;
  kv.lease = *lease;
  return kv;
}

Result<RangeResult> range_from(const JVal& obj) {
  RangeResult r;
  auto rev = header_revision(obj);
  auto more = flag(obj, "more");
  auto kvs = array(obj, "kvs");
  if (!rev) return std::move(rev).error();
  if (!more) return std::move(more).error();
  if (!kvs) return std::move(kvs).error();
  r.revision = *rev;
  r.more = *more;
  if (*kvs) {
    for (const JVal& v : (*kvs)->GetArray()) {
      auto kv = parse_kv(v);
      if (!kv) return std::move(kv).error();
      r.kvs.push_back(std::move(*kv));
    }
  }
  return r;
}

void write_key(JWriter& w, const char* name, const std::string& bytes) {
  w.Key(name);
  w.String(b64_encode(bytes));
}

void write_i64(JWriter& w, const char* name, int64_t n) {
  w.Key(name);
  w.String(std::to_string(n));
}

void write_range_keys(JWriter& w, const std::string& key, bool prefix) {
  write_key(w, "key", key);
  if (prefix) write_key(w, "range_end", prefix_end(key));
}

void write_op(JWriter& w, const TxnOp& op) {
  w.StartObject();
  switch (op.kind) {
    case TxnOp::Kind::kPut:
      w.Key("request_put");
      w.StartObject();
      write_key(w, "key", op.key);
      write_key(w, "value", op.value);
      if (op.lease) write_i64(w, "lease", op.lease);
      break;
    case TxnOp::Kind::kDelete:
      w.Key("request_delete_range");
      w.StartObject();
      write_range_keys(w, op.key, op.prefix);
      break;
    case TxnOp::Kind::kRange:
      w.Key("request_range");
      w.StartObject();
      write_range_keys(w, op.key, op.prefix);
      break;
  }
  w.EndObject();
  w.EndObject();
}

void write_compare(JWriter& w, const Compare& c) {
  static constexpr const char* kTargets[] = {"VERSION", "CREATE", "MOD", "VALUE", "LEASE"};
  static constexpr const char* kFields[] = {"version", "create_revision", "mod_revision", "value", "lease"};
  static constexpr const char* kOps[] = {"EQUAL", "GREATER", "LESS", "NOT_EQUAL"};
  const auto t = static_cast<size_t>(c.target);
  w.StartObject();
  write_key(w, "key", c.key);
  w.Key("target");
  w.String(kTargets[t]);
  w.Key("result");
  w.String(kOps[static_cast<size_t>(c.op)]);
  if (c.target == Compare::Target::kValue)
    write_key(w, kFields[t], c.value);
  else
    write_i64(w, kFields[t], c.number);
  w.EndObject();
}

}  // namespace

std::string b64_encode(std::string_view in) {
  const size_t len = sodium_base64_ENCODED_LEN(in.size(), sodium_base64_VARIANT_ORIGINAL);
  std::string out(len, '\0');
  sodium_bin2base64(out.data(), len, reinterpret_cast<const unsigned char*>(in.data()), in.size(),
                    sodium_base64_VARIANT_ORIGINAL);
  out.resize(len - 1);  // the terminating NUL
  return out;
}

Result<std::string> b64_decode(std::string_view text) {
  std::string out(text.size() / 4 * 3 + 3, '\0');
  size_t n = 0;
  const char* end = nullptr;
  if (sodium_base642bin(reinterpret_cast<unsigned char*>(out.data()), out.size(), text.data(), text.size(), nullptr,
                        &n, &end, sodium_base64_VARIANT_ORIGINAL) != 0 ||
      end != text.data() + text.size())
    return Error::make(kEtcdInvalid, "base64 \"" + cni::printable(text, 64) + "\": malformed");
  out.resize(n);
  return out;
}

std::string prefix_end(std::string_view prefix) {
  std::string end(prefix);
  while (!end.empty()) {
    auto& last = reinterpret_cast<unsigned char&>(end.back());
    if (last < 0xff) {
      ++last;
      return end;
    }
    end.pop_back();
  }
  return std::string(1, '\0');
}

std::string range_request(const std::string& key, bool prefix, int64_t revision) {
  rapidjson::StringBuffer sb;
  JWriter w(sb);
  w.StartObject();
  write_range_keys(w, key, prefix);
  if (revision) write_i64(w, "revision", revision);
  w.EndObject();
  return cni::buffer_text(sb);
}

std::string put_request(const std::string& key, const std::string& value, int64_t lease) {
  rapidjson::StringBuffer sb;
  JWriter w(sb);
  w.StartObject();
  write_key(w, "key", key);
  write_key(w, "value", value);
  if (lease) write_i64(w, "lease", lease);
  w.EndObject();
  return cni::buffer_text(sb);
}

std::string delete_request(const std::string& key, bool prefix) {
  rapidjson::StringBuffer sb;
  JWriter w(sb);
  w.StartObject();
  write_range_keys(w, key, prefix);
  w.EndObject();
  return cni::buffer_text(sb);
}

std::string txn_request(const std::vector<Compare>& compares, const std::vector<TxnOp>& success,
                        const std::vector<TxnOp>& failure) {
  rapidjson::StringBuffer sb;
  JWriter w(sb);
  w.StartObject();
  w.Key("compare");
  w.StartArray();
  for (const Compare& c : compares) write_compare(w, c);
  w.EndArray();
  w.Key("success");
  w.StartArray();
  for (const TxnOp& op : success) write_op(w, op);
  w.EndArray();
  w.Key("failure");
  w.StartArray();
  for (const TxnOp& op : failure) write_op(w, op);
  w.EndArray();
  w.EndObject();
  return cni::buffer_text(sb);
}

std::string grant_request(int64_t ttl_seconds) {
  rapidjson::StringBuffer sb;
  JWriter w(sb);
  w.StartObject();
  write_i64(w, "TTL", ttl_seconds);
  w.EndObject();
  return cni::buffer_text(sb);
}

std::string lease_id_request(int64_t lease_id) {
  rapidjson::StringBuffer sb;
  JWriter w(sb);
  w.StartObject();
  write_i64(w, "ID", lease_id);
  w.EndObject();
  return cni::buffer_text(sb);
}

std::string watch_request(const std::string& prefix, int64_t start_revision) {
  rapidjson::StringBuffer sb;
  JWriter w(sb);
  w.StartObject();
  w.Key("create_request");
  w.StartObject();
  write_range_keys(w, prefix, true);
  if (start_revision) write_i64(w, "start_revision", start_revision);
  w.EndObject();
  w.EndObject();
  return cni::buffer_text(sb);
}

std::string auth_request(const std::string& user, const std::string& password) {
  rapidjson::StringBuffer sb;
  JWriter w(sb);
  w.StartObject();
  w.Key("name");
  w.String(user);
  w.Key("password");
  w.String(password);
  w.EndObject();
  return cni::buffer_text(sb);
}

namespace {

bool contains(std::string_view hay, std::string_view needle) { return hay.find(needle) != std::string_view::npos; }

// grpc status code and message → EtcdErr.
Error grpc_error(int64_t code, std::string_view message) {
  int err = kEtcdInvalid;
  if (code == 14 || code == 4 || code == 1 || code == 10) err = kEtcdUnavailable;
  if (code == 5 && contains(message, "lease not found")) err = kEtcdLeaseNotFound;
  if (code == 16 || code == 7 || (code == 3 && (contains(message, "authentication failed") || contains(message, "user name is empty"))) ||
      (code == 9 && contains(message, "auth")))
    err = kEtcdAuth;
  if (code == 11 && contains(message, "compacted")) err = kEtcdCompacted;
  return Error::make(err, "etcd: " + cni::printable(message) + " (grpc code " + std::to_string(code) + ")");
}

Error http_error(long status, std::string_view body) {
  const int err = status >= 500 || status == 0 ? kEtcdUnavailable
                  : status == 401 || status == 403 ? kEtcdAuth
                                                   : kEtcdInvalid;
  return Error::make(err, "etcd: HTTP " + std::to_string(status) + ": " + cni::printable(body, 128));
}

// The error an answer object carries, if any: unary {"error":"…","code":N,"message":"…"} or
// a stream's {"error":{"grpc_code":N,"message":"…"}}.
std::optional<Error> error_in(const JVal& obj) {
  const JVal* e = cni::member(obj, "error");
  if (!e) return std::nullopt;
  const JVal* where = e->IsObject() ? e : &obj;
  auto code = i64(*where, e->IsObject() ? "grpc_code" : "code");
  auto message = str(*where, "message");
  if (!code || !message) return invalid("error " + cni::json_snippet(*e) + ": malformed");
  return grpc_error(*code, message->empty() && e->IsString() ? std::string_view(e->GetString()) : *message);
}

// A 2xx answer's object, with an embedded error turned into that error.
Result<std::unique_ptr<rapidjson::Document>> parse_ok(std::string_view body) {
  auto doc = parse(body);
  if (!doc) return doc;
  if (auto e = error_in(**doc)) return std::move(*e);
  return doc;
}

}  // namespace

Status check_answer(long http_status, std::string_view body) {
  if (http_status >= 200 && http_status < 300) {
    auto doc = parse_ok(body);
    if (!doc) return std::move(doc).error();
    return {};
  }
  auto doc = parse(body);
  if (doc) {
    if (auto e = error_in(**doc)) return std::move(*e);
  }
  return http_error(http_status, body);
}

bool token_invalid(const Error& e) {
  return e.code == kEtcdAuth && (contains(e.msg, "invalid auth token") || contains(e.msg, "auth store is old"));
}

Result<RangeResult> parse_range(std::string_view body) {
  auto doc = parse_ok(body);
  if (!doc) return std::move(doc).error();
  return range_from(**doc);
}

Result<int64_t> parse_put(std::string_view body) {
  auto doc = parse_ok(body);
  if (!doc) return std::move(doc).error();
  return header_revision(**doc);
}

Result<int64_t> parse_delete(std::string_view body) {
  auto doc = parse_ok(body);
  if (!doc) return std::move(doc).error();
  return i64(**doc, "deleted");
}

Result<TxnResult> parse_txn(std::string_view body) {
  auto doc = parse_ok(body);
  if (!doc) return std::move(doc).error();
  TxnResult t;
  auto rev = header_revision(**doc);
  auto ok = flag(**doc, "succeeded");
  auto responses = array(**doc, "responses");
  if (!rev) return std::move(rev).error();
  if (!ok) return std::move(ok).error();
  if (!responses) return std::move(responses).error();
  t.revision = *rev;
  t.succeeded = *ok;
  if (!*responses) return t;
  for (const JVal& r : (*responses)->GetArray()) {
    if (!r.IsObject()) return invalid("txn response " + cni::json_snippet(r) + ": not an object");
    auto range = object(r, "response_range");
    if (!range) return std::move(range).error();
    if (!*range) continue;
    auto rr = range_from(**range);
    if (!rr) return std::move(rr).error();
    rr->revision = rr->revision ? rr->revision : t.revision;
    t.ranges.push_back(std::move(*rr));
  }
  return t;
}

Result<Lease> parse_grant(std::string_view body) {
  auto doc = parse_ok(body);
  if (!doc) return std::move(doc).error();
  auto id = i64(**doc, "ID"), ttl = i64(**doc, "TTL");
  if (!id) return std::move(id).error();
  if (!ttl) return std::move(ttl).error();
  if (*id == 0) return invalid("lease grant without an ID");
  return Lease{*id, *ttl};
}

Result<int64_t> parse_keepalive(std::string_view body) {
  auto doc = parse_ok(body);
  if (!doc) return std::move(doc).error();
  // A stream answer: {"result":{…}}, possibly followed by more messages; the first one counts.
  auto result = object(**doc, "result");
  if (!result) return std::move(result).error();
  const JVal& r = *result ? **result : **doc;
  auto id = i64(r, "ID"), ttl = i64(r, "TTL");
  if (!id) return std::move(id).error();
  if (!ttl) return std::move(ttl).error();
  if (*ttl <= 0) return Error::make(kEtcdLeaseNotFound, "etcd: lease " + std::to_string(*id) + " not found");
  return *ttl;
}

Result<std::string> parse_auth(std::string_view body) {
  auto doc = parse_ok(body);
  if (!doc) return std::move(doc).error();
  auto token = str(**doc, "token");
  if (!token) return token;
  if (token->empty()) return invalid("authenticate answer without a token");
  if (token->size() > 4096 || contains(*token, "\r") || contains(*token, "\n") || contains(*token, std::string_view("\0", 1)))
    return invalid("auth token: malformed");
  return token;
}

namespace {

Result<WatchEvent> parse_event(const JVal& v) {
  if (!v.IsObject()) return invalid("watch event " + cni::json_snippet(v) + ": not an object");
  WatchEvent ev;
  auto type = str(v, "type");
  if (!type) return std::move(type).error();
  if (*type == "DELETE")
    ev.type = WatchEvent::Type::kDelete;
  else if (!type->empty() && *type != "PUT")
    return invalid("watch event type \"" + cni::printable(*type, 32) + "\": unknown");
  auto kvobj = object(v, "kv");
  if (!kvobj) return std::move(kvobj).error();
  if (!*kvobj) return invalid("watch event without kv");
  auto kv = parse_kv(**kvobj);
  if (!kv) return std::move(kv).error();
  ev.kv = std::move(*kv);
  return ev;
}

}  // namespace

Result<std::optional<WatchBatch>> parse_watch_message(std::string_view line) {
  auto doc = parse_ok(line);
  if (!doc) return std::move(doc).error();
  auto result = object(**doc, "result");
  if (!result) return std::move(result).error();
  if (!*result) return invalid("watch message without result: " + cni::json_snippet(**doc));
  const JVal& r = **result;
  auto compact = i64(r, "compact_revision");
  auto canceled = flag(r, "canceled");
  auto reason = str(r, "cancel_reason");
  if (!compact || !canceled || !reason) return invalid("watch message: malformed " + cni::json_snippet(r));
  if (*compact > 0)
    return Error::make(kEtcdCompacted, "etcd watch: start revision compacted (compact revision " +
                                           std::to_string(*compact) + ")");
  if (*canceled) return Error::make(kEtcdUnavailable, "etcd watch canceled: " + cni::printable(*reason));
  WatchBatch b;
  auto rev = header_revision(r);
  auto events = array(r, "events");
  if (!rev) return std::move(rev).error();
  if (!events) return std::move(events).error();
  b.revision = *rev;
  if (!*events || (*events)->Empty()) return std::optional<WatchBatch>();
  for (const JVal& v : (*events)->GetArray()) {
    auto ev = parse_event(v);
    if (!ev) return std::move(ev).error();
    b.events.push_back(std::move(*ev));
  }
  return std::optional<WatchBatch>(std::move(b));
}

Status LineSplitter::feed(std::string_view chunk) {
  if (pos_ > 0 && pos_ >= buf_.size() / 2) {
    buf_.erase(0, pos_);
    pos_ = 0;
  }
  buf_.append(chunk);
  const size_t last = buf_.rfind('\n');
  const size_t tail = last == std::string::npos || last < pos_ ? pos_ : last + 1;
  if (buf_.size() - tail > max_ || pending() > 4 * max_)
    return Error::make(kEtcdInvalid, "etcd watch: a message over " + std::to_string(max_) + " bytes");
  return {};
}

std::optional<std::string> LineSplitter::next() {
  while (true) {
    const size_t nl = buf_.find('\n', pos_);
    if (nl == std::string::npos) return std::nullopt;
    std::string line = buf_.substr(pos_, nl - pos_);
    pos_ = nl + 1;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (!line.empty()) return line;
  }
}

}  // namespace zl::meshd::codec
