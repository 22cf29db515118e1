// A small etcd v3 client for zl-meshd, on libcurl against etcd's JSON gateway (/v3/…).
// Several endpoints with failover, TLS (CA, client certificate and key), optional
// user/password auth. Keys and values are bytes (base64 on the wire, handled here);
// int64 fields arrive as JSON strings and default values are omitted: handled here too.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "libnet/core/result.h"

namespace zl::meshd {

// Error.code of every failure this client returns.
enum EtcdErr : int {
  kEtcdUnavailable = 1,  // no endpoint answered in time, connection broke, no leader, 5xx
  kEtcdLeaseNotFound,    // the lease expired or was revoked: grant a new one
  kEtcdCompacted,        // the watch's start revision was compacted: list again
  kEtcdAuth,             // authentication failed / permission denied
  kEtcdInvalid,          // a malformed answer, or a request etcd refused as invalid
};

struct EtcdOptions {
  std::vector<std::string> endpoints;  // "http://127.0.0.1:2379", "https://10.0.0.1:2379"
  std::string ca_file, cert_file, key_file;  // TLS; empty: none / system CAs
  std::string user, password;               // auth; empty user: none
  int connect_timeout_ms = 1000;
  int request_timeout_ms = 5000;
};

struct KeyValue {
  std::string key, value;
  int64_t create_revision = 0, mod_revision = 0, version = 0, lease = 0;
};

struct RangeResult {
  int64_t revision = 0;  // the store's revision when the range was served
  std::vector<KeyValue> kvs;
  bool more = false;
};

struct Compare {
  enum class Target { kVersion, kCreate, kMod, kValue, kLease };
  enum class Op { kEqual, kGreater, kLess, kNotEqual };
  std::string key;
  Target target = Target::kVersion;
  Op op = Op::kEqual;
  int64_t number = 0;  // for kVersion, kCreate, kMod, kLease
  std::string value;   // for kValue
};

struct TxnOp {
  enum class Kind { kPut, kDelete, kRange };
  Kind kind = Kind::kPut;
  std::string key;
  std::string value;    // kPut
  int64_t lease = 0;    // kPut
  bool prefix = false;  // kDelete, kRange: every key starting with `key`
};

struct TxnResult {
  bool succeeded = false;
  int64_t revision = 0;
  std::vector<RangeResult> ranges;  // the answers of the kRange ops that ran, in order
};

struct Lease {
  int64_t id = 0;
  int64_t ttl = 0;  // seconds
};

struct WatchEvent {
  enum class Type { kPut, kDelete };
  Type type = Type::kPut;
  KeyValue kv;  // for kDelete: key and mod_revision only
};

struct WatchBatch {
  int64_t revision = 0;  // header revision of this response
  std::vector<WatchEvent> events;
};

// A streaming watch on a key prefix. Not thread-safe; driven by poll() from one loop.
class Watch {
 public:
  virtual ~Watch() = default;
  // Waits up to timeout_ms for events. nullopt: nothing yet, stream alive. An error means the
  // stream is over (kEtcdUnavailable: broke, or member lost its leader; kEtcdCompacted: the
  // start revision is gone); the caller opens a new one.
  virtual Result<std::optional<WatchBatch>> poll(int timeout_ms) = 0;
};

class Etcd {
 public:
  static Result<std::unique_ptr<Etcd>> open(EtcdOptions opts);
  virtual ~Etcd() = default;

  // Range: one key, or (prefix) every key starting with `key`; revision 0: the latest.
  virtual Result<RangeResult> get(const std::string& key, bool prefix = false, int64_t revision = 0) = 0;
  virtual Result<int64_t> put(const std::string& key, const std::string& value, int64_t lease = 0) = 0;  // revision
  virtual Result<int64_t> del(const std::string& key, bool prefix = false) = 0;  // keys deleted
  virtual Result<TxnResult> txn(const std::vector<Compare>& compares, const std::vector<TxnOp>& success,
                                const std::vector<TxnOp>& failure) = 0;
  virtual Result<Lease> grant(int64_t ttl_seconds) = 0;
  // One keep-alive; kEtcdLeaseNotFound when the lease is gone (TTL 0 in the answer).
  virtual Result<int64_t> keepalive(int64_t lease_id) = 0;  // the remaining TTL
  virtual Status revoke(int64_t lease_id) = 0;
  // Every key starting with `prefix`, from `start_revision` (0: from now on).
  virtual Result<std::unique_ptr<Watch>> watch(const std::string& prefix, int64_t start_revision) = 0;
  // The endpoint the last successful request went to (for status and logs).
  virtual std::string endpoint() const = 0;
  // Requests sent since open (for the benchmark), counted per HTTP request.
  virtual uint64_t requests() const = 0;
};

}  // namespace zl::meshd
