// `dpserve engine`: the inference server (SGLang/OpenAI HTTP API over native-DP schedulers).
#pragma once

namespace dpserve::engine {

int engine_main(int argc, char** argv);

}  // namespace dpserve::engine
