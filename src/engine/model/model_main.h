// `dpserve model create|inspect|logits`.
#pragma once

namespace dpserve::engine {

int model_main(int argc, char** argv);

}  // namespace dpserve::engine
