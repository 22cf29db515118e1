// Names shared by both backends, backend selection, and the composite used when legacy xtables
// and nftables both hold the host's rules.
#include "libnet/firewall.h"

#include <net/if.h>

#include <cstdio>

#include "libnet/firewall_impl.h"

namespace zl::net {
namespace fw {

std::string network_hash(std::string_view network) {
  uint32_t h = 2166136261u;
  for (unsigned char c : network) {
    h ^= c;
    h *= 16777619u;
  }
  char buf[9];
  std::snprintf(buf, sizeof buf, "%08x", h);
  return buf;
}

std::string masq_chain(std::string_view network) { return "ZL-MASQ-" + network_hash(network); }
std::string fwd_chain(std::string_view network) { return "ZL-FWD-" + network_hash(network); }
std::string nft_table(std::string_view network) { return "zl-" + network_hash(network); }

std::string comment(std::string_view network, std::string_view purpose) {
  constexpr size_t kMaxNetwork = 64;
  std::string out(kCommentPrefix);
  if (network.size() <= kMaxNetwork) {
    out += network;
  } else {
    out += network.substr(0, kMaxNetwork - 9);
    out += '~';
    out += network_hash(network);
  }
  out += ' ';
  out += purpose;
  return out;
}

Status validate(const NetworkRules& r) {
  if (r.network.empty()) return Error::make(0, "firewall: empty network name");
  for (unsigned char c : r.network) {
    if (c < 0x20 || c == 0x7f) return Error::make(0, "firewall: network name \"" + r.network + "\": control character");
  }
  if (!r.bridge.empty()) {
    if (r.bridge.size() >= IFNAMSIZ || r.bridge == "." || r.bridge == "..")
      return Error::make(0, "firewall: bridge \"" + r.bridge + "\": not a valid interface name");
    for (unsigned char c : r.bridge) {
      if (c <= 0x20 || c == '/' || c == ':' || c == 0x7f)
        return Error::make(0, "firewall: bridge \"" + r.bridge + "\": not a valid interface name");
    }
  }
  for (const auto* list : {&r.sources, &r.exclude}) {
    for (const IpNet& n : *list) {
      if (n.addr.family != AF_INET && n.addr.family != AF_INET6)
        return Error::make(0, "firewall: prefix without an address family");
      if (n.len < 0 || n.len > n.addr.bits()) return Error::make(0, "firewall: prefix " + n.str() + ": bad length");
    }
  }
  return {};
}

}  // namespace fw

namespace {

// Used by open_firewall(kAuto): the network's rules go where the host's own rules are.
//  - only legacy xtables in use: everything in legacy xtables;
//  - otherwise (nftables in use, or nothing yet): everything in nftables;
//  - both in use: FORWARD accepts in both (an ACCEPT in one never overrides a DROP in the other),
//    masquerade in nftables only (one NAT binding is enough; both NAT hooks share one conntrack).
// Leftovers of the network in the backend not chosen are removed, so the rules live in exactly
// one place; remove() and present() always look at both.
class AutoFirewall final : public Firewall {
 public:
  enum class Mode { kIptables, kNftables, kBoth };
  AutoFirewall(Mode m, bool nft_ok) : mode_(m), nft_ok_(nft_ok) {}

  FirewallBackend backend() const override {
    return mode_ == Mode::kIptables ? FirewallBackend::kIptables : FirewallBackend::kNftables;
  }

  Status ensure(const NetworkRules& rules) override {
    switch (mode_) {
      case Mode::kIptables: {
        if (auto s = ipt_.ensure(rules); !s) return s;
        if (!nft_ok_) return {};
        return nft_.remove(rules.network);
      }
      case Mode::kNftables: {
        if (auto s = nft_.ensure(rules); !s) return s;
        return ipt_.remove(rules.network);
      }
      case Mode::kBoth: {
        NetworkRules fwd_only = rules;
        fwd_only.masquerade = false;
        if (auto s = ipt_.ensure(fwd_only); !s) return s;
        return nft_.ensure(rules);
      }
    }
    return {};
  }

  Status remove(const std::string& network) override {
    if (auto s = ipt_.remove(network); !s) return s;
    if (!nft_ok_) return {};
    return nft_.remove(network);
  }

  Result<bool> present(const std::string& network) override {
    auto a = ipt_.present(network);
    if (!a) return a;
    if (*a || !nft_ok_) return a;
    return nft_.present(network);
  }

 private:
  Mode mode_;
  bool nft_ok_;
  fw::IptablesFirewall ipt_;
  fw::NftFirewall nft_;
};

}  // namespace

Result<std::unique_ptr<Firewall>> open_firewall(FirewallBackend which) {
  switch (which) {
    case FirewallBackend::kIptables:
      return std::unique_ptr<Firewall>(new fw::IptablesFirewall());
    case FirewallBackend::kNftables:
      return std::unique_ptr<Firewall>(new fw::NftFirewall());
    case FirewallBackend::kAuto:
      break;
  }
  auto legacy = fw::IptablesFirewall::in_use();
  if (!legacy) return legacy.error().wrap("firewall: detect legacy xtables");
  bool nft_ok = fw::NftFirewall::available();
  bool nft = false;
  if (nft_ok) {
    auto r = fw::NftFirewall::in_use();
    if (!r) return r.error().wrap("firewall: detect nftables");
    nft = *r;
  }
  AutoFirewall::Mode mode = AutoFirewall::Mode::kNftables;
  if (*legacy && nft) {
    mode = AutoFirewall::Mode::kBoth;
  } else if (*legacy || !nft_ok) {
    mode = AutoFirewall::Mode::kIptables;
  }
  return std::unique_ptr<Firewall>(new AutoFirewall(mode, nft_ok));
}

std::optional<FirewallBackend> parse_firewall_backend(std::string_view s) {
  if (s == "auto") return FirewallBackend::kAuto;
  if (s == "iptables") return FirewallBackend::kIptables;
  if (s == "nftables") return FirewallBackend::kNftables;
  return std::nullopt;
}

}  // namespace zl::net
