#include <cstdlib>

#include "libcni/skel.h"
#include "plugins/zl-wg/wg.h"

int main(int argc, char** argv) {
  using namespace zl;
  if (!std::getenv("CNI_COMMAND") && argc > 1) return wg::cli(argc, argv);
  return cni::run(cni::Plugin{"zl-wg", cni::kCommonCniArgs, wg::cmd_add, wg::cmd_del, wg::cmd_check, wg::cmd_gc,
                              wg::cmd_status});
}
