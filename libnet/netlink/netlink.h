// rtnetlink over libnl (socket.cpp, link.cpp, addr.cpp, route.cpp; messages built with
// builder.h, parsed with the policies of policy.h): one owned socket, requests acknowledged with the kernel's
// extended-ACK text, dumps retried on NLM_F_DUMP_INTR, and typed helpers for the link,
// address and route operations the plugins need. Everything acts in the netns the
// socket was opened in.
#pragma once

#include <linux/netlink.h>
#include <netlink/msg.h>
#include <netlink/netlink.h>

#include <array>
#include <functional>
#include <memory>
#include <utility>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "libnet/core/ip.h"
#include "libnet/core/result.h"

namespace zl::net {

// An owned nl_msg.
struct NlMsgDeleter {
  void operator()(nl_msg* m) const { nlmsg_free(m); }
};
using NlMsg = std::unique_ptr<nl_msg, NlMsgDeleter>;

class NlSock {
 public:
  // A socket of `protocol` bound in the current network namespace.
  static Result<NlSock> open(int protocol = NETLINK_ROUTE);
  NlSock(NlSock&& o) noexcept : sk_(std::exchange(o.sk_, nullptr)) {}
  NlSock& operator=(NlSock&& o) noexcept;
  NlSock(const NlSock&) = delete;
  NlSock& operator=(const NlSock&) = delete;
  ~NlSock();
  nl_sock* get() const { return sk_; }

  // Sends `msg` and waits for its ACK; the error carries errno and the kernel's message.
  // secret: the request is wiped once sent and the replies once read.
  Status request(nl_msg* msg, std::string_view what, bool secret = false);
  // Sends many acknowledged requests without waiting for each ack in turn (the kernel handles
  // them in order); all are tried, the first failure is returned, named by `names[i]` if given.
  Status request_batch(const std::vector<NlMsg>& msgs, std::string_view what,
                       const std::vector<std::string>* names = nullptr);
  // Sends a request (dump or get) and hands each reply to `on_msg`. A dump torn by a
  // concurrent change (NLM_F_DUMP_INTR) is asked again: `make` is called once per attempt, so
  // it must also reset whatever `on_msg` accumulated.
  Status query(const std::function<NlMsg()>& make, const std::function<void(nlmsghdr*)>& on_msg,
               std::string_view what, bool secret = false);

 private:
  NlSock() = default;
  Status exchange(std::span<nl_msg* const> msgs, const std::function<void(nlmsghdr*)>* on_msg, std::string_view what,
                  const std::vector<std::string>* names, bool secret, bool* interrupted);
  nl_sock* sk_ = nullptr;
};

using Mac = std::array<uint8_t, 6>;
std::string mac_str(const Mac& m);
std::optional<Mac> parse_mac(std::string_view s);

struct LinkInfo {
  int index = 0;
  std::string name, kind, alias;
  int master = 0, mtu = 0;
  unsigned flags = 0;  // IFF_*
  Mac mac{};
  bool up() const;
};

// Lookups: nullopt when the link does not exist.
Result<std::optional<LinkInfo>> link_by_name(NlSock& s, std::string_view name);
Result<std::optional<LinkInfo>> link_by_index(NlSock& s, int index);
Result<std::vector<LinkInfo>> link_list(NlSock& s);
// The parsers behind the lookups (nullopt: not a message of that kind, or a family we do not
// keep); attributes are checked against libnl policies (policy.h): a wrong length is EBADMSG.
Result<std::optional<LinkInfo>> parse_link_message(nlmsghdr* h);

// Creates a bridge (EEXIST in Error.sys when the name is taken). A fixed MAC keeps the
// bridge's address from following its ports as they come and go.
Status bridge_create(NlSock& s, std::string_view name, int mtu, bool vlan_filtering, const std::optional<Mac>& mac);
// Creates a veth pair: `host_name` here (a port of `master` from birth when it is not 0),
// `peer_name` directly inside the netns `peer_netns_fd`.
Status veth_create(NlSock& s, std::string_view host_name, std::string_view peer_name, int peer_netns_fd, int mtu,
                   const std::optional<Mac>& peer_mac, int master = 0);
// Creates a link of a kind without options ("wireguard", "dummy"); EEXIST in Error.sys.
Status link_create(NlSock& s, std::string_view name, std::string_view kind, int mtu);
Status link_delete(NlSock& s, int index);

struct LinkChange {
  std::optional<bool> up, promisc;
  std::optional<int> master, mtu;
  std::optional<Mac> mac;
  std::optional<std::string> alias;
};
Status link_change(NlSock& s, int index, const LinkChange& c);
NlMsg link_change_message(int index, const LinkChange& c);
// Bridge port flags of a port (AF_BRIDGE): hairpin, isolation.
Status bridge_port_set(NlSock& s, int index, bool hairpin, bool isolated);
// Bridge VLAN membership of a port: `vid` as PVID/untagged, default VLAN 1 dropped.
Status bridge_port_vlan(NlSock& s, int index, int vid);

struct AddrInfo {
  int index = 0;
  IpNet addr;
  unsigned flags = 0;  // IFA_F_*
};
Result<std::vector<AddrInfo>> addr_list(NlSock& s, int family, int index = 0);
Result<std::optional<AddrInfo>> parse_addr_message(nlmsghdr* h);
// nodad: IPv6 only, skip duplicate address detection (address usable at once).
Status addr_add(NlSock& s, int index, const IpNet& addr, bool nodad);
NlMsg addr_add_message(int index, const IpNet& addr, bool nodad);
Status addr_del(NlSock& s, int index, const IpNet& addr);

struct RouteInfo {
  IpNet dst;
  std::optional<IpAddr> gw, prefsrc;
  int oif = 0, table = 254, priority = 0, mtu = 0, advmss = 0;
  int scope = 0;    // RT_SCOPE_UNIVERSE
  int protocol = 4; // RTPROT_STATIC
  int type = 1;     // RTN_UNICAST (read back: also RTN_BLACKHOLE, RTN_UNREACHABLE, …)
};
// Routes of `table` (0: all); unicast ones only unless `all_types`.
Result<std::vector<RouteInfo>> route_list(NlSock& s, int family, int table = 254, bool all_types = false);
// The route the kernel would use to reach `dst` (RTM_GETROUTE).
Result<RouteInfo> route_get(NlSock& s, const IpAddr& dst);
Result<std::optional<RouteInfo>> parse_route_message(nlmsghdr* h);
// Route requests, sent with NlSock::request or request_batch; replace: NLM_F_REPLACE
// instead of NLM_F_EXCL.
NlMsg route_add_message(const RouteInfo& r, bool replace);
NlMsg route_del_message(const RouteInfo& r);

}  // namespace zl::net
