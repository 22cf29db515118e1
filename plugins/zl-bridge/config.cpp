#include "plugins/zl-bridge/config.h"

#include "libcni/errors.h"
#include "libnet/core/names.h"

namespace zl::bridge {

using cni::fail;
using cni::kErrInvalidConfig;

std::string alias_prefix(std::string_view network) { return "zl-cni:" + std::string(network) + ":"; }

std::string host_veth_alias(std::string_view network, std::string_view container_id, std::string_view ifname) {
  // The kernel keeps at most 255 bytes (IFALIASZ - 1): a long container ID is cut, which only
  // shortens what operators see — GC matches links by their derived names, not by alias.
  constexpr size_t kMax = 255;
  std::string alias = alias_prefix(network) + std::string(container_id) + ":" + std::string(ifname);
  if (alias.size() <= kMax) return alias;
  std::string tail = "...:" + std::string(ifname);
  return alias.substr(0, kMax - tail.size()) + tail;
}

static Result<bool> flag(const cni::JVal& root, const char* key) {
  auto v = cni::get_bool(root, key, key);
  if (!v) return std::move(v).error();
  return v->value_or(false);
}

// firewallBackend and masqExclude.
static Status parse_firewall(const cni::JVal& root, Config& c) {
  auto fw = cni::get_string(root, "firewallBackend", "firewallBackend");
  if (!fw) return std::move(fw).error();
  if (*fw) {
    auto b = net::parse_firewall_backend(**fw);
    if (!b) return fail(kErrInvalidConfig, "firewallBackend \"" + **fw + "\": must be auto, iptables or nftables");
    c.firewall = *b;
  }

  auto excl = cni::get_array(root, "masqExclude", "masqExclude");
  if (!excl) return std::move(excl).error();
  if (*excl) {
    for (const auto& e : (*excl)->GetArray()) {
      auto n = e.IsString() ? net::IpNet::parse(e.GetString()) : std::nullopt;
      if (!n) return fail(kErrInvalidConfig, "masqExclude: " + cni::json_snippet(e) + " is not a CIDR");
      c.masq_exclude.push_back(n->masked());
    }
  }

  return {};
}

Result<Config> parse_config(const cni::Context& ctx) {
  const cni::NetConf& conf = ctx.conf;
  const cni::JVal& root = conf.root();
  Config c;
  c.network = conf.name;

  auto br = cni::get_string(root, "bridge", "bridge");
  if (!br) return std::move(br).error();
  c.bridge = br->value_or(net::bridge_name(conf.name));
  if (auto s = cni::validate_ifname(c.bridge); !s) {
    return fail(kErrInvalidConfig, "bridge: " + s.error().msg);
  }

  struct {
    const char* key;
    bool* dst;
  } flags[] = {{"isGateway", &c.is_gateway},       {"isDefaultGateway", &c.is_default_gateway},
               {"forceAddress", &c.force_address}, {"ipMasq", &c.ip_masq},
               {"hairpinMode", &c.hairpin},        {"promiscMode", &c.promisc},
               {"portIsolation", &c.port_isolation}, {"enableDad", &c.enable_dad}};
  for (auto& f : flags) {
    auto v = flag(root, f.key);
    if (!v) return std::move(v).error();
    *f.dst = *v;
  }
  if (c.is_default_gateway) c.is_gateway = true;
  if (c.hairpin && c.promisc) {
    return fail(kErrInvalidConfig, "hairpinMode and promiscMode: cannot both be true (promiscMode already reflects traffic)");
  }
  auto mac_spoof = flag(root, "macspoofchk");
  if (!mac_spoof) return std::move(mac_spoof).error();
  if (*mac_spoof) return fail(cni::kErrUnsupportedField, "macspoofchk: not supported by zl-bridge");

  auto mtu = cni::get_int(root, "mtu", "mtu", 68, 65535);
  if (!mtu) return std::move(mtu).error();
  c.mtu = static_cast<int>(mtu->value_or(0));
  auto vlan = cni::get_int(root, "vlan", "vlan", 0, 4094);
  if (!vlan) return std::move(vlan).error();
  c.vlan = static_cast<int>(vlan->value_or(0));

  if (auto s = parse_firewall(root, c); !s) return std::move(s).error();
  if (!conf.ipam || conf.ipam_type.empty()) return fail(kErrInvalidConfig, "ipam.type: missing");

  auto mac = cni::attachment_arg(conf, "mac", "MAC", ctx.cni_arg("MAC"));
  if (!mac) return std::move(mac).error();
  if (*mac) {
    auto m = net::parse_mac((*mac)->value);
    if (!m || ((*m)[0] & 1)) return (*mac)->invalid("not a unicast MAC address");
    c.mac = m;
  }
  return c;
}

}  // namespace zl::bridge
