// The etcd v3 JSON gateway's wire format, pure (no network): request bodies, answer parsing
// (omitted defaults, int64 as strings, base64 bytes), error classification, and the watch
// stream's newline-delimited messages. Answers are untrusted: bounded, never a crash.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "libnet/core/result.h"
#include "plugins/zl-wg/meshd/etcd.h"

namespace zl::meshd::codec {

inline constexpr size_t kMaxAnswerBytes = size_t{32} << 20;  // one unary answer or watch message

std::string b64_encode(std::string_view bytes);
// kEtcdInvalid on anything but standard padded base64.
Result<std::string> b64_decode(std::string_view text);
// The range_end covering every key starting with `prefix` ("\0" for an empty prefix: all keys;
// a prefix of only 0xff bytes also yields "\0").
std::string prefix_end(std::string_view prefix);

std::string range_request(const std::string& key, bool prefix, int64_t revision);
std::string put_request(const std::string& key, const std::string& value, int64_t lease);
std::string delete_request(const std::string& key, bool prefix);
std::string txn_request(const std::vector<Compare>& compares, const std::vector<TxnOp>& success,
                        const std::vector<TxnOp>& failure);
std::string grant_request(int64_t ttl_seconds);
std::string lease_id_request(int64_t lease_id);  // keepalive and revoke
std::string watch_request(const std::string& prefix, int64_t start_revision);
std::string auth_request(const std::string& user, const std::string& password);

// An answer with HTTP status `http_status` and `body`: ok when it is a 2xx without an "error"
// member, else the Error etcd meant (grpc code and message mapped to EtcdErr).
Status check_answer(long http_status, std::string_view body);
// True when the error says the auth token is invalid or expired (authenticate again).
bool token_invalid(const Error& e);

Result<RangeResult> parse_range(std::string_view body);
Result<int64_t> parse_put(std::string_view body);     // header revision
Result<int64_t> parse_delete(std::string_view body);  // keys deleted
Result<TxnResult> parse_txn(std::string_view body);
Result<Lease> parse_grant(std::string_view body);
Result<int64_t> parse_keepalive(std::string_view body);  // TTL; kEtcdLeaseNotFound when gone
Result<std::string> parse_auth(std::string_view body);   // the token

// One message of the watch stream. nullopt: created / progress without events; an error ends
// the stream (kEtcdCompacted with the compact revision in the message, kEtcdUnavailable when
// canceled otherwise, or the mapped error object).
Result<std::optional<WatchBatch>> parse_watch_message(std::string_view line);

// Splits a byte stream into newline-delimited messages; a message beyond kMaxAnswerBytes fails.
class LineSplitter {
 public:
  explicit LineSplitter(size_t max_line = kMaxAnswerBytes) : max_(max_line) {}
  Status feed(std::string_view chunk);
  std::optional<std::string> next();  // the next complete message without its newline
  size_t pending() const { return buf_.size() - pos_; }

 private:
  std::string buf_;
  size_t pos_ = 0;  // start of the unconsumed part
  size_t max_;
};

}  // namespace zl::meshd::codec
