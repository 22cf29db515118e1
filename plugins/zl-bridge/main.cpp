#include "libcni/skel.h"
#include "plugins/zl-bridge/bridge.h"

int main() {
  using namespace zl;
  return cni::run(cni::Plugin{.name = "zl-bridge",
                              .cni_args = cni::kCommonCniArgs,
                              .add = bridge::cmd_add,
                              .del = bridge::cmd_del,
                              .check = bridge::cmd_check,
                              .gc = bridge::cmd_gc,
                              .status = bridge::cmd_status});
}
