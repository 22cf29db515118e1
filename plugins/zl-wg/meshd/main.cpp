#include "plugins/zl-wg/meshd/cli.h"

int main(int argc, char** argv) { return zl::meshd::cli(argc, argv); }
