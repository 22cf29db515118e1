// Backend selection, and the composite used when legacy xtables and nftables both hold the
// host's rules.
#include <memory>

#include "libnet/firewall/backends.h"

namespace zl::net {
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
  void set(Mode m, bool nft_ok) {
    mode_ = m;
    nft_ok_ = nft_ok;
  }
  fw::IptablesFirewall& ipt() { return ipt_; }
  fw::NftFirewall& nft() { return nft_; }

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

  Result<std::vector<std::string>> check(const NetworkRules& rules) override {
    NetworkRules first = rules, second = rules;
    switch (mode_) {
      case Mode::kIptables: second = NetworkRules{rules.network, {}, {}, {}, false}; break;
      case Mode::kNftables: first = NetworkRules{rules.network, {}, {}, {}, false}; break;
      case Mode::kBoth: first.masquerade = false; break;
    }
    auto a = ipt_.check(first);
    if (!a || (mode_ == Mode::kIptables && !nft_ok_)) return a;
    auto b = nft_.check(second);
    if (!b) return b;
    a->insert(a->end(), b->begin(), b->end());
    return a;
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
  Mode mode_ = Mode::kNftables;
  bool nft_ok_ = false;
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
  // One read of each backend: the probe's snapshots are what the first operation plans from.
  auto f = std::make_unique<AutoFirewall>();
  auto legacy = f->ipt().probe();
  if (!legacy) return legacy.error().wrap("firewall: detect legacy xtables");
  bool nft_ok = false;
  auto nft = f->nft().probe(nft_ok);
  if (!nft) return nft.error().wrap("firewall: detect nftables");
  AutoFirewall::Mode mode = AutoFirewall::Mode::kNftables;
  if (*legacy && *nft) {
    mode = AutoFirewall::Mode::kBoth;
  } else if (*legacy || !nft_ok) {
    mode = AutoFirewall::Mode::kIptables;
  }
  f->set(mode, nft_ok);
  return std::unique_ptr<Firewall>(std::move(f));
}

std::optional<FirewallBackend> parse_firewall_backend(std::string_view s) {
  if (s == "auto") return FirewallBackend::kAuto;
  if (s == "iptables") return FirewallBackend::kIptables;
  if (s == "nftables") return FirewallBackend::kNftables;
  return std::nullopt;
}

}  // namespace zl::net
