#include "libnet/wireguard/wireguard.h"

#include <arpa/inet.h>
#include <linux/genetlink.h>
#include <linux/time_types.h>
#include <linux/wireguard.h>
#include <netinet/in.h>
#include <netlink/attr.h>
#include <netlink/genl/ctrl.h>
#include <netlink/genl/genl.h>
#include <sodium.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <cstring>

#include "libnet/netlink/builder.h"
#include "libnet/netlink/policy.h"

namespace zl::net::wg {

std::string Endpoint::str() const {
  return addr.is_v4() ? addr.str() + ":" + std::to_string(port) : "[" + addr.str() + "]:" + std::to_string(port);
}

// ---- building SET messages -----------------------------------------------------

namespace {

NlBuilder new_set(int family, const Update& u, size_t max_size) {
  NlMsg m(nlmsg_alloc_size(max_size));
  if (m && !genlmsg_put(m.get(), NL_AUTO_PORT, NL_AUTO_SEQ, family, 0, 0, WG_CMD_SET_DEVICE, WG_GENL_VERSION)) m.reset();
  NlBuilder b(std::move(m), "wireguard set " + (u.name.empty() ? std::to_string(u.ifindex) : u.name));
  if (u.ifindex) b.u32(ZL_ATTR(WGDEVICE_A_IFINDEX), static_cast<uint32_t>(u.ifindex));
  else b.str(ZL_ATTR(WGDEVICE_A_IFNAME), u.name);
  return b;
}

void put_device(NlBuilder& b, const Update& u) {
  if (u.private_key) b.bytes(ZL_ATTR(WGDEVICE_A_PRIVATE_KEY), u.private_key->bytes());
  if (u.listen_port) b.u16(ZL_ATTR(WGDEVICE_A_LISTEN_PORT), *u.listen_port);
  if (u.fwmark) b.u32(ZL_ATTR(WGDEVICE_A_FWMARK), *u.fwmark);
  if (u.replace_peers) b.u32(ZL_ATTR(WGDEVICE_A_FLAGS), WGDEVICE_F_REPLACE_PEERS);
}

void put_sockaddr(NlBuilder& b, const Endpoint& e) {
  if (e.addr.is_v4()) {
    sockaddr_in sin{};
    sin.sin_family = AF_INET;
    sin.sin_port = htons(e.port);
    std::memcpy(&sin.sin_addr, e.addr.b.data(), 4);
    b.put(ZL_ATTR(WGPEER_A_ENDPOINT), &sin, sizeof sin);
    return;
  }
  sockaddr_in6 sin6{};
  sin6.sin6_family = AF_INET6;
  sin6.sin6_port = htons(e.port);
  std::memcpy(&sin6.sin6_addr, e.addr.b.data(), 16);
  b.put(ZL_ATTR(WGPEER_A_ENDPOINT), &sin6, sizeof sin6);
}

// The peer's fixed attributes (all but allowed IPs); continuation parts carry only the key.
bool put_peer_head(NlBuilder& b, const Peer& p, bool continuation) {
  b.bytes(ZL_ATTR(WGPEER_A_PUBLIC_KEY), p.public_key);
  if (continuation) return b.ok();
  if (p.flags) b.u32(ZL_ATTR(WGPEER_A_FLAGS), p.flags);
  if (p.flags & WGPEER_F_REMOVE_ME) return b.ok();
  if (p.preshared_key) b.bytes(ZL_ATTR(WGPEER_A_PRESHARED_KEY), p.preshared_key->bytes());
  if (p.endpoint) put_sockaddr(b, *p.endpoint);
  b.u16(ZL_ATTR(WGPEER_A_PERSISTENT_KEEPALIVE_INTERVAL), p.keepalive);
  return b.ok();
}

bool put_allowed_ip(NlBuilder& b, int index, const IpNet& n) {
  Nest a = b.nest(NlAttr{index, "WGPEER_A_ALLOWEDIPS entry"});
  IpAddr net = n.network();
  b.u16(ZL_ATTR(WGALLOWEDIP_A_FAMILY), static_cast<uint16_t>(net.family));
  b.addr(ZL_ATTR(WGALLOWEDIP_A_IPADDR), net);
  b.u8(ZL_ATTR(WGALLOWEDIP_A_CIDR_MASK), static_cast<uint8_t>(n.len));
  return a.close();  // cancelled, and false, when any of it did not fit
}

// Where a SET split across messages has got to.
struct Cursor {
  size_t peer = 0, aip = 0;
  bool continuation = false;  // the peer's head went out already; this part carries its key only
};

bool wants_allowed_ips(const Peer& p, const Cursor& c) {
  return c.aip < p.allowed_ips.size() && !(p.flags & WGPEER_F_REMOVE_ME);
}

// Puts peer entry `index`: its head and as many of its allowed IPs as fit (at least one when
// it has any); false, with nothing of it left in the message, otherwise.
bool put_peer(NlBuilder& b, int index, const Peer& p, Cursor& c) {
  Nest pn = b.nest(NlAttr{index, "WGDEVICE_A_PEERS entry"});
  if (!put_peer_head(b, p, c.continuation)) return false;
  if (wants_allowed_ips(p, c)) {
    Nest aips = b.nest(ZL_ATTR(WGPEER_A_ALLOWEDIPS));
    int n = 0;
    while (c.aip < p.allowed_ips.size() && put_allowed_ip(b, n, p.allowed_ips[c.aip])) {
      ++n;
      ++c.aip;
    }
    if (n == 0) return false;  // not even one allowed IP fits beside the head: next message
    b.recover();               // the allowed IP that did not fit was cancelled
    (void)aips.close();
  }
  return pn.close();
}

// Fills WGDEVICE_A_PEERS of one message from `c` on, as far as it goes.
Status put_peers(NlBuilder& b, const std::vector<Peer>& peers, Cursor& c) {
  Nest nest = b.nest(ZL_ATTR(WGDEVICE_A_PEERS));
  int in_msg = 0;
  while (c.peer < peers.size()) {
    const Peer& p = peers[c.peer];
    if (!put_peer(b, in_msg, p, c)) break;
    ++in_msg;
    if (wants_allowed_ips(p, c)) {
      c.continuation = true;  // the rest of its allowed IPs go in the next message
      break;
    }
    ++c.peer;
    c.aip = 0;
    c.continuation = false;
  }
  if (in_msg == 0) {
    Status why = b.status();
    return Error{EMSGSIZE, 0, (why ? std::string("wireguard set") : why.error().msg) +
                                  " (a peer does not fit in an empty message)"};
  }
  b.recover();
  (void)nest.close();
  return {};
}

}  // namespace

Result<std::vector<NlMsg>> build_set_messages(int family, const Update& u, size_t max_size) {
  std::vector<NlMsg> out;
  Cursor c;
  do {
    NlBuilder b = new_set(family, u, max_size);
    if (out.empty()) put_device(b, u);
    if (!b.ok()) return b.status().error();
    if (c.peer < u.peers.size()) {
      if (auto st = put_peers(b, u.peers, c); !st) return std::move(st).error();
    }
    auto m = b.take();
    if (!m) return std::move(m).error();
    out.push_back(std::move(*m));
  } while (c.peer < u.peers.size());
  return out;
}

NlMsg build_get_message(int family, const std::string& name) {
  NlMsg m(nlmsg_alloc());
  if (m && !genlmsg_put(m.get(), NL_AUTO_PORT, NL_AUTO_SEQ, family, 0, NLM_F_DUMP, WG_CMD_GET_DEVICE, WG_GENL_VERSION)) {
    m.reset();
  }
  NlBuilder b(std::move(m), "wireguard get " + name);
  b.str(ZL_ATTR(WGDEVICE_A_IFNAME), name);
  return b.take_or_null();
}

// ---- parsing ---------------------------------------------------------------------
// Lengths are checked by the policies (policy.h) before anything is read.

namespace {

constexpr const char* kDeviceNames[] = {nullptr, "ifindex", "ifname", "private key", "public key",
                                        "flags", "listen port", "fwmark", "peers"};
constexpr const char* kPeerNames[] = {nullptr, "peer public key", "peer preshared key", "peer flags",
                                      "peer endpoint", "peer keepalive", "peer handshake time",
                                      "peer rx bytes", "peer tx bytes", "peer allowed IPs",
                                      "peer protocol version"};
constexpr const char* kAllowedIpNames[] = {nullptr, "allowed IP family", "allowed IP address", "allowed IP mask"};

Error bad(const std::string& what) { return Error{EBADMSG, 0, "wireguard: malformed " + what}; }

Status parse_allowed_ip(const nlattr* a, std::vector<IpNet>& out) {
  nlattr* tb[WGALLOWEDIP_A_MAX + 1];
  if (auto st = nl_parse_nested(tb, WGALLOWEDIP_A_MAX, a, policy::wg_allowed_ip(), "wireguard", kAllowedIpNames); !st) {
    return st;
  }
  if (!tb[WGALLOWEDIP_A_FAMILY] || !tb[WGALLOWEDIP_A_IPADDR] || !tb[WGALLOWEDIP_A_CIDR_MASK]) {
    return bad("allowed IP (family, address or mask missing)");
  }
  const int family = nla_get_u16(tb[WGALLOWEDIP_A_FAMILY]);
  if (family != AF_INET && family != AF_INET6) return bad("allowed IP family");
  auto ip = nl_get_addr(tb[WGALLOWEDIP_A_IPADDR], family, "wireguard: malformed allowed IP address");
  if (!ip) return std::move(ip).error();
  const int mask = nla_get_u8(tb[WGALLOWEDIP_A_CIDR_MASK]);
  if (mask > ip->bits()) return bad("allowed IP mask");
  out.push_back(IpNet{*ip, mask});
  return {};
}

Result<Endpoint> parse_endpoint(const nlattr* x) {
  const auto len = static_cast<size_t>(nla_len(x));
  Endpoint e;
  if (len == sizeof(sockaddr_in)) {
    sockaddr_in sin{};
    std::memcpy(&sin, nla_data(x), sizeof sin);
    if (sin.sin_family != AF_INET) return bad("peer endpoint");
    e.addr.family = AF_INET;
    std::memcpy(e.addr.b.data(), &sin.sin_addr, 4);
    e.port = ntohs(sin.sin_port);
    return e;
  }
  sockaddr_in6 sin6{};
  if (len != sizeof sin6) return bad("peer endpoint");
  std::memcpy(&sin6, nla_data(x), sizeof sin6);
  if (sin6.sin6_family != AF_INET6) return bad("peer endpoint");
  e.addr.family = AF_INET6;
  std::memcpy(e.addr.b.data(), &sin6.sin6_addr, 16);
  e.port = ntohs(sin6.sin6_port);
  return e;
}

void parse_peer_counters(nlattr** tb, Peer& p) {
  if (tb[WGPEER_A_LAST_HANDSHAKE_TIME]) {
    __kernel_timespec ts{};
    std::memcpy(&ts, nla_data(tb[WGPEER_A_LAST_HANDSHAKE_TIME]), sizeof ts);
    p.handshake_sec = ts.tv_sec;
    p.handshake_nsec = ts.tv_nsec;
  }
  if (tb[WGPEER_A_RX_BYTES]) p.rx_bytes = nla_get_u64(tb[WGPEER_A_RX_BYTES]);
  if (tb[WGPEER_A_TX_BYTES]) p.tx_bytes = nla_get_u64(tb[WGPEER_A_TX_BYTES]);
}

Status parse_peer(const nlattr* a, Peer& p) {
  nlattr* tb[WGPEER_A_MAX + 1];
  if (auto st = nl_parse_nested(tb, WGPEER_A_MAX, a, policy::wg_peer(), "wireguard", kPeerNames); !st) return st;
  if (!tb[WGPEER_A_PUBLIC_KEY]) return bad("peer (no public key)");
  std::memcpy(p.public_key.data(), nla_data(tb[WGPEER_A_PUBLIC_KEY]), kKeyLen);
  if (tb[WGPEER_A_PRESHARED_KEY]) {
    auto k = SecretKey::from_bytes(static_cast<const uint8_t*>(nla_data(tb[WGPEER_A_PRESHARED_KEY])));
    if (!k.is_zero()) p.preshared_key = std::move(k);
  }
  if (tb[WGPEER_A_FLAGS]) p.flags = nla_get_u32(tb[WGPEER_A_FLAGS]);
  if (tb[WGPEER_A_ENDPOINT]) {
    auto e = parse_endpoint(tb[WGPEER_A_ENDPOINT]);
    if (!e) return std::move(e).error();
    p.endpoint = *e;
  }
  if (tb[WGPEER_A_PERSISTENT_KEEPALIVE_INTERVAL]) p.keepalive = nla_get_u16(tb[WGPEER_A_PERSISTENT_KEEPALIVE_INTERVAL]);
  parse_peer_counters(tb, p);
  if (tb[WGPEER_A_ALLOWEDIPS]) {
    const nlattr* ai;
    int rem;
    nla_for_each_nested(ai, tb[WGPEER_A_ALLOWEDIPS], rem) {
      if (auto s = parse_allowed_ip(ai, p.allowed_ips); !s) return s;
    }
  }
  return {};
}

// Folds the peers of one message into `d`: a peer split across messages continues with its
// key as the first peer of the next.
Status parse_peers(const nlattr* peers, Device& d) {
  bool first = true;
  const nlattr* pa;
  int rem;
  nla_for_each_nested(pa, peers, rem) {
    Peer p;
    if (auto s = parse_peer(pa, p); !s) return s;
    if (first && !d.peers.empty() && d.peers.back().public_key == p.public_key) {
      auto& last = d.peers.back();
      last.allowed_ips.insert(last.allowed_ips.end(), p.allowed_ips.begin(), p.allowed_ips.end());
    } else {
      d.peers.push_back(std::move(p));
    }
    first = false;
  }
  return {};
}

}  // namespace

Status parse_device_message(const nlmsghdr* h, Device& d) {
  auto* hdr = const_cast<nlmsghdr*>(h);
  if (!genlmsg_valid_hdr(hdr, 0)) return bad("message header");
  auto* gh = static_cast<genlmsghdr*>(nlmsg_data(hdr));
  nlattr* tb[WGDEVICE_A_MAX + 1];
  auto st = nl_parse_attrs(tb, WGDEVICE_A_MAX, genlmsg_attrdata(gh, 0), genlmsg_attrlen(gh, 0), policy::wg_device(),
                           "wireguard", kDeviceNames);
  if (!st) return st;
  if (tb[WGDEVICE_A_IFINDEX]) d.ifindex = static_cast<int>(nla_get_u32(tb[WGDEVICE_A_IFINDEX]));
  if (tb[WGDEVICE_A_IFNAME]) d.name = nla_get_string(tb[WGDEVICE_A_IFNAME]);
  if (tb[WGDEVICE_A_PUBLIC_KEY]) {
    Key k{};
    std::memcpy(k.data(), nla_data(tb[WGDEVICE_A_PUBLIC_KEY]), kKeyLen);
    if (!sodium_is_zero(k.data(), kKeyLen)) d.public_key = k;
  }
  if (tb[WGDEVICE_A_LISTEN_PORT]) d.listen_port = nla_get_u16(tb[WGDEVICE_A_LISTEN_PORT]);
  if (tb[WGDEVICE_A_FWMARK]) d.fwmark = nla_get_u32(tb[WGDEVICE_A_FWMARK]);
  // WGDEVICE_A_PRIVATE_KEY is deliberately not kept.
  if (tb[WGDEVICE_A_PEERS]) return parse_peers(tb[WGDEVICE_A_PEERS], d);
  return {};
}

// ---- the kernel backend ------------------------------------------------------------

namespace {

// Large enough to carry ~300 peers per request, small enough for any socket buffer.
constexpr size_t kSetMessageSize = 32768;

class Kernel final : public Backend {
 public:
  explicit Kernel(NlSock s) : sock_(std::move(s)) {}
  std::string kind() const override { return "kernel"; }

