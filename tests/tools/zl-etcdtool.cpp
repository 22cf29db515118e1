// zl-etcdtool: the etcd client of zl-meshd as a command, for the shell suites.
//   zl-etcdtool [OPTIONS] get KEY [prefix] [REV]       kv KEY VALUE MOD_REV LEASE…, then revision N
//   zl-etcdtool [OPTIONS] put KEY VALUE [LEASE]        the revision
//   zl-etcdtool [OPTIONS] del KEY [prefix]             the number deleted
//   zl-etcdtool [OPTIONS] create KEY VALUE [LEASE]     txn create-only: "created" or "exists" (exit 3)
//   zl-etcdtool [OPTIONS] grant TTL | keepalive ID | revoke ID
//   zl-etcdtool [OPTIONS] watch PREFIX REV COUNT [WAIT_MS]   COUNT events (exit 4 if not within WAIT_MS)
// OPTIONS: --endpoints A,B,C --cacert F --cert F --key F --user U --password P
//          --connect-timeout MS --timeout MS --stats (requests and endpoint on stderr)
// Errors: "error NAME: message" on stderr, exit 10 + EtcdErr (11 unavailable, 12 lease not found,
// 13 compacted, 14 auth, 15 invalid); usage errors exit 2.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "plugins/zl-wg/meshd/etcd.h"

namespace {

using namespace zl::meshd;

int fail(const zl::Error& e) {
  static const char* kNames[] = {"?", "unavailable", "lease-not-found", "compacted", "auth", "invalid"};
  const int code = e.code >= 1 && e.code <= 5 ? e.code : 0;
  std::fprintf(stderr, "error %s: %s\n", kNames[code], e.msg.c_str());
  return 10 + code;
}

int usage() {
  std::fputs("usage: zl-etcdtool [--endpoints A,B] [--cacert F --cert F --key F] [--user U --password P]\n"
             "       [--connect-timeout MS] [--timeout MS] [--stats]\n"
             "       get KEY [prefix] [REV] | put KEY VALUE [LEASE] | del KEY [prefix] | create KEY VALUE [LEASE]\n"
             "       grant TTL | keepalive ID | revoke ID | watch PREFIX REV COUNT [WAIT_MS]\n",
             stderr);
  return 2;
}

std::vector<std::string> split(const std::string& s) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= s.size()) {
    const size_t comma = s.find(',', start);
    const size_t end = comma == std::string::npos ? s.size() : comma;
    if (end > start) out.push_back(s.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

bool number(const std::string& s, int64_t& out) {
  char* end = nullptr;
  out = std::strtoll(s.c_str(), &end, 10);
  return !s.empty() && *end == '\0';
}

void print_kv(const KeyValue& kv) {
  std::printf("kv %s %s %lld %lld\n", kv.key.c_str(), kv.value.c_str(), static_cast<long long>(kv.mod_revision),
              static_cast<long long>(kv.lease));
}

int cmd_watch(Etcd& etcd, const std::vector<std::string>& a) {
  int64_t rev = 0, count = 0, wait_ms = 10000;
  if (a.size() < 4 || !number(a[2], rev) || !number(a[3], count) || (a.size() > 4 && !number(a[4], wait_ms)))
    return usage();
  auto w = etcd.watch(a[1], rev);
  if (!w) return fail(w.error());
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(wait_ms);
  int64_t seen = 0;
  while (seen < count) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      std::fprintf(stderr, "timeout: %lld of %lld events\n", static_cast<long long>(seen), static_cast<long long>(count));
      return 4;
    }
    auto b = (*w)->poll(static_cast<int>(left.count()));
    if (!b) return fail(b.error());
    if (!*b) continue;
    for (const WatchEvent& ev : (*b)->events) {
      if (ev.type == WatchEvent::Type::kPut)
        std::printf("PUT %s %s %lld\n", ev.kv.key.c_str(), ev.kv.value.c_str(), static_cast<long long>(ev.kv.mod_revision));
      else
        std::printf("DELETE %s %lld\n", ev.kv.key.c_str(), static_cast<long long>(ev.kv.mod_revision));
      ++seen;
    }
    std::fflush(stdout);
  }
  return 0;
}

