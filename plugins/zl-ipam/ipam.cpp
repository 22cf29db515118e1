#include "plugins/zl-ipam/ipam.h"

#include "libcni/errors.h"
#include "plugins/zl-ipam/store.h"

namespace zl::ipam {

using cni::fail;

Result<cni::CniResult> cmd_add(const cni::Context& ctx) {
  auto config = parse_config(ctx.conf);
  if (!config) return std::move(config).error();
  auto requested = requested_ips(ctx.conf, ctx.cni_arg("IP"));
  if (!requested) return std::move(requested).error();
  auto store = Store::open(*config);
  if (!store) return std::move(store).error();
  Allocator alloc(*config, store->state());
  auto before = store->state().allocations.size();
  auto ips = alloc.allocate(ctx.env.container_id, ctx.env.ifname, *requested);
  if (!ips) return std::move(ips).error();
  if (store->state().allocations.size() != before) {
    if (auto s = store->commit(); !s) return std::move(s).error();
  }
  cni::CniResult r;
  r.ips = std::move(*ips);
  r.routes = config->routes;
  r.dns = config->dns;
  return r;
}

Status cmd_del(const cni::Context& ctx) {
  auto config = parse_config(ctx.conf, {.subnet_files_optional = true});
  if (!config) return std::move(config).error();
  auto store = Store::open(*config);
  if (!store) return std::move(store).error();
  Allocator alloc(*config, store->state());
  if (alloc.release(ctx.env.container_id, ctx.env.ifname) == 0) return {};
  return store->commit();
}

Status cmd_gc(const cni::Context& ctx) {
  auto config = parse_config(ctx.conf, {.subnet_files_optional = true});
  if (!config) return std::move(config).error();
  auto store = Store::open(*config);
  if (!store) return std::move(store).error();
  Allocator alloc(*config, store->state());
  if (alloc.gc(ctx.conf.valid_attachments) == 0) return {};
  return store->commit();
}

Status cmd_check(const cni::Context& ctx) {
  auto config = parse_config(ctx.conf);
  if (!config) return std::move(config).error();
  auto state = Store::peek(*config);
  if (!state) return std::move(state).error();
  Allocator alloc(*config, *state);
  const std::string who = ctx.env.container_id + "/" + ctx.env.ifname;
  auto held = alloc.held_by(ctx.env.container_id, ctx.env.ifname);
  if (held.empty()) return fail(cni::kErrUnknownContainer, who + " holds no address in network " + config->network);
  if (!ctx.conf.prev_result) return {};
  const auto& ips = ctx.conf.prev_result->ips;
  for (const auto* h : held) {
    bool listed = std::any_of(ips.begin(), ips.end(), [&](const cni::IpConfig& c) { return c.address.addr == h->ip; });
    if (!listed) return fail(cni::kErrCheckMismatch, who + " holds " + h->ip.str() + " but prevResult does not list it");
  }
  for (const auto& c : ips) {
    bool ours = false;
    for (size_t set = 0; set < config->range_sets.size(); ++set) ours = ours || alloc.range_of(set, c.address.addr);
    if (!ours) continue;
    bool held_it = std::any_of(held.begin(), held.end(), [&](const Allocation* h) { return h->ip == c.address.addr; });
    if (!held_it) return fail(cni::kErrCheckMismatch, "prevResult lists " + c.address.addr.str() + " but " + who + " does not hold it");
  }
  return {};
}

Status cmd_status(const cni::Context& ctx) {
  auto config = parse_config(ctx.conf);
  if (!config) {
    // A subnet file not written yet: ADD would say "try again later"; STATUS says why the
    // network cannot serve an ADD now, which is 50 for STATUS.
    if (config.error().code != cni::kErrTryAgainLater) return std::move(config).error();
    return fail(cni::kErrNotAvailable, config.error().msg);
  }
  auto state = Store::peek(*config);
  if (!state) return fail(cni::kErrNotAvailable, "state unreadable: " + state.error().msg);
  Allocator alloc(*config, *state);
  for (size_t set = 0; set < config->range_sets.size(); ++set) {
    if (!alloc.find_free(set)) {
      return fail(cni::kErrNotAvailable, "range set " + std::to_string(set) + " (" +
                                             config->range_sets[set][0].subnet.str() + ") has no free address");
    }
  }
  return {};
}

}  // namespace zl::ipam
