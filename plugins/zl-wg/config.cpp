#include "plugins/zl-wg/config.h"

#include <netdb.h>

#include <algorithm>
#include <charconv>
#include <cstdlib>
#include <map>
#include <cstring>

#include "libcni/env.h"
#include "libcni/errors.h"
#include "libnet/core/file.h"
#include "libnet/core/names.h"

namespace zl::wg {

using cni::fail;
using cni::JVal;
using cni::kErrInvalidConfig;

// "host:port" or "[v6]:port"; host may be a name (resolved now, when `resolve`).
Result<net::wg::Endpoint> parse_endpoint(const std::string& s, const std::string& path, bool resolve) {
  std::string q = path + " \"" + s + "\"";
  std::string host, port;
  if (!s.empty() && s[0] == '[') {
    auto close = s.find(']');
    if (close == std::string::npos || close + 1 >= s.size() || s[close + 1] != ':') {
      return fail(kErrInvalidConfig, q + ": expected [address]:port");
    }
    host = s.substr(1, close - 1);
    port = s.substr(close + 2);
  } else {
    auto colon = s.rfind(':');
    if (colon == std::string::npos || s.find(':') != colon) {
      return fail(kErrInvalidConfig, q + ": expected host:port (IPv6 as [address]:port)");
    }
    host = s.substr(0, colon);
    port = s.substr(colon + 1);
  }
  // Digits only: strtol would also take " 80", "+80" and "0x50".
  unsigned p = 0;
  auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), p);
  if (port.empty() || port.size() > 5 || port[0] < '0' || port[0] > '9' || ec != std::errc() ||
      end != port.data() + port.size() || p < 1 || p > 65535) {
    return fail(kErrInvalidConfig, q + ": port must be 1-65535");
  }
  net::wg::Endpoint e;
  e.port = static_cast<uint16_t>(p);
  if (auto a = net::IpAddr::parse(host)) {
    e.addr = *a;
    return e;
  }
  if (host.empty()) return fail(kErrInvalidConfig, q + ": missing host");
  if (!resolve) return fail(kErrInvalidConfig, q + ": not an IP address");
  addrinfo hints{};
  hints.ai_socktype = SOCK_DGRAM;
  addrinfo* res = nullptr;
  int rc = ::getaddrinfo(host.c_str(), nullptr, &hints, &res);
  if (rc != 0 || !res) return fail(kErrInvalidConfig, q + ": cannot resolve " + host + ": " + gai_strerror(rc));
  const sockaddr* sa = res->ai_addr;
  if (sa->sa_family == AF_INET) {
    e.addr.family = AF_INET;
    std::memcpy(e.addr.b.data(), &reinterpret_cast<const sockaddr_in*>(sa)->sin_addr, 4);
  } else {
    e.addr.family = AF_INET6;
    std::memcpy(e.addr.b.data(), &reinterpret_cast<const sockaddr_in6*>(sa)->sin6_addr, 16);
  }
  ::freeaddrinfo(res);
  return e;
}

