// `dpserve router`: the gateway in front of inference workers.
#pragma once

namespace dpserve::router {

// argv[0] is the subcommand name. Returns the process exit code.
int router_main(int argc, char** argv);

}  // namespace dpserve::router
