// zl-fwtool: drives libnet/firewall/firewall.h from the shell suites.
//   zl-fwtool ensure|remove|present|check --backend auto|iptables|nftables --network NAME
//             [--bridge IF] [--source CIDR]... [--exclude CIDR]... [--no-masq]
#include <cstdio>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "libnet/firewall/firewall.h"

namespace {

int usage() {
  std::fprintf(stderr,
               "usage: zl-fwtool ensure|remove|present|check --backend auto|iptables|nftables --network NAME\n"
               "                 [--bridge IF] [--source CIDR]... [--exclude CIDR]... [--no-masq]\n");
  return 2;
}

int fail(const zl::Error& e) {
  std::fprintf(stderr, "zl-fwtool: %s\n", e.msg.c_str());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace zl::net;
  if (argc < 2) return usage();
  const std::string_view cmd = argv[1];
  if (cmd != "ensure" && cmd != "remove" && cmd != "present" && cmd != "check") return usage();

  NetworkRules rules;
  FirewallBackend backend = FirewallBackend::kAuto;
  for (int i = 2; i < argc; ++i) {
    const std::string_view opt = argv[i];
    if (opt == "--no-masq") {
      rules.masquerade = false;
      continue;
    }
    if (i + 1 >= argc) return usage();
    const char* val = argv[++i];
    if (opt == "--backend") {
      auto b = parse_firewall_backend(val);
      if (!b) {
        std::fprintf(stderr, "zl-fwtool: backend \"%s\": want auto, iptables or nftables\n", val);
        return 2;
      }
      backend = *b;
    } else if (opt == "--network") {
      rules.network = val;
    } else if (opt == "--bridge") {
      rules.bridge = val;
    } else if (opt == "--source" || opt == "--exclude") {
      auto n = IpNet::parse(val);
      if (!n) {
        std::fprintf(stderr, "zl-fwtool: %s \"%s\": not a CIDR\n", argv[i - 1], val);
        return 2;
      }
      (opt == "--source" ? rules.sources : rules.exclude).push_back(n->masked());
    } else {
      return usage();
    }
  }
  if (rules.network.empty()) return usage();

  auto fw = open_firewall(backend);
  if (!fw) return fail(fw.error());
  if (cmd == "ensure") {
    if (auto s = (*fw)->ensure(rules); !s) return fail(s.error());
  } else if (cmd == "remove") {
    if (auto s = (*fw)->remove(rules.network); !s) return fail(s.error());
  } else if (cmd == "check") {
    // The plan, one line per change; exit 3 when it is not empty (the rules are not in place).
    auto p = (*fw)->check(rules);
    if (!p) return fail(p.error());
    for (const std::string& line : *p) std::puts(line.c_str());
    return p->empty() ? 0 : 3;
  } else {
    auto p = (*fw)->present(rules.network);
    if (!p) return fail(p.error());
    std::puts(*p ? "yes" : "no");
  }
  return 0;
}
