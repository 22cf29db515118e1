// The libcurl layer of the etcd client: a reused easy handle for unary POSTs (keep-alive), and a
// streaming POST driven without blocking beyond a timeout (its own multi handle).
#pragma once

#include <curl/curl.h>

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "libnet/core/result.h"

namespace zl::meshd {

struct HttpTls {
  std::string ca_file, cert_file, key_file;
};

struct HttpAnswer {
  long status = 0;
  std::string body;
};

struct CurlEasyFree {
  void operator()(CURL* c) const { curl_easy_cleanup(c); }
};
struct CurlMultiFree {
  void operator()(CURLM* m) const { curl_multi_cleanup(m); }
};
struct CurlSlistFree {
  void operator()(curl_slist* l) const { curl_slist_free_all(l); }
};
using CurlEasy = std::unique_ptr<CURL, CurlEasyFree>;
using CurlMulti = std::unique_ptr<CURLM, CurlMultiFree>;
using CurlHeaders = std::unique_ptr<curl_slist, CurlSlistFree>;

// Unary POSTs on one connection-reusing handle. Transport failures (refused, timed out, TLS)
// are kEtcdUnavailable; an answer over max_body bytes is kEtcdInvalid.
class HttpClient {
 public:
  HttpClient(HttpTls tls, size_t max_body);
  Result<HttpAnswer> post(const std::string& url, std::string_view body, const std::vector<std::string>& headers,
                          int connect_timeout_ms, int timeout_ms);

 private:
  HttpTls tls_;
  size_t max_body_;
  CurlEasy easy_;
};

// One streaming POST; every received chunk goes to on_data (false: abort the transfer).
class HttpStream {
 public:
  using OnData = std::function<bool(std::string_view)>;
  static Result<std::unique_ptr<HttpStream>> start(const std::string& url, std::string body,
                                                   const std::vector<std::string>& headers, const HttpTls& tls,
                                                   int connect_timeout_ms, OnData on_data);
  ~HttpStream();
  // Runs the transfer for up to timeout_ms (returns early after data arrived). false: still
  // running; true: finished (see done_status and http_status); an error when the transfer failed.
  Result<bool> drive(int timeout_ms);
  long http_status() const;

 private:
  HttpStream() = default;
  static size_t on_write(char* p, size_t size, size_t n, void* self);
  std::string body_;
  OnData on_data_;
  CurlHeaders headers_;
  CurlEasy easy_;
  CurlMulti multi_;
  bool added_ = false, got_data_ = false;
};

}  // namespace zl::meshd