  Result<int> ensure_device(NlSock& rtnl, const std::string& name) override {
    auto l = link_by_name(rtnl, name);
    if (!l) return std::move(l).error();
    if (!*l) {
      auto s = link_create(rtnl, name, "wireguard", 0);
      if (!s && s.error().sys != EEXIST) return std::move(s).error();
      l = link_by_name(rtnl, name);
      if (!l) return std::move(l).error();
      if (!*l) return Error::from_errno(ENODEV, "wireguard device " + name + " vanished");
    }
    if ((*l)->kind != "wireguard") {
      return Error{EEXIST, 0, "link " + name + " exists and is a " + ((*l)->kind.empty() ? "device" : (*l)->kind) + ", not wireguard"};
    }
    return (*l)->index;
  }

  Result<Device> get(const std::string& name) override {
    if (auto s = resolve(); !s) return std::move(s).error();
    Device d;
    Status parsed;
    auto st = sock_.query(
        [&] {
          d = Device{};  // a retried dump starts over
          parsed = {};
          return build_get_message(family_, name);
        },
        [&](nlmsghdr* h) {
          if (parsed) parsed = parse_device_message(h, d);
        },
        "wireguard get " + name, /*secret=*/true);  // the reply carries the private key
    if (!st) return std::move(st).error();
    if (!parsed) return std::move(parsed).error();
    return d;
  }

