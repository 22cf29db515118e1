#include "plugins/zl-ipam/allocator.h"

#include <algorithm>

#include "libcni/errors.h"

namespace zl::ipam {

using cni::fail;
using net::IpAddr;
using net::u128;

Allocator::Allocator(const Config& config, State& state) : config_(config), state_(state) {
  state_.last_reserved.resize(std::max(state_.last_reserved.size(), config_.range_sets.size()));
  reindex();
}

void Allocator::reindex() {
  taken_.clear();
  taken_.reserve(state_.allocations.size() * 2);
  for (size_t i = 0; i < state_.allocations.size(); ++i) taken_[state_.allocations[i].ip] = i;
}

const Range* Allocator::range_of(size_t set, const IpAddr& a) const {
  for (const auto& r : config_.range_sets[set])
    if (r.contains(a)) return &r;
  return nullptr;
}

const char* Allocator::unavailable(const IpAddr& a) const {
  // Any range's gateway: two sets may share a subnet, with one's gateway inside the other's range.
  for (const auto& rs : config_.range_sets)
    for (const auto& r : rs)
      if (r.gateway == a) return "it is the gateway of a range";
  for (const auto& n : config_.reserved)
    if (n.contains(a)) return "it is reserved";
  if (taken_.count(a)) return "it is already allocated";
  return nullptr;
}

std::optional<IpAddr> Allocator::find_free(size_t set) const {
  const RangeSet& rs = config_.range_sets[set];
  // Start just after the cursor when it lies in the set, else at the first range's start.
  size_t first_range = 0;
  u128 from = rs[0].start.to_u128();
  if (const auto& last = state_.last_reserved[set]) {
    for (size_t i = 0; i < rs.size(); ++i) {
      if (!rs[i].contains(*last)) continue;
      if (*last == rs[i].end) {
        first_range = (i + 1) % rs.size();
        from = rs[first_range].start.to_u128();
      } else {
        first_range = i;
        from = last->to_u128() + 1;
      }
      break;
    }
  }
  const int family = rs[0].start.family;
  // Scans [lo, hi] of one range; skips reserved blocks in one step so the cost is bounded
  // by the number of allocations and reservations, not by the size of the range.
  auto scan = [&](u128 lo, u128 hi) -> std::optional<IpAddr> {
    u128 c = lo;
    while (c <= hi) {
      IpAddr a = IpAddr::from_u128(family, c);
      u128 next = c + 1;
      bool skip = false;
      for (const auto& n : config_.reserved) {
        if (n.contains(a)) {
          skip = true;
          next = n.last().to_u128() + 1;
          break;
        }
      }
      if (!skip && !unavailable(a)) return a;
      if (next <= c || c == hi) break;  // end of the address space or of the range
      c = next;
    }
    return std::nullopt;
  };
  // Pass 1: from the cursor to the end of the set; pass 2: wrap to the cursor.
  for (size_t k = 0; k <= rs.size(); ++k) {
    size_t i = (first_range + k) % rs.size();
    const Range& r = rs[i];
    u128 lo = r.start.to_u128(), hi = r.end.to_u128();
    if (k == 0) lo = from;
    if (k == rs.size()) {  // back in the first range: only what lies before the cursor
      if (from == r.start.to_u128()) break;
      hi = from - 1;
    }
    if (lo > hi) continue;
    if (auto a = scan(lo, hi)) return a;
  }
  return std::nullopt;
}

std::vector<const Allocation*> Allocator::held_by(const std::string& id, const std::string& ifname) const {
  std::vector<const Allocation*> out;
  for (const auto& a : state_.allocations)
    if (a.container_id == id && a.ifname == ifname) out.push_back(&a);
  return out;
}

// Why a requested address was not handed out: its range set already got another one, or it
// is in no range.
Error Allocator::unusable_request(const IpAddr& a, const std::vector<cni::IpConfig>& out) const {
  std::string sets;
  for (size_t set = 0; set < config_.range_sets.size(); ++set) {
    if (range_of(set, a)) {
      return fail(cni::kErrInvalidConfig, "requested address " + a.str() + ": range set " + std::to_string(set) +
                                              " already gets " + out[set].address.addr.str() + " (one address per range set)");
    }
    for (const auto& r : config_.range_sets[set]) sets += (sets.empty() ? "" : ", ") + r.start.str() + "-" + r.end.str();
  }
  return fail(cni::kErrInvalidConfig, "requested address " + a.str() + " is in no range (" + sets + ")");
}

Result<std::vector<cni::IpConfig>> Allocator::allocate(const std::string& id, const std::string& ifname,
                                                       const std::vector<IpAddr>& requested) {
  const auto held = held_by(id, ifname);
  std::vector<bool> used(requested.size(), false);
  std::vector<Allocation> fresh;
  std::vector<std::optional<IpAddr>> cursors = state_.last_reserved;
  std::vector<cni::IpConfig> out;
  auto rollback = [&](Error e) -> Error {
    for (const auto& a : fresh) taken_.erase(a.ip);
    return e;
  };

  for (size_t set = 0; set < config_.range_sets.size(); ++set) {
    std::optional<IpAddr> pick;
    for (const Allocation* h : held)
      if (range_of(set, h->ip)) pick = h->ip;
    for (size_t i = 0; pick && i < requested.size(); ++i)
      if (requested[i] == *pick) used[i] = true;
    for (size_t i = 0; !pick && i < requested.size(); ++i) {
      if (used[i] || !range_of(set, requested[i])) continue;
      used[i] = true;
      if (const char* why = unavailable(requested[i])) {
        return rollback(fail(cni::kErrAddressUnavailable,
                             "requested address " + requested[i].str() + " is not available: " + why));
      }
      pick = requested[i];
      fresh.push_back({*pick, id, ifname});
    }
    if (!pick) {
      pick = find_free(set);
      if (!pick) {
        const auto& r0 = config_.range_sets[set][0];
        return rollback(fail(cni::kErrAddressUnavailable,
                             "no free address in range set " + std::to_string(set) + " (" + r0.subnet.str() + ")"));
      }
      fresh.push_back({*pick, id, ifname});
      cursors[set] = *pick;
      taken_[*pick] = SIZE_MAX;  // so a later set cannot pick it (sets never overlap, but be exact)
    }
    const Range* r = range_of(set, *pick);
    out.push_back({net::IpNet{*pick, r->subnet.len}, r->gateway, std::nullopt});
  }
  for (size_t i = 0; i < requested.size(); ++i) {
    if (!used[i]) return rollback(unusable_request(requested[i], out));
  }
  for (auto& a : fresh) {
    taken_[a.ip] = state_.allocations.size();
    state_.allocations.push_back(std::move(a));
  }
  state_.last_reserved = std::move(cursors);
  return out;
}

size_t Allocator::release(const std::string& id, const std::string& ifname) {
  auto& v = state_.allocations;
  size_t before = v.size();
  v.erase(std::remove_if(v.begin(), v.end(), [&](const Allocation& a) { return a.container_id == id && a.ifname == ifname; }),
          v.end());
  if (v.size() != before) reindex();
  return before - v.size();
}

size_t Allocator::gc(const std::vector<cni::Attachment>& valid) {
  auto& v = state_.allocations;
  size_t before = v.size();
  v.erase(std::remove_if(v.begin(), v.end(),
                         [&](const Allocation& a) {
                           return std::none_of(valid.begin(), valid.end(), [&](const cni::Attachment& x) {
                             return x.container_id == a.container_id && (x.ifname.empty() || x.ifname == a.ifname);
                           });
                         }),
          v.end());
  if (v.size() != before) reindex();
  return before - v.size();
}

}  // namespace zl::ipam
