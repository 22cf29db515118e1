#include "libcni/skel.h"
#include "plugins/zl-bridge/bridge.h"

int main() {
  using namespace zl;
  return cni::run(cni::Plugin{"zl-bridge", cni::kCommonCniArgs, bridge::cmd_add, bridge::cmd_del, bridge::cmd_check,
                              bridge::cmd_gc, bridge::cmd_status});
}
