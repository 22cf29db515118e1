// Untrusted bytes: the network configuration on stdin, through the whole dispatcher for
// every command, and zl-ipam's config parser. Must never crash, only answer.
#include <cstddef>
#include <cstdint>
#include <string>

#include "libcni/skel.h"
#include "plugins/zl-ipam/config.h"

using namespace zl;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  cni::Plugin p{.name = "fuzz",
                .cni_args = cni::kCommonCniArgs,
                .add = [](const cni::Context& ctx) -> Result<cni::CniResult> {
                  auto c = ipam::parse_config(ctx.conf);
                  if (!c) return c.error();
                  (void)ipam::requested_ips(ctx.conf, ctx.cni_arg("IP"));
                  return ctx.conf.prev_result.value_or(cni::CniResult{});
                }};
  for (const char* cmd : {"ADD", "GC", "VERSION"}) {
    std::string out;
    auto env = [cmd](const char* k) -> const char* {
      std::string_view key(k);
      if (key == "CNI_COMMAND") return cmd;
      if (key == "CNI_CONTAINERID") return "c1";
      if (key == "CNI_NETNS") return "/x";
      if (key == "CNI_IFNAME") return "eth0";
      if (key == "CNI_PATH") return "/nonexistent";
      return nullptr;
    };
    (void)cni::dispatch(p, env, text, out);
  }
  return 0;
}
