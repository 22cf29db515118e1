// zl-names: the names zl-cni derives, for the shell suites (which must not recompute them).
//   zl-names bridge|wg|masq-chain|fwd-chain|nft-table|hash NETWORK
//   zl-names veth CONTAINER-ID IFNAME
#include <cstdio>
#include <string>
#include <string_view>

#include "libnet/core/names.h"

int main(int argc, char** argv) {
  using namespace zl::net;
  const std::string_view what = argc > 1 ? argv[1] : "";
  std::string out;
  if (argc == 4 && what == "veth") {
    out = host_veth_name(argv[2], argv[3]);
  } else if (argc == 3 && what == "bridge") {
    out = bridge_name(argv[2]);
  } else if (argc == 3 && what == "wg") {
    out = wg_device_name(argv[2]);
  } else if (argc == 3 && what == "masq-chain") {
    out = masq_chain(argv[2]);
  } else if (argc == 3 && what == "fwd-chain") {
    out = fwd_chain(argv[2]);
  } else if (argc == 3 && what == "nft-table") {
    out = nft_table(argv[2]);
  } else if (argc == 3 && what == "hash") {
    out = network_hash(argv[2]);
  } else {
    std::fputs("usage: zl-names bridge|wg|masq-chain|fwd-chain|nft-table|hash NETWORK\n"
               "       zl-names veth CONTAINER-ID IFNAME\n",
               stderr);
    return 2;
  }
  std::printf("%s\n", out.c_str());
  return 0;
}
