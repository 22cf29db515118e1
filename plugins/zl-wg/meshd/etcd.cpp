#include "plugins/zl-wg/meshd/etcd.h"

#include <chrono>
#include <mutex>

#include "plugins/zl-wg/meshd/etcd_codec.h"
#include "plugins/zl-wg/meshd/http.h"

namespace zl::meshd {
namespace {

using Clock = std::chrono::steady_clock;
constexpr auto kSkipFailed = std::chrono::seconds(3);  // a failed endpoint is tried last for this long

// Which endpoint to try first, and which failed recently; shared by the client and its watches.
struct Endpoints {
  std::vector<std::string> urls;
  std::vector<Clock::time_point> failed_until;
  size_t good = 0;  // the last endpoint that answered

  // Every endpoint once, from the last good one, the recently failed ones last.
  std::vector<size_t> order() const {
    std::vector<size_t> fresh, stale;
    const auto now = Clock::now();
    for (size_t k = 0; k < urls.size(); ++k) {
      const size_t i = (good + k) % urls.size();
      (failed_until[i] > now ? stale : fresh).push_back(i);
    }
    fresh.insert(fresh.end(), stale.begin(), stale.end());
    return fresh;
  }
  void failed(size_t i) { failed_until[i] = Clock::now() + kSkipFailed; }
  void answered(size_t i) {
    good = i;
    failed_until[i] = {};
  }
};

std::string trim_slash(std::string s) {
  while (!s.empty() && s.back() == '/') s.pop_back();
  return s;
}

class EtcdWatch final : public Watch {
 public:
  EtcdWatch(std::shared_ptr<Endpoints> eps, size_t ep) : eps_(std::move(eps)), ep_(ep) {}
  Status start(const std::string& url, std::string body, const std::vector<std::string>& headers,
               const EtcdOptions& o) {
    auto s = HttpStream::start(url, std::move(body), headers, HttpTls{o.ca_file, o.cert_file, o.key_file},
                               o.connect_timeout_ms, [this](std::string_view chunk) {
                                 auto fed = lines_.feed(chunk);
                                 if (!fed) failure_ = fed.error();
                                 return fed.ok();
                               });
    if (!s) return std::move(s).error();
    stream_ = std::move(*s);
    return {};
  }

  Result<std::optional<WatchBatch>> poll(int timeout_ms) override {
    if (failure_) return *failure_;
    const auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms < 0 ? 0 : timeout_ms);
    while (true) {
      auto batch = next_buffered();
      if (!batch || *batch) return batch;
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
      auto done = stream_->drive(static_cast<int>(left < 0 ? 0 : left));
      if (!done) return fail(std::move(done).error(), true);
      if (*done) return finished();
      if (Clock::now() >= deadline) {
        batch = next_buffered();
        return batch;
      }
    }
  }

 private:
  Result<std::optional<WatchBatch>> next_buffered() {
    if (failure_) return *failure_;
    while (auto line = lines_.next()) {
      auto m = codec::parse_watch_message(*line);
      if (!m) return fail(std::move(m).error(), m.error().code == kEtcdUnavailable);
      if (!created_) {  // the first message is the "created" answer
        created_ = true;
        eps_->answered(ep_);
      }
      if (*m) return m;
    }
    return std::optional<WatchBatch>();
  }

  // The stream ended: the error etcd sent, or unavailable.
  Result<std::optional<WatchBatch>> finished() {
    if (failure_) return *failure_;
    auto rest = next_buffered();
    if (!rest || *rest) return rest;
    const long status = stream_->http_status();
    if (lines_.pending() > 0) {
      (void)lines_.feed("\n");  // the last message may lack its newline
      if (auto line = lines_.next()) {
        auto st = codec::check_answer(status, *line);
        if (!st) return fail(std::move(st).error(), st.error().code == kEtcdUnavailable);
      }
    }
    return fail(Error::make(kEtcdUnavailable, "etcd watch on " + eps_->urls[ep_] + ": stream ended (HTTP " +
                                                  std::to_string(status) + ")"),
                true);
  }

