#include <cstdlib>

#include "libcni/skel.h"
#include "plugins/zl-wg/wg.h"

int main(int argc, char** argv) {
  using namespace zl;
  if (!std::getenv("CNI_COMMAND") && argc > 1) return wg::cli(argc, argv);
  return cni::run(cni::Plugin{.name = "zl-wg",
                              .cni_args = cni::kCommonCniArgs,
                              .add = wg::cmd_add,
                              .del = wg::cmd_del,
                              .check = wg::cmd_check,
                              .gc = wg::cmd_gc,
                              .status = wg::cmd_status});
}
