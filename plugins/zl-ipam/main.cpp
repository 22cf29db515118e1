#include "libcni/skel.h"
#include "plugins/zl-ipam/ipam.h"

int main() {
  using namespace zl;
  return cni::run(cni::Plugin{"zl-ipam", zl::cni::kCommonCniArgs, ipam::cmd_add, ipam::cmd_del, ipam::cmd_check,
                              ipam::cmd_gc, ipam::cmd_status});
}