namespace {

Result<PeerConfig> parse_peer(const JVal& v, const std::string& path) {
  if (!v.IsObject()) return fail(kErrInvalidConfig, path + ": expected an object, got " + cni::json_snippet(v));
  PeerConfig p;
  auto key = cni::get_string(v, "publicKey", path + ".publicKey");
  if (!key) return std::move(key).error();
  if (!*key) return fail(kErrInvalidConfig, path + ".publicKey: missing");
  auto k = net::key_from_base64(**key);
  if (!k) return fail(kErrInvalidConfig, path + ".publicKey \"" + **key + "\": " + k.error().msg);
  p.public_key = *k;

  auto ep = cni::get_string(v, "endpoint", path + ".endpoint");
  if (!ep) return std::move(ep).error();
  if (*ep) {
    auto e = parse_endpoint(**ep, path + ".endpoint");
    if (!e) return std::move(e).error();
    p.endpoint = *e;
    p.endpoint_text = **ep;
  }
  auto aips = cni::get_array(v, "allowedIPs", path + ".allowedIPs");
  if (!aips) return std::move(aips).error();
  if (*aips) {
    for (const auto& a : (*aips)->GetArray()) {
      auto n = a.IsString() ? net::IpNet::parse(a.GetString()) : std::nullopt;
      if (!n) return fail(kErrInvalidConfig, path + ".allowedIPs: " + cni::json_snippet(a) + " is not a CIDR");
      p.allowed_ips.push_back(n->masked());
    }
  }
  auto ka = cni::get_int(v, "persistentKeepalive", path + ".persistentKeepalive", 0, 65535);
  if (!ka) return std::move(ka).error();
  p.keepalive = static_cast<uint16_t>(ka->value_or(0));
  auto nat = cni::get_bool(v, "behindNAT", path + ".behindNAT");
  if (!nat) return std::move(nat).error();
  p.behind_nat = nat->value_or(false);
  auto psk = cni::get_string(v, "presharedKeyFile", path + ".presharedKeyFile");
  if (!psk) return std::move(psk).error();
  if (*psk) {
    if (auto s = cni::validate_path(**psk, path + ".presharedKeyFile"); !s) return std::move(s).error();
    p.preshared_key_file = **psk;
    auto loaded = net::load_key(p.preshared_key_file);  // mode, owner, format: checked here, once
    if (!loaded) return fail(kErrInvalidConfig, path + ".presharedKeyFile: " + loaded.error().msg);
    p.preshared_key = std::move(*loaded);
  }
  return p;
}

Status parse_peer_list(const JVal& list, const std::string& path, std::vector<PeerConfig>& out) {
  if (!list.IsArray()) return fail(kErrInvalidConfig, path + ": expected a list, got " + cni::json_snippet(list));
  size_t i = 0;
  for (const auto& v : list.GetArray()) {
    auto p = parse_peer(v, path + "[" + std::to_string(i++) + "]");
    if (!p) return std::move(p).error();
    out.push_back(std::move(*p));
  }
  return {};
}

}  // namespace

Result<Config> parse_device_config(const cni::NetConf& conf) {
  const JVal& root = conf.root();
  Config c;
  c.network = conf.name;
  auto ifn = cni::get_string(root, "interface", "interface");
  if (!ifn) return std::move(ifn).error();
  c.ifname = ifn->value_or(net::wg_device_name(conf.name));
  if (auto s = cni::validate_ifname(c.ifname); !s) return fail(kErrInvalidConfig, "interface: " + s.error().msg);

  auto port = cni::get_int(root, "listenPort", "listenPort", 1, 65535);
  if (!port) return std::move(port).error();
  c.listen_port = static_cast<uint16_t>(port->value_or(51820));
  auto mtu = cni::get_int(root, "mtu", "mtu", 1280, 65535);
  if (!mtu) return std::move(mtu).error();
  c.mtu = static_cast<int>(mtu->value_or(0));
  auto fwmark = cni::get_int(root, "fwmark", "fwmark", 0, UINT32_MAX);
  if (!fwmark) return std::move(fwmark).error();
  c.fwmark = static_cast<uint32_t>(fwmark->value_or(0));

  auto keyf = cni::get_path(root, "privateKeyFile", "privateKeyFile", default_key_file(conf.name));
  if (!keyf) return std::move(keyf).error();
  c.private_key_file = std::move(*keyf);

  auto impl = cni::get_string(root, "implementation", "implementation");
  if (!impl) return std::move(impl).error();
  std::string is = impl->value_or("auto");
  if (is == "auto") {
    c.implementation = Implementation::kAuto;
  } else if (is == "kernel") {
    c.implementation = Implementation::kKernel;
  } else if (is == "userspace") {
    c.implementation = Implementation::kUserspace;
  } else {
    return fail(kErrInvalidConfig, "implementation \"" + is + "\": must be auto, kernel or userspace");
  }
  auto pf = cni::get_string(root, "peersFile", "peersFile");
  if (!pf) return std::move(pf).error();
  if (*pf) {
    c.peers_file = **pf;
    if (auto s = cni::validate_path(c.peers_file, "peersFile"); !s) return std::move(s).error();
  }
  return c;
}

