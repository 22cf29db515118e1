#include "plugins/zl-wg/meshd/http.h"

#include <chrono>

#include "plugins/zl-wg/meshd/etcd.h"

namespace zl::meshd {
namespace {

struct Sink {
  std::string* body;
  size_t max;
  bool overflow = false;
};

size_t collect(char* p, size_t size, size_t n, void* user) {
  auto* sink = static_cast<Sink*>(user);
  if (sink->body->size() + size * n > sink->max) {
    sink->overflow = true;
    return 0;  // aborts the transfer
  }
  sink->body->append(p, size * n);
  return size * n;
}

void set_tls(CURL* c, const HttpTls& tls) {
  if (!tls.ca_file.empty()) curl_easy_setopt(c, CURLOPT_CAINFO, tls.ca_file.c_str());
  if (!tls.cert_file.empty()) curl_easy_setopt(c, CURLOPT_SSLCERT, tls.cert_file.c_str());
  if (!tls.key_file.empty()) curl_easy_setopt(c, CURLOPT_SSLKEY, tls.key_file.c_str());
}

CurlHeaders make_headers(const std::vector<std::string>& headers) {
  curl_slist* list = curl_slist_append(nullptr, "Content-Type: application/json");
  for (const std::string& h : headers) list = curl_slist_append(list, h.c_str());
  return CurlHeaders(list);
}

void set_common(CURL* c, const std::string& url, int connect_timeout_ms) {
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(connect_timeout_ms));
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(c, CURLOPT_TCP_KEEPALIVE, 1L);
  curl_easy_setopt(c, CURLOPT_PROXY, "");  // etcd is never reached through an http_proxy
}

Error transport_error(CURLcode rc, const std::string& url, const char* detail) {
  std::string msg = "etcd " + url + ": " + curl_easy_strerror(rc);
  if (detail && *detail) msg += std::string(" (") + detail + ")";
  // Our certificate files unusable or the member's certificate not trusted: no retry helps.
  const bool tls_config = rc == CURLE_PEER_FAILED_VERIFICATION || rc == CURLE_SSL_CERTPROBLEM ||
                          rc == CURLE_SSL_CACERT_BADFILE;
  return Error::make(tls_config ? kEtcdAuth : kEtcdUnavailable, std::move(msg));
}

}  // namespace

HttpClient::HttpClient(HttpTls tls, size_t max_body) : tls_(std::move(tls)), max_body_(max_body) {}

Result<HttpAnswer> HttpClient::post(const std::string& url, std::string_view body,
                                    const std::vector<std::string>& headers, int connect_timeout_ms, int timeout_ms) {
  if (!easy_) easy_.reset(curl_easy_init());
  if (!easy_) return Error::make(kEtcdUnavailable, "curl_easy_init failed");
  CURL* c = easy_.get();
  curl_easy_reset(c);  // keeps the connection cache
  HttpAnswer answer;
  Sink sink{&answer.body, max_body_};
  char detail[CURL_ERROR_SIZE] = "";
  CurlHeaders list = make_headers(headers);
  set_common(c, url, connect_timeout_ms);
  set_tls(c, tls_);
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, detail);
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, static_cast<long>(timeout_ms));
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, list.get());
  curl_easy_setopt(c, CURLOPT_POSTFIELDS, body.data());
  curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &sink);
  const CURLcode rc = curl_easy_perform(c);
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, nullptr);
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, nullptr);
  if (sink.overflow) return Error::make(kEtcdInvalid, "etcd " + url + ": answer over " + std::to_string(max_body_) + " bytes");
  if (rc != CURLE_OK) return transport_error(rc, url, detail);
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &answer.status);
  return answer;
}

Result<std::unique_ptr<HttpStream>> HttpStream::start(const std::string& url, std::string body,
                                                      const std::vector<std::string>& headers, const HttpTls& tls,
                                                      int connect_timeout_ms, OnData on_data) {
  std::unique_ptr<HttpStream> s(new HttpStream());
  s->body_ = std::move(body);
  s->on_data_ = std::move(on_data);
  s->headers_ = make_headers(headers);
  s->easy_.reset(curl_easy_init());
  s->multi_.reset(curl_multi_init());
  if (!s->easy_ || !s->multi_) return Error::make(kEtcdUnavailable, "curl init failed");
  CURL* c = s->easy_.get();
  set_common(c, url, connect_timeout_ms);
  set_tls(c, tls);
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, s->headers_.get());
  curl_easy_setopt(c, CURLOPT_POSTFIELDS, s->body_.data());
  curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(s->body_.size()));
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_write);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, s.get());
  if (curl_multi_add_handle(s->multi_.get(), c) != CURLM_OK) return Error::make(kEtcdUnavailable, "curl_multi_add_handle failed");
  s->added_ = true;
  return s;
}

HttpStream::~HttpStream() {
  if (added_) curl_multi_remove_handle(multi_.get(), easy_.get());
}

size_t HttpStream::on_write(char* p, size_t size, size_t n, void* self) {
  auto* s = static_cast<HttpStream*>(self);
  s->got_data_ = true;
  return s->on_data_(std::string_view(p, size * n)) ? size * n : 0;
}

Result<bool> HttpStream::drive(int timeout_ms) {
  using Clock = std::chrono::steady_clock;
  const auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms < 0 ? 0 : timeout_ms);
  got_data_ = false;
  while (true) {
    int running = 0;
    if (curl_multi_perform(multi_.get(), &running) != CURLM_OK) return Error::make(kEtcdUnavailable, "curl_multi_perform failed");
    int left = 0;
    while (CURLMsg* m = curl_multi_info_read(multi_.get(), &left)) {
      if (m->msg != CURLMSG_DONE) continue;
      if (m->data.result == CURLE_WRITE_ERROR) return true;  // on_data refused: the caller knows why
      if (m->data.result != CURLE_OK) return transport_error(m->data.result, "watch", nullptr);
      return true;
    }
    if (running == 0) return true;
    const auto now = Clock::now();
    if (got_data_ || now >= deadline) return false;
    const int wait = static_cast<int>(std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now).count());
    if (curl_multi_poll(multi_.get(), nullptr, 0, wait < 1 ? 1 : wait, nullptr) != CURLM_OK)
      return Error::make(kEtcdUnavailable, "curl_multi_poll failed");
  }
}

long HttpStream::http_status() const {
  long status = 0;
  curl_easy_getinfo(easy_.get(), CURLINFO_RESPONSE_CODE, &status);
  return status;
}

}  // namespace zl::meshd