  Error fail(Error e, bool endpoint_bad) {
    if (endpoint_bad) eps_->failed(ep_);
    failure_ = e;
    return e;
  }

  std::shared_ptr<Endpoints> eps_;
  size_t ep_;
  codec::LineSplitter lines_;
  std::unique_ptr<HttpStream> stream_;
  std::optional<Error> failure_;
  bool created_ = false;
};

class EtcdClient final : public Etcd {
 public:
  explicit EtcdClient(EtcdOptions o)
      : opts_(std::move(o)), http_(HttpTls{opts_.ca_file, opts_.cert_file, opts_.key_file}, codec::kMaxAnswerBytes),
        eps_(std::make_shared<Endpoints>()) {
    for (std::string& e : opts_.endpoints) eps_->urls.push_back(trim_slash(e));
    eps_->failed_until.resize(eps_->urls.size());
  }

  Result<RangeResult> get(const std::string& key, bool prefix, int64_t revision) override {
    auto body = call("/v3/kv/range", codec::range_request(key, prefix, revision));
    if (!body) return std::move(body).error();
    return codec::parse_range(*body);
  }
  Result<int64_t> put(const std::string& key, const std::string& value, int64_t lease) override {
    auto body = call("/v3/kv/put", codec::put_request(key, value, lease));
    if (!body) return std::move(body).error();
    return codec::parse_put(*body);
  }
  Result<int64_t> del(const std::string& key, bool prefix) override {
    auto body = call("/v3/kv/deleterange", codec::delete_request(key, prefix));
    if (!body) return std::move(body).error();
    return codec::parse_delete(*body);
  }
  Result<TxnResult> txn(const std::vector<Compare>& compares, const std::vector<TxnOp>& success,
                        const std::vector<TxnOp>& failure) override {
    auto body = call("/v3/kv/txn", codec::txn_request(compares, success, failure));
    if (!body) return std::move(body).error();
    return codec::parse_txn(*body);
  }
  Result<Lease> grant(int64_t ttl_seconds) override {
    auto body = call("/v3/lease/grant", codec::grant_request(ttl_seconds));
    if (!body) return std::move(body).error();
    return codec::parse_grant(*body);
  }
  Result<int64_t> keepalive(int64_t lease_id) override {
    auto body = call("/v3/lease/keepalive", codec::lease_id_request(lease_id));
    if (!body) return std::move(body).error();
    return codec::parse_keepalive(*body);
  }
  Status revoke(int64_t lease_id) override {
    auto body = call("/v3/lease/revoke", codec::lease_id_request(lease_id));
    if (!body) return std::move(body).error();
    return {};
  }
  Result<std::unique_ptr<Watch>> watch(const std::string& prefix, int64_t start_revision) override;
  std::string endpoint() const override { return eps_->urls[eps_->good]; }
  uint64_t requests() const override { return requests_; }

 private:
  Result<std::string> call(const std::string& path, const std::string& body);
  Result<std::string> call_one(size_t ep, const std::string& path, const std::string& body);
  Status authenticate(size_t ep);
  std::vector<std::string> headers() const {
    std::vector<std::string> h{"Grpc-Metadata-hasleader: true"};
    if (!token_.empty()) h.push_back("Authorization: " + token_);
    return h;
  }