Result<Config> parse_config(const cni::NetConf& conf) {
  auto device = parse_device_config(conf);
  if (!device) return device;
  Config c = std::move(*device);
  const JVal& root = conf.root();
  if (const JVal* peers = cni::member(root, "peers")) {
    if (auto s = parse_peer_list(*peers, "peers", c.peers); !s) return std::move(s).error();
  }
  if (!c.peers_file.empty()) {
    // Whoever can write it routes this node's traffic: the same trust rules as a key file,
    // but readable by anyone (it holds only public keys and addresses).
    auto text = net::read_file(c.peers_file, {.follow_symlink = false, .must_own = true, .forbidden_mode = 022});
    if (!text && text.error().sys == ENOENT) {  // zl-meshd has not written it yet
      return fail(cni::kErrTryAgainLater, "peersFile " + cni::printable(c.peers_file) + ": not written yet: is zl-meshd running?");
    }
    if (!text) return fail(kErrInvalidConfig, "peersFile: " + text.error().msg);
    auto doc = cni::parse_json(*text, "peersFile " + c.peers_file);
    if (!doc) return fail(kErrInvalidConfig, doc.error().msg);
    const JVal* list = (*doc)->IsObject() ? cni::member(**doc, "peers") : doc->get();
    if (!list) return fail(kErrInvalidConfig, "peersFile " + c.peers_file + ": expected a list of peers or {\"peers\": [...]}");
    if (auto s = parse_peer_list(*list, "peersFile " + c.peers_file, c.peers); !s) return std::move(s).error();
  }
  return c;
}

Status validate_peers(const Config& c, const net::Key& own_public) {
  std::map<net::Key, size_t> keys;
  // (first address, last address, peer) of every allowed IP; sorted, overlaps are neighbours.
  struct Span {
    net::IpAddr first, last;
    size_t peer;
    const net::IpNet* net;
  };
  std::vector<Span> spans;
  for (size_t i = 0; i < c.peers.size(); ++i) {
    const auto& p = c.peers[i];
    if (p.public_key == own_public) {
      return fail(kErrInvalidConfig, "peer " + net::key_to_base64(p.public_key) + " is this node's own public key");
    }
    if (!keys.emplace(p.public_key, i).second) {
      return fail(kErrInvalidConfig, "peer " + net::key_to_base64(p.public_key) + " is listed twice");
    }
    for (const auto& a : p.allowed_ips) spans.push_back({a.network(), a.last(), i, &a});
  }
  std::sort(spans.begin(), spans.end(), [](const Span& x, const Span& y) {
    return x.first.family != y.first.family ? x.first.family < y.first.family : x.first < y.first;
  });
  // Prefixes nest or are disjoint: the spans still open at a start all contain it, so the
  // widest one stands for them, and (else we would have failed) they belong to one peer.
  size_t open = 0;
  for (size_t i = 1; i < spans.size(); ++i) {
    const Span& w = spans[open];
    const Span& cur = spans[i];
    if (w.first.family != cur.first.family || cur.first > w.last) {
      open = i;
      continue;
    }
    if (w.peer != cur.peer) {
      return fail(kErrInvalidConfig, "allowed IPs " + cur.net->str() + " of peer " +
                                         net::key_to_base64(c.peers[cur.peer].public_key) + " and " + w.net->str() +
                                         " of peer " + net::key_to_base64(c.peers[w.peer].public_key) + " overlap");
    }
    if (cur.last > w.last) open = i;
  }
  return {};
}

}  // namespace zl::wg
