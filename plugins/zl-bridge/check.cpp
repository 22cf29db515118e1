// CHECK: the attachment prevResult describes, planned against the kernel; a plan that is
// not empty is the report of what differs.
#include "libcni/errors.h"
#include "libcni/exec.h"
#include "plugins/zl-bridge/bridge.h"
#include "plugins/zl-bridge/plan.h"

namespace zl::bridge {

using cni::fail;
using cni::kErrCheckMismatch;

Status cmd_check(const cni::Context& ctx) {
  auto conf = parse_config(ctx);
  if (!conf) return std::move(conf).error();
  const Config& c = *conf;
  if (!ctx.conf.prev_result) return fail(cni::kErrInvalidConfig, "CHECK: prevResult is missing");
  const cni::CniResult& prev = *ctx.conf.prev_result;
  const std::string& ifname = ctx.env.ifname;

  // The container interface prevResult describes, and the addresses it assigns to it.
  int ci = -1;
  for (size_t i = 0; i < prev.interfaces.size(); ++i)
    if (prev.interfaces[i].name == ifname && !prev.interfaces[i].sandbox.empty()) ci = static_cast<int>(i);
  if (ci < 0) return fail(kErrCheckMismatch, "prevResult has no interface " + ifname + " with a sandbox");
  const std::string& mac = prev.interfaces[static_cast<size_t>(ci)].mac;
  Desired want{.host_veth = host_veth_name(ctx.env.container_id, ifname),
               .ifname = ifname,
               .alias = host_veth_alias(c.network, ctx.env.container_id, ifname),
               .pod_mac = mac.empty() ? std::nullopt : std::optional<std::string>(mac),
               .ips = {},
               .routes = prev.routes};
  for (const auto& ip : prev.ips)
    if (!ip.interface || *ip.interface == ci) want.ips.push_back(ip);

  auto host = net::NlSock::open();
  if (!host) return std::move(host).error();
  auto pod = open_pod(ctx);
  if (!pod) return std::move(pod).error();
  auto snap = take_snapshot(*host, *pod, c, want);
  if (!snap) return std::move(snap).error();
  auto plan = plan_attachment(c, want, *snap);
  if (!plan) return fail(kErrCheckMismatch, plan.error().msg);
  if (!plan->empty()) return fail(kErrCheckMismatch, plan->str() + " (in " + ctx.env.netns + ")");
  return cni::ipam_run(ctx, "CHECK");
}

}  // namespace zl::bridge
