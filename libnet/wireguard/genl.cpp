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

namespace zl::net::wg {

std::string Endpoint::str() const {
  return addr.is_v4() ? addr.str() + ":" + std::to_string(port) : "[" + addr.str() + "]:" + std::to_string(port);
}

// ---- building SET messages -----------------------------------------------------

namespace {

bool ok(int r) { return r >= 0; }

NlMsg new_set(int family, const Update& u, size_t max_size) {
  NlMsg m(nlmsg_alloc_size(max_size));
  if (!m) return m;
  if (!genlmsg_put(m.get(), NL_AUTO_PORT, NL_AUTO_SEQ, family, 0, 0, WG_CMD_SET_DEVICE, WG_GENL_VERSION)) {
    m.reset();
    return m;
  }
  bool good = u.ifindex ? ok(nla_put_u32(m.get(), WGDEVICE_A_IFINDEX, static_cast<uint32_t>(u.ifindex)))
                        : ok(nla_put_string(m.get(), WGDEVICE_A_IFNAME, u.name.c_str()));
  if (!good) m.reset();
  return m;
}

bool put_sockaddr(nl_msg* m, const Endpoint& e) {
  if (e.addr.is_v4()) {
    sockaddr_in sin{};
    sin.sin_family = AF_INET;
    sin.sin_port = htons(e.port);
    std::memcpy(&sin.sin_addr, e.addr.b.data(), 4);
    return ok(nla_put(m, WGPEER_A_ENDPOINT, sizeof sin, &sin));
  }
  sockaddr_in6 sin6{};
  sin6.sin6_family = AF_INET6;
  sin6.sin6_port = htons(e.port);
  std::memcpy(&sin6.sin6_addr, e.addr.b.data(), 16);
  return ok(nla_put(m, WGPEER_A_ENDPOINT, sizeof sin6, &sin6));
}

// The peer's fixed attributes (all but allowed IPs); continuation parts carry only the key.
bool put_peer_head(nl_msg* m, const Peer& p, bool continuation) {
  if (!ok(nla_put(m, WGPEER_A_PUBLIC_KEY, kKeyLen, p.public_key.data()))) return false;
  if (continuation) return true;
  if (p.flags && !ok(nla_put_u32(m, WGPEER_A_FLAGS, p.flags))) return false;
  if (p.flags & WGPEER_F_REMOVE_ME) return true;
  if (p.preshared_key) {
    if (!ok(nla_put(m, WGPEER_A_PRESHARED_KEY, kKeyLen, p.preshared_key->bytes().data()))) return false;
  }
  if (p.endpoint && !put_sockaddr(m, *p.endpoint)) return false;
  if (!ok(nla_put_u16(m, WGPEER_A_PERSISTENT_KEEPALIVE_INTERVAL, p.keepalive))) return false;
  return true;
}

bool put_allowed_ip(nl_msg* m, int index, const IpNet& n) {
  nlattr* a = nla_nest_start(m, index);
  if (!a) return false;
  IpAddr net = n.network();
  if (!ok(nla_put_u16(m, WGALLOWEDIP_A_FAMILY, static_cast<uint16_t>(net.family))) ||
      !ok(nla_put(m, WGALLOWEDIP_A_IPADDR, static_cast<int>(net.size()), net.b.data())) ||
      !ok(nla_put_u8(m, WGALLOWEDIP_A_CIDR_MASK, static_cast<uint8_t>(n.len)))) {
    nla_nest_cancel(m, a);
    return false;
  }
  nla_nest_end(m, a);
  return true;
}

}  // namespace

Result<std::vector<NlMsg>> build_set_messages(int family, const Update& u, size_t max_size) {
  std::vector<NlMsg> out;
  NlMsg m = new_set(family, u, max_size);
  if (!m) return Error::from_errno(EMSGSIZE, "wireguard set: message");
  bool good = true;
  if (u.private_key) good = good && ok(nla_put(m.get(), WGDEVICE_A_PRIVATE_KEY, kKeyLen, u.private_key->bytes().data()));
  if (u.listen_port) good = good && ok(nla_put_u16(m.get(), WGDEVICE_A_LISTEN_PORT, *u.listen_port));
  if (u.fwmark) good = good && ok(nla_put_u32(m.get(), WGDEVICE_A_FWMARK, *u.fwmark));
  if (u.replace_peers) good = good && ok(nla_put_u32(m.get(), WGDEVICE_A_FLAGS, WGDEVICE_F_REPLACE_PEERS));
  if (!good) return Error::from_errno(EMSGSIZE, "wireguard set: device attributes");

  size_t peer = 0, aip = 0;
  bool continuation = false;
  while (peer < u.peers.size()) {
    nlattr* peers = nla_nest_start(m.get(), WGDEVICE_A_PEERS);
    int peers_in_msg = 0;
    bool full = !peers;
    while (!full && peer < u.peers.size()) {
      const Peer& p = u.peers[peer];
      nlattr* pn = nla_nest_start(m.get(), peers_in_msg);
      if (!pn || !put_peer_head(m.get(), p, continuation)) {
        if (pn) nla_nest_cancel(m.get(), pn);
        full = true;
        break;
      }
      bool peer_done = true;
      if (aip < p.allowed_ips.size() && !(p.flags & WGPEER_F_REMOVE_ME)) {
        nlattr* aips = nla_nest_start(m.get(), WGPEER_A_ALLOWEDIPS);
        int n = 0;
        while (aips && aip < p.allowed_ips.size() && put_allowed_ip(m.get(), n, p.allowed_ips[aip])) {
          ++n;
          ++aip;
        }
        if (!aips || n == 0) {
          // Not even one allowed IP fits beside this peer's head: start it afresh next message.
          if (aips) nla_nest_cancel(m.get(), aips);
          nla_nest_cancel(m.get(), pn);
          full = true;
          break;
        }
        nla_nest_end(m.get(), aips);
        peer_done = aip == p.allowed_ips.size();
      }
      nla_nest_end(m.get(), pn);
      ++peers_in_msg;
      if (peer_done) {
        ++peer;
        aip = 0;
        continuation = false;
      } else {
        continuation = true;  // the rest of its allowed IPs go in the next message
        full = true;
      }
    }
    if (peers_in_msg == 0) {
      if (peers) nla_nest_cancel(m.get(), peers);
      return Error::from_errno(EMSGSIZE, "wireguard set: a peer does not fit in an empty message");
    }
    nla_nest_end(m.get(), peers);
    if (peer < u.peers.size()) {
      out.push_back(std::move(m));
      m = new_set(family, u, max_size);
      if (!m) return Error::from_errno(EMSGSIZE, "wireguard set: message");
    }
  }
  out.push_back(std::move(m));
  return out;
}

NlMsg build_get_message(int family, const std::string& name) {
  NlMsg m(nlmsg_alloc());
  if (!m) return m;
  if (!genlmsg_put(m.get(), NL_AUTO_PORT, NL_AUTO_SEQ, family, 0, NLM_F_DUMP, WG_CMD_GET_DEVICE, WG_GENL_VERSION) ||
      !ok(nla_put_string(m.get(), WGDEVICE_A_IFNAME, name.c_str()))) {
    m.reset();
  }
  return m;
}

// ---- parsing ---------------------------------------------------------------------

namespace {

Error bad(const std::string& what) { return Error{EBADMSG, 0, "wireguard: malformed " + what}; }

Status parse_allowed_ip(const nlattr* a, std::vector<IpNet>& out) {
  int family = -1, mask = -1;
  const nlattr* addr = nullptr;
  const nlattr* x;
  int rem;
  nla_for_each_nested(x, a, rem) {
    switch (nla_type(x)) {
      case WGALLOWEDIP_A_FAMILY:
        if (nla_len(x) != 2) return bad("allowed IP family");
        family = nla_get_u16(const_cast<nlattr*>(x));
        break;
      case WGALLOWEDIP_A_IPADDR:
        addr = x;
        break;
      case WGALLOWEDIP_A_CIDR_MASK:
        if (nla_len(x) != 1) return bad("allowed IP mask");
        mask = nla_get_u8(const_cast<nlattr*>(x));
        break;
      default:
        break;
    }
  }
  if (family != AF_INET && family != AF_INET6) return bad("allowed IP family");
  IpNet n;
  n.addr.family = family;
  if (!addr || static_cast<size_t>(nla_len(addr)) != n.addr.size()) return bad("allowed IP address");
  std::memcpy(n.addr.b.data(), nla_data(addr), n.addr.size());
  if (mask < 0 || mask > n.addr.bits()) return bad("allowed IP mask");
  n.len = mask;
  out.push_back(n);
  return {};
}

Status parse_peer(const nlattr* a, Peer& p) {
  const nlattr* x;
  int rem;
  nla_for_each_nested(x, a, rem) {
    auto* y = const_cast<nlattr*>(x);
    switch (nla_type(x)) {
      case WGPEER_A_PUBLIC_KEY:
        if (nla_len(x) != kKeyLen) return bad("peer public key");
        std::memcpy(p.public_key.data(), nla_data(x), kKeyLen);
        break;
      case WGPEER_A_PRESHARED_KEY: {
        if (nla_len(x) != kKeyLen) return bad("peer preshared key");
        auto k = SecretKey::from_bytes(static_cast<const uint8_t*>(nla_data(x)));
        if (!k.is_zero()) p.preshared_key = std::move(k);
        break;
      }
      case WGPEER_A_FLAGS:
        if (nla_len(x) != 4) return bad("peer flags");
        p.flags = nla_get_u32(y);
        break;
      case WGPEER_A_ENDPOINT: {
        auto len = static_cast<size_t>(nla_len(x));
        if (len == sizeof(sockaddr_in)) {
          sockaddr_in sin{};
          std::memcpy(&sin, nla_data(x), sizeof sin);
          if (sin.sin_family != AF_INET) return bad("peer endpoint");
          Endpoint e;
          e.addr.family = AF_INET;
          std::memcpy(e.addr.b.data(), &sin.sin_addr, 4);
          e.port = ntohs(sin.sin_port);
          p.endpoint = e;
        } else if (len == sizeof(sockaddr_in6)) {
          sockaddr_in6 sin6{};
          std::memcpy(&sin6, nla_data(x), sizeof sin6);
          if (sin6.sin6_family != AF_INET6) return bad("peer endpoint");
          Endpoint e;
          e.addr.family = AF_INET6;
          std::memcpy(e.addr.b.data(), &sin6.sin6_addr, 16);
          e.port = ntohs(sin6.sin6_port);
          p.endpoint = e;
        } else {
          return bad("peer endpoint");
        }
        break;
      }
      case WGPEER_A_PERSISTENT_KEEPALIVE_INTERVAL:
        if (nla_len(x) != 2) return bad("peer keepalive");
        p.keepalive = nla_get_u16(y);
        break;
      case WGPEER_A_LAST_HANDSHAKE_TIME: {
        if (nla_len(x) != sizeof(__kernel_timespec)) return bad("peer handshake time");
        __kernel_timespec ts{};
        std::memcpy(&ts, nla_data(x), sizeof ts);
        p.handshake_sec = ts.tv_sec;
        p.handshake_nsec = ts.tv_nsec;
        break;
      }
      case WGPEER_A_RX_BYTES:
        if (nla_len(x) != 8) return bad("peer rx bytes");
        p.rx_bytes = nla_get_u64(y);
        break;
      case WGPEER_A_TX_BYTES:
        if (nla_len(x) != 8) return bad("peer tx bytes");
        p.tx_bytes = nla_get_u64(y);
        break;
      case WGPEER_A_ALLOWEDIPS: {
        const nlattr* ai;
        int r2;
        nla_for_each_nested(ai, x, r2) {
          if (auto s = parse_allowed_ip(ai, p.allowed_ips); !s) return s;
        }
        break;
      }
      default:
        break;  // newer kernels may add attributes
    }
  }
  return {};
}

}  // namespace

Status parse_device_message(const nlmsghdr* h, Device& d) {
  auto* hdr = const_cast<nlmsghdr*>(h);
  if (!genlmsg_valid_hdr(hdr, 0)) return bad("message header");
  nlattr* attrs = genlmsg_attrdata(static_cast<genlmsghdr*>(nlmsg_data(hdr)), 0);
  int len = genlmsg_attrlen(static_cast<genlmsghdr*>(nlmsg_data(hdr)), 0);
  bool first_peer_of_message = true;
  const nlattr* a;
  int rem;
  nla_for_each_attr(a, attrs, len, rem) {
    auto* y = const_cast<nlattr*>(a);
    switch (nla_type(a)) {
      case WGDEVICE_A_IFINDEX:
        if (nla_len(a) != 4) return bad("ifindex");
        d.ifindex = static_cast<int>(nla_get_u32(y));
        break;
      case WGDEVICE_A_IFNAME:
        if (nla_len(a) < 1 || nla_len(a) > 16) return bad("ifname");
        d.name.assign(static_cast<const char*>(nla_data(a)), strnlen(static_cast<const char*>(nla_data(a)), nla_len(a)));
        break;
      case WGDEVICE_A_PUBLIC_KEY: {
        if (nla_len(a) != kKeyLen) return bad("public key");
        Key k{};
        std::memcpy(k.data(), nla_data(a), kKeyLen);
        if (!sodium_is_zero(k.data(), kKeyLen)) d.public_key = k;
        break;
      }
      case WGDEVICE_A_LISTEN_PORT:
        if (nla_len(a) != 2) return bad("listen port");
        d.listen_port = nla_get_u16(y);
        break;
      case WGDEVICE_A_FWMARK:
        if (nla_len(a) != 4) return bad("fwmark");
        d.fwmark = nla_get_u32(y);
        break;
      case WGDEVICE_A_PEERS: {
        const nlattr* pa;
        int r2;
        nla_for_each_nested(pa, a, r2) {
          Peer p;
          if (auto s = parse_peer(pa, p); !s) return s;
          // A peer split across messages continues with its key as the first peer here.
          if (first_peer_of_message && !d.peers.empty() && d.peers.back().public_key == p.public_key) {
            auto& last = d.peers.back();
            last.allowed_ips.insert(last.allowed_ips.end(), p.allowed_ips.begin(), p.allowed_ips.end());
          } else {
            d.peers.push_back(std::move(p));
          }
          first_peer_of_message = false;
        }
        break;
      }
      default:
        break;  // WGDEVICE_A_PRIVATE_KEY is deliberately not kept
    }
  }
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