  Status set(const Update& u) override {
    if (auto s = resolve(); !s) return s;
    auto msgs = build_set_messages(family_, u, kSetMessageSize);
    if (!msgs) return std::move(msgs).error();
    for (auto& m : *msgs) {
      if (auto s = sock_.request(m.get(), "wireguard set " + u.name, /*secret=*/true); !s) return s;
    }
    return {};
  }

 private:
  // The genetlink family appears once the module is loaded, which creating the first
  // wireguard link does on demand: resolve it lazily.
  Status resolve() {
    if (family_ > 0) return {};
    // On a socket of its own: libnl's resolver runs its own receive loop and sequence checks.
    auto ctrl = NlSock::open(NETLINK_GENERIC);
    if (!ctrl) return std::move(ctrl).error();
    family_ = genl_ctrl_resolve(ctrl->get(), WG_GENL_NAME);
    if (family_ < 0) return Error{ENOENT, 0, "kernel WireGuard is not available (no \"wireguard\" generic netlink family)"};
    return {};
  }

  NlSock sock_;
  int family_ = -1;
};

}  // namespace

Result<std::unique_ptr<Backend>> open_kernel() {
  auto s = NlSock::open(NETLINK_GENERIC);
  if (!s) return std::move(s).error();
  return std::unique_ptr<Backend>(new Kernel(std::move(*s)));
}

bool kernel_available() {
  struct stat st {};
  if (::stat("/sys/module/wireguard", &st) == 0) return true;
  utsname u{};
  if (::uname(&u) != 0) return false;
  std::string base = std::string("/lib/modules/") + u.release + "/kernel/drivers/net/wireguard/wireguard.ko";
  for (const char* ext : {"", ".xz", ".zst", ".gz"}) {
    if (::stat((base + ext).c_str(), &st) == 0) return true;
  }
  return false;
}

}  // namespace zl::net::wg
