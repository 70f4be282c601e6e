// `dpserve serve`.
#pragma once

namespace dpserve::launcher {

int serve_main(int argc, char** argv);

}  // namespace dpserve::launcher