int cmd_kv(Etcd& etcd, const std::vector<std::string>& a) {
  const std::string& cmd = a[0];
  int64_t n = 0;
  if (cmd == "get" && a.size() >= 2) {
    const bool prefix = a.size() > 2 && a[2] == "prefix";
    if (a.size() > 3 && !number(a[3], n)) return usage();
    auto r = etcd.get(a[1], prefix, n);
    if (!r) return fail(r.error());
    for (const KeyValue& kv : r->kvs) print_kv(kv);
    std::printf("revision %lld\n", static_cast<long long>(r->revision));
    return 0;
  }
  if (cmd == "put" && a.size() >= 3) {
    if (a.size() > 3 && !number(a[3], n)) return usage();
    auto r = etcd.put(a[1], a[2], n);
    if (!r) return fail(r.error());
    std::printf("%lld\n", static_cast<long long>(*r));
    return 0;
  }
  if (cmd == "del" && a.size() >= 2) {
    auto r = etcd.del(a[1], a.size() > 2 && a[2] == "prefix");
    if (!r) return fail(r.error());
    std::printf("%lld\n", static_cast<long long>(*r));
    return 0;
  }
  if (cmd == "create" && a.size() >= 3) {
    if (a.size() > 3 && !number(a[3], n)) return usage();
    auto r = etcd.txn({Compare{.key = a[1], .target = Compare::Target::kCreate, .op = Compare::Op::kEqual, .number = 0}},
                      {TxnOp{.kind = TxnOp::Kind::kPut, .key = a[1], .value = a[2], .lease = n}},
                      {TxnOp{.kind = TxnOp::Kind::kRange, .key = a[1]}});
    if (!r) return fail(r.error());
    std::printf("%s\n", r->succeeded ? "created" : "exists");
    for (const RangeResult& rr : r->ranges)
      for (const KeyValue& kv : rr.kvs) print_kv(kv);
    return r->succeeded ? 0 : 3;
  }
  return usage();
}

int cmd_lease(Etcd& etcd, const std::vector<std::string>& a) {
  int64_t n = 0;
  if (a.size() != 2 || !number(a[1], n)) return usage();
  if (a[0] == "grant") {
    auto r = etcd.grant(n);
    if (!r) return fail(r.error());
    std::printf("%lld %lld\n", static_cast<long long>(r->id), static_cast<long long>(r->ttl));
  } else if (a[0] == "keepalive") {
    auto r = etcd.keepalive(n);
    if (!r) return fail(r.error());
    std::printf("%lld\n", static_cast<long long>(*r));
  } else {
    auto r = etcd.revoke(n);
    if (!r) return fail(r.error());
    std::printf("revoked\n");
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  EtcdOptions o;
  o.endpoints = {"http://127.0.0.1:2379"};
  bool stats = false;
  std::vector<std::string> args;
  for (int i = 1; i < argc; ++i) {
    const std::string_view a = argv[i];
    const bool has_value = i + 1 < argc;
    int64_t n = 0;
    if (a == "--stats") {
      stats = true;
    } else if (a.rfind("--", 0) == 0 && has_value) {
      const std::string v = argv[++i];
      if (a == "--endpoints") o.endpoints = split(v);
      else if (a == "--cacert") o.ca_file = v;
      else if (a == "--cert") o.cert_file = v;
      else if (a == "--key") o.key_file = v;
      else if (a == "--user") o.user = v;
      else if (a == "--password") o.password = v;
      else if (a == "--connect-timeout" && number(v, n)) o.connect_timeout_ms = static_cast<int>(n);
      else if (a == "--timeout" && number(v, n)) o.request_timeout_ms = static_cast<int>(n);
      else return usage();
    } else {
      args.emplace_back(a);
    }
  }
  if (args.empty()) return usage();
  auto etcd = Etcd::open(o);
  if (!etcd) return fail(etcd.error());
  const std::string& cmd = args[0];
  int rc = cmd == "watch"                                                      ? cmd_watch(**etcd, args)
           : cmd == "grant" || cmd == "keepalive" || cmd == "revoke" ? cmd_lease(**etcd, args)
                                                                              : cmd_kv(**etcd, args);
  if (stats)
    std::fprintf(stderr, "requests %llu endpoint %s\n", static_cast<unsigned long long>((*etcd)->requests()),
                 (*etcd)->endpoint().c_str());
  return rc;
}
