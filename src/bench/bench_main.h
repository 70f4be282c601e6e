// `dpserve bench`.
#pragma once

namespace dpserve::bench {

int bench_main(int argc, char** argv);

}  // namespace dpserve::bench
