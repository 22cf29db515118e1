// DEL, GC, STATUS and the network-wide pieces they share with ADD.
#include <algorithm>

#include "libcni/errors.h"
#include "libcni/exec.h"
#include "libnet/core/log.h"
#include "libnet/netlink/netns.h"
#include "plugins/zl-bridge/bridge.h"

namespace zl::bridge {

using net::NlSock;

Result<net::DirLock> lock_network() {
  // One lock for every network and netns of the host (nodes simulated as netns merely take
  // turns): the sections it guards are a few netlink requests long.
  return net::DirLock::acquire("/var/lib/zl-cni/bridge");
}

Result<std::vector<net::LinkInfo>> network_ports(NlSock& host, const Config& c) {
  std::vector<net::LinkInfo> out;
  auto br = net::link_by_name(host, c.bridge);
  if (!br) return std::move(br).error();
  if (!*br) return out;
  auto links = net::link_list(host);
  if (!links) return std::move(links).error();
  const std::string prefix = alias_prefix(c.network);
  for (auto& l : *links) {
    if (l.master != (*br)->index) continue;
    // Labelled for this network, or one of ours an ADD killed before it could label it.
    if (l.alias.starts_with(prefix) || (l.alias.empty() && l.kind == "veth" && is_host_veth_name(l.name))) {
      out.push_back(std::move(l));
    }
  }
  return out;
}

Status drop_rules_if_unused(NlSock& host, const Config& c) {
  auto ports = network_ports(host, c);
  if (!ports) return std::move(ports).error();
  if (!ports->empty()) return {};
  auto fw = net::open_firewall(c.firewall);
  if (!fw) return std::move(fw).error();
  return (*fw)->remove(c.network);
}

Status remove_bridge_if_unused(NlSock& host, const Config& c) {
  auto br = net::link_by_name(host, c.bridge);
  if (!br) return std::move(br).error();
  if (!*br || (*br)->kind != "bridge") return {};
  auto links = net::link_list(host);
  if (!links) return std::move(links).error();
  for (const auto& l : *links) {
    if (l.master == (*br)->index) return {};
  }
  auto s = net::link_delete(host, (*br)->index);
  if (!s && s.error().sys == ENODEV) return {};
  return s;
}

Status cmd_del(const cni::Context& ctx) {
  auto conf = parse_config(ctx);
  if (!conf) return std::move(conf).error();
  const Config& c = *conf;
  auto host = NlSock::open();
  if (!host) return std::move(host).error();
  // The host end is found by name whether or not the pod's netns still exists;
  // deleting it takes the pod end with it.
  const std::string host_name = host_veth_name(ctx.env.container_id, ctx.env.ifname);
  auto hv = net::link_by_name(*host, host_name);
  if (!hv) return std::move(hv).error();
  if (*hv) {
    auto s = net::link_delete(*host, (*hv)->index);
    if (!s && s.error().sys != ENODEV) return s;
  }
  if (auto s = cni::ipam_run(ctx, "DEL"); !s) return s;
  auto lock = lock_network();
  if (!lock) return std::move(lock).error();
  return drop_rules_if_unused(*host, c);
}

Status cmd_gc(const cni::Context& ctx) {
  auto conf = parse_config(ctx);
  if (!conf) return std::move(conf).error();
  const Config& c = *conf;
  auto host = NlSock::open();
  if (!host) return std::move(host).error();
  std::vector<std::string> valid;
  for (const auto& a : ctx.conf.valid_attachments) valid.push_back(host_veth_name(a.container_id, a.ifname));
  std::sort(valid.begin(), valid.end());
  auto ports = network_ports(*host, c);
  if (!ports) return std::move(ports).error();
  for (const auto& p : *ports) {
    if (std::binary_search(valid.begin(), valid.end(), p.name)) continue;
    net::log("gc: removing " + p.name + " (" + (p.alias.empty() ? "unlabelled" : p.alias) + ")");
    if (auto s = net::link_delete(*host, p.index); !s && s.error().sys != ENODEV) return s;
  }
  if (auto s = cni::ipam_run(ctx, "GC"); !s) return s;
  auto lock = lock_network();
  if (!lock) return std::move(lock).error();
  return drop_rules_if_unused(*host, c);
}

Status cmd_status(const cni::Context& ctx) {
  auto conf = parse_config(ctx);
  if (!conf) return std::move(conf).error();
  if (auto host = NlSock::open(); !host) {
    return cni::fail(cni::kErrNotAvailable, "netlink unavailable: " + host.error().msg);
  }
  if (auto fw = net::open_firewall(conf->firewall); !fw) {
    return cni::fail(cni::kErrNotAvailable, "firewall unavailable: " + fw.error().msg);
  }
  return cni::ipam_run(ctx, "STATUS");
}

}  // namespace zl::bridge