  EtcdOptions opts_;
  HttpClient http_;
  std::shared_ptr<Endpoints> eps_;
  std::string token_;
  uint64_t requests_ = 0;
};

Status EtcdClient::authenticate(size_t ep) {
  ++requests_;
  auto a = http_.post(eps_->urls[ep] + "/v3/auth/authenticate", codec::auth_request(opts_.user, opts_.password),
                      {"Grpc-Metadata-hasleader: true"}, opts_.connect_timeout_ms, opts_.request_timeout_ms);
  if (!a) return std::move(a).error();
  if (auto st = codec::check_answer(a->status, a->body); !st) return std::move(st).error().wrap("etcd authenticate as " + opts_.user);
  auto token = codec::parse_auth(a->body);
  if (!token) return std::move(token).error();
  token_ = std::move(*token);
  return {};
}

// One endpoint: authenticates when needed (again once when the token went stale).
Result<std::string> EtcdClient::call_one(size_t ep, const std::string& path, const std::string& body) {
  for (int attempt = 0;; ++attempt) {
    if (!opts_.user.empty() && token_.empty()) {
      if (auto st = authenticate(ep); !st) return std::move(st).error();
    }
    ++requests_;
    auto a = http_.post(eps_->urls[ep] + path, body, headers(), opts_.connect_timeout_ms, opts_.request_timeout_ms);
    if (!a) return std::move(a).error();
    auto st = codec::check_answer(a->status, a->body);
    if (st) return std::move(a->body);
    if (attempt == 0 && !opts_.user.empty() && codec::token_invalid(st.error())) {
      token_.clear();
      continue;
    }
    return std::move(st).error();
  }
}

// Every endpoint in turn until one answers; only unavailability moves on to the next.
Result<std::string> EtcdClient::call(const std::string& path, const std::string& body) {
  if (eps_->urls.empty()) return Error::make(kEtcdInvalid, "etcd: no endpoints");
  std::optional<Error> last;
  for (size_t ep : eps_->order()) {
    auto r = call_one(ep, path, body);
    if (r || r.error().code != kEtcdUnavailable) {
      eps_->answered(ep);
      return r;
    }
    eps_->failed(ep);
    token_.clear();  // tokens are per member (simple tokens)
    last = std::move(r).error();
  }
  return last->wrap("etcd " + path + ": no endpoint answered");
}

Result<std::unique_ptr<Watch>> EtcdClient::watch(const std::string& prefix, int64_t start_revision) {
  if (eps_->urls.empty()) return Error::make(kEtcdInvalid, "etcd: no endpoints");
  const size_t ep = eps_->order().front();
  if (!opts_.user.empty() && token_.empty()) {
    if (auto st = authenticate(ep); !st) {
      if (st.error().code == kEtcdUnavailable) eps_->failed(ep);
      return std::move(st).error();
    }
  }
  auto w = std::make_unique<EtcdWatch>(eps_, ep);
  ++requests_;
  auto st = w->start(eps_->urls[ep] + "/v3/watch", codec::watch_request(prefix, start_revision), headers(), opts_);
  if (!st) return std::move(st).error();
  return std::unique_ptr<Watch>(std::move(w));
}

}  // namespace

Result<std::unique_ptr<Etcd>> Etcd::open(EtcdOptions opts) {
  static std::once_flag once;
  static CURLcode init = CURLE_OK;
  std::call_once(once, [] { init = curl_global_init(CURL_GLOBAL_DEFAULT); });
  if (init != CURLE_OK) return Error::make(kEtcdUnavailable, std::string("curl_global_init: ") + curl_easy_strerror(init));
  if (opts.endpoints.empty()) return Error::make(kEtcdInvalid, "etcd: no endpoints");
  for (const std::string& e : opts.endpoints) {
    if (e.rfind("http://", 0) != 0 && e.rfind("https://", 0) != 0)
      return Error::make(kEtcdInvalid, "etcd endpoint \"" + e + "\": must start with http:// or https://");
  }
  if (opts.connect_timeout_ms <= 0 || opts.request_timeout_ms <= 0)
    return Error::make(kEtcdInvalid, "etcd timeouts " + std::to_string(opts.connect_timeout_ms) + "/" +
                                         std::to_string(opts.request_timeout_ms) + " ms: must be positive");
  return std::unique_ptr<Etcd>(new EtcdClient(std::move(opts)));
}

}  // namespace zl::meshd
