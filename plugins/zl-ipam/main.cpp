#include "libcni/skel.h"
#include "plugins/zl-ipam/ipam.h"

int main() {
  using namespace zl;
  return cni::run(cni::Plugin{.name = "zl-ipam",
                              .cni_args = cni::kCommonCniArgs,
                              .add = ipam::cmd_add,
                              .del = ipam::cmd_del,
                              .check = ipam::cmd_check,
                              .gc = ipam::cmd_gc,
                              .status = ipam::cmd_status});
}
