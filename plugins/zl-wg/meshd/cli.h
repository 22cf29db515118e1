// zl-meshd's command line.
#pragma once

namespace zl::meshd {

int cli(int argc, char** argv);

}  // namespace zl::meshd
