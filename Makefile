# Two commands do everything on a fresh Debian machine: `make run` and `make test`.
# In CI (CI=true) `make test` builds and runs the whole suite under ASan+UBSan instead of the
# release build: one full build fits the 2-core CI budget, two would not.
JOBS       ?= $(shell nproc)
HOST       ?= 127.0.0.1
PORT       ?= 30000
DP_SIZE    ?= 2
CMAKE_ARGS ?=

ifeq ($(CI),true)
  SANITIZE ?= asan-ubsan
endif
ifeq ($(SANITIZE),)
  BUILD ?= build
  BUILD_FLAGS := -DCMAKE_BUILD_TYPE=Release
else
  BUILD ?= build-$(SANITIZE)
  # -O1 -g1: sanitizer builds compile fast and still give file:line in reports.
  BUILD_FLAGS := -DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_FLAGS_RELEASE="-O1 -g1" \
                 -DDPSERVE_SANITIZE=$(SANITIZE)
endif
export ASAN_OPTIONS ?= detect_leaks=1
export UBSAN_OPTIONS ?= print_stacktrace=1:halt_on_error=1

.PHONY: deps node-deps configure build test test-asan run bench format clean

deps:
	bash scripts/install-deps.sh

# The openai npm package (pinned in tests/node/package-lock.json) is a real client in the tests.
node-deps:
	cd tests/node && npm ci --no-audit --no-fund --loglevel=error

configure: deps
	cmake -S . -B $(BUILD) -G Ninja $(BUILD_FLAGS) $(CMAKE_ARGS)

build: configure
	cmake --build $(BUILD) -j $(JOBS)

# Unit, integration and fuzz-replay tests.
test: build node-deps
	ctest --test-dir $(BUILD) --output-on-failure -j $(JOBS)

test-asan:
	$(MAKE) test SANITIZE=asan-ubsan

# Router + DP_SIZE engine workers on the default tiny model (created on first use).
run: build
	@echo "Serving on http://$(HOST):$(PORT) (router in front of $(DP_SIZE) engine workers)"
	@echo "Try: curl -s http://$(HOST):$(PORT)/generate -H 'content-type: application/json' \\"
	@echo "       -d '{\"text\":\"Hello\",\"sampling_params\":{\"max_new_tokens\":16}}'"
	@echo "Dashboard: http://$(HOST):$(PORT)/dashboard (workers, load, request rate, cache hit rate)"
	$(BUILD)/dpserve serve --dp-size $(DP_SIZE) --host $(HOST) --port $(PORT)

bench: deps
	cmake -S . -B $(BUILD) -G Ninja $(BUILD_FLAGS) -DDPSERVE_BUILD_BENCH=ON $(CMAKE_ARGS)
	cmake --build $(BUILD) -j $(JOBS)

format:
	git ls-files '*.cpp' '*.h' | xargs clang-format -i

clean:
	rm -rf build build-asan-ubsan build-tsan
