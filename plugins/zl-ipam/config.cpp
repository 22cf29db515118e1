#include "plugins/zl-ipam/config.h"

#include <algorithm>

#include "libcni/errors.h"

namespace zl::ipam {
namespace {

using cni::fail;
using cni::JVal;
using cni::kErrInvalidConfig;

// Address blocks that can never be a pod network: the kernel treats them specially (or
// they mean "any"), so a pod given one would break, or break the host. Null when usable.
const char* unusable_for_pods(const net::IpNet& subnet) {
  static const struct {
    const char* prefix;
    const char* why;
  } kSpecial[] = {
      {"0.0.0.0/8", "overlaps 0.0.0.0/8 (\"this network\")"},
      {"127.0.0.0/8", "overlaps 127.0.0.0/8 (loopback)"},
      {"169.254.0.0/16", "overlaps 169.254.0.0/16 (link-local)"},
      {"224.0.0.0/4", "overlaps 224.0.0.0/4 (multicast)"},
      {"255.255.255.255/32", "holds 255.255.255.255 (broadcast)"},
      {"::/128", "holds :: (the unspecified address)"},
      {"::1/128", "holds ::1 (loopback)"},
      {"::ffff:0:0/96", "overlaps ::ffff:0:0/96 (IPv4-mapped)"},
      {"fe80::/10", "overlaps fe80::/10 (link-local)"},
      {"ff00::/8", "overlaps ff00::/8 (multicast)"},
  };
  for (const auto& s : kSpecial) {
    if (subnet.overlaps(*net::IpNet::parse(s.prefix))) return s.why;
  }
  return nullptr;
}

// A range's subnet: "subnet" (a CIDR) or "subnetFile" (a file holding one, written by
// zl-meshd), exactly one of them. `q` receives how messages name it.
Result<net::IpNet> range_subnet(const JVal& v, const std::string& path, std::string& q) {
  auto subnet_s = cni::get_string(v, "subnet", path + ".subnet");
  if (!subnet_s) return std::move(subnet_s).error();
  auto file = cni::get_string(v, "subnetFile", path + ".subnetFile");
  if (!file) return std::move(file).error();
  if (*subnet_s && *file) return fail(kErrInvalidConfig, path + ": set either subnet or subnetFile, not both");
  if (*file) {
    auto n = cni::read_subnet_file(**file, path + ".subnetFile");
    if (!n) return std::move(n).error();
    q = path + ".subnetFile " + cni::printable(**file) + " (" + n->str() + ")";
    return *n;
  }
  if (!*subnet_s) return fail(kErrInvalidConfig, path + ".subnet: missing (set subnet or subnetFile)");
  auto subnet = net::IpNet::parse(**subnet_s);
  if (!subnet) return fail(kErrInvalidConfig, path + ".subnet \"" + **subnet_s + "\": not a CIDR");
  q = path + ".subnet " + **subnet_s;
  return *subnet;
}

Result<Range> parse_range(const JVal& v, const std::string& path) {
  if (!v.IsObject()) return fail(kErrInvalidConfig, path + ": expected an object, got " + cni::json_snippet(v));
  std::string q;  // names the subnet and where it came from
  auto subnet = range_subnet(v, path, q);
  if (!subnet) return std::move(subnet).error();
  Range r;
  r.subnet = subnet->masked();
  const bool v4 = r.subnet.addr.is_v4();
  if (r.subnet.host_bits() == 0) return fail(kErrInvalidConfig, q + ": a /" + std::to_string(r.subnet.len) + " has no usable addresses");
  if (const char* why = unusable_for_pods(r.subnet)) return fail(kErrInvalidConfig, q + ": " + why);
  if (v4 && r.subnet.host_bits() < 2) return fail(kErrInvalidConfig, q + ": too small (needs /30 or larger)");

  net::IpAddr first = r.subnet.network().add(1);
  net::IpAddr last = v4 ? r.subnet.last().add(~net::u128{0}) : r.subnet.last();  // v4: minus broadcast

  auto addr_key = [&](const char* key, const net::IpAddr& dflt) -> Result<net::IpAddr> {
    auto s = cni::get_string(v, key, path + "." + key);
    if (!s) return std::move(s).error();
    if (!*s) return dflt;
    auto a = net::IpAddr::parse(**s);
    std::string kq = path + "." + key + " \"" + **s + "\"";
    if (!a) return fail(kErrInvalidConfig, kq + ": not an IP address");
    if (!r.subnet.contains(*a)) return fail(kErrInvalidConfig, kq + ": outside subnet " + r.subnet.str());
    return *a;
  };
  auto start = addr_key("rangeStart", first);
  if (!start) return std::move(start).error();
  auto end = addr_key("rangeEnd", last);
  if (!end) return std::move(end).error();
  auto gw = addr_key("gateway", first);
  if (!gw) return std::move(gw).error();
  r.start = *start;
  r.end = *end;
  r.gateway = *gw;
  if (r.start < first || r.start > last) {
    return fail(kErrInvalidConfig, path + ".rangeStart " + r.start.str() + ": must be between " + first.str() + " and " + last.str());
  }
  if (r.end < first || r.end > last) {
    return fail(kErrInvalidConfig, path + ".rangeEnd " + r.end.str() + ": must be between " + first.str() + " and " + last.str());
  }
  if (r.start > r.end) {
    return fail(kErrInvalidConfig, path + ": rangeStart " + r.start.str() + " is after rangeEnd " + r.end.str());
  }
  if (r.gateway == r.subnet.network() || (v4 && r.gateway == r.subnet.last())) {
    return fail(kErrInvalidConfig, path + ".gateway \"" + r.gateway.str() + "\": is the " +
                                       (r.gateway == r.subnet.network() ? "network" : "broadcast") + " address of " +
                                       r.subnet.str());
  }
  if (r.start == r.end && r.start == r.gateway) {
    return fail(kErrInvalidConfig, q + ": no address left besides the gateway " + r.gateway.str());
  }
  return r;
}

// ipam.ranges, or the single-range shorthand, into c.range_sets.
Status parse_range_sets(const JVal& ipam, ParseOptions opts, Config& c, bool& skipped) {
  // Under opts.subnet_files_optional a range whose subnetFile is not written is left out.
  auto take = [&](Result<Range> r, RangeSet& rs) -> Status {
    if (!r && opts.subnet_files_optional && r.error().code == cni::kErrTryAgainLater) {
      skipped = true;
      return {};
    }
    if (!r) return std::move(r).error();
    rs.push_back(*r);
    return {};
  };
  auto ranges = cni::get_array(ipam, "ranges", "ipam.ranges");
  if (!ranges) return std::move(ranges).error();
  if (*ranges) {
    size_t i = 0;
    for (const auto& set : (*ranges)->GetArray()) {
      std::string sp = "ipam.ranges[" + std::to_string(i++) + "]";
      if (!set.IsArray() || set.Empty()) {
        return fail(kErrInvalidConfig, sp + ": expected a non-empty list of ranges, got " + cni::json_snippet(set));
      }
      RangeSet rs;
      size_t j = 0;
      for (const auto& rv : set.GetArray()) {
        if (auto st = take(parse_range(rv, sp + "[" + std::to_string(j++) + "]"), rs); !st) return st;
      }
      if (!rs.empty()) c.range_sets.push_back(std::move(rs));
    }
  }
  // Single-range shorthand, like host-local (subnetFile counts as subnet).
  if (cni::member(ipam, "subnet") || cni::member(ipam, "subnetFile")) {
    if (*ranges) return fail(kErrInvalidConfig, "ipam: use either subnet or ranges, not both");
    RangeSet rs;
    if (auto st = take(parse_range(ipam, "ipam"), rs); !st) return st;
    if (!rs.empty()) c.range_sets.push_back(std::move(rs));
  }
  return {};
}

std::string describe(const Range& r) { return r.subnet.str() + " (" + r.start.str() + "-" + r.end.str() + ")"; }

}  // namespace

Result<Config> parse_config(const cni::NetConf& conf, ParseOptions opts) {
  if (!conf.ipam) return fail(kErrInvalidConfig, "ipam: missing");
  const JVal& ipam = *conf.ipam;
  Config c;
  c.network = conf.name;

  auto dir = cni::get_path(ipam, "dataDir", "ipam.dataDir", kDefaultDataDir);
  if (!dir) return std::move(dir).error();
  c.data_dir = std::move(*dir);

  bool skipped = false;  // a range left out: its subnetFile is not there (opts)
  if (auto s = parse_range_sets(ipam, opts, c, skipped); !s) return std::move(s).error();
  if (c.range_sets.empty() && !skipped) return fail(kErrInvalidConfig, "ipam: no ranges (set ranges or subnet)");

  // Families are uniform within a set; no two ranges anywhere overlap.
  std::vector<const Range*> all;
  for (size_t i = 0; i < c.range_sets.size(); ++i) {
    for (const auto& r : c.range_sets[i]) {
      if (r.start.family != c.range_sets[i][0].start.family) {
        return fail(kErrInvalidConfig, "ipam.ranges[" + std::to_string(i) + "]: mixes IPv4 and IPv6 (" +
                                           describe(c.range_sets[i][0]) + ", " + describe(r) + ")");
      }
      for (const Range* o : all) {
        if (o->start.family == r.start.family && r.start <= o->end && o->start <= r.end) {
          return fail(kErrInvalidConfig, "ipam: range " + describe(r) + " overlaps " + describe(*o));
        }
      }
      all.push_back(&r);
    }
  }

  auto reserved = cni::get_array(ipam, "reserved", "ipam.reserved");
  if (!reserved) return std::move(reserved).error();
  if (*reserved) {
    for (const auto& e : (*reserved)->GetArray()) {
      if (!e.IsString()) return fail(kErrInvalidConfig, "ipam.reserved: expected strings, got " + cni::json_snippet(e));
      std::string s(e.GetString(), e.GetStringLength());
      if (auto n = net::IpNet::parse(s)) {
        c.reserved.push_back(n->masked());
      } else if (auto a = net::IpAddr::parse(s)) {
        c.reserved.push_back({*a, a->bits()});
      } else {
        return fail(kErrInvalidConfig, "ipam.reserved \"" + s + "\": not an IP address or CIDR");
      }
    }
  }

  auto routes = cni::parse_routes(ipam, "routes");
  if (!routes) return std::move(routes).error().wrap("ipam");
  c.routes = std::move(*routes);
  if (auto* d = cni::member(ipam, "dns")) {
    auto dns = cni::parse_dns(*d, "ipam.dns");
    if (!dns) return std::move(dns).error();
    c.dns = std::move(*dns);
  }
  return c;
}

Result<std::vector<net::IpAddr>> requested_ips(const cni::NetConf& conf, std::string_view cni_args_ip) {
  auto raw = cni::attachment_args(conf, "ips", "IP", cni_args_ip);
  if (!raw) return std::move(raw).error();
  std::vector<net::IpAddr> out;
  for (const auto& arg : *raw) {
    auto a = net::parse_ip_or_cidr(arg.value);
    if (!a) return arg.invalid("not an IP address");
    if (std::find(out.begin(), out.end(), *a) == out.end()) out.push_back(*a);
  }
  return out;
}

}  // namespace zl::ipam
