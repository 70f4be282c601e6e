# Warning and sanitizer flags for dpserve's own targets (third-party headers come in as SYSTEM).
set(DPSERVE_WARNINGS -Wall -Wextra -Wshadow -Wnon-virtual-dtor -Woverloaded-virtual
    -Wimplicit-fallthrough)
if(DPSERVE_WERROR)
  list(APPEND DPSERVE_WARNINGS -Werror)
endif()
if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
  # GCC 12 false positives, mostly under -O2 and sanitizers (cpp-craft.md 4.4).
  list(APPEND DPSERVE_WARNINGS -Wno-error=maybe-uninitialized -Wno-error=stringop-overflow
       -Wno-error=dangling-pointer -Wno-error=array-bounds -Wno-error=mismatched-new-delete
       -Wno-interference-size)
endif()

if(DPSERVE_SANITIZE STREQUAL "asan-ubsan")
  add_compile_options(-fsanitize=address,undefined -fno-omit-frame-pointer
                      -fno-sanitize-recover=undefined)
  add_link_options(-fsanitize=address,undefined)
elseif(DPSERVE_SANITIZE STREQUAL "tsan")
  # GCC warns that TSan does not model atomic_thread_fence, which Asio's handlers use; the fences
  # only order what TSan already sees through the atomics, so this must not fail the build.
  add_compile_options(-fsanitize=thread -fno-omit-frame-pointer -Wno-error=tsan)
  add_link_options(-fsanitize=thread)
elseif(NOT DPSERVE_SANITIZE STREQUAL "")
  message(FATAL_ERROR "DPSERVE_SANITIZE must be '', 'asan-ubsan' or 'tsan', got '${DPSERVE_SANITIZE}'")
endif()

if(DPSERVE_FUZZ)
  # Coverage instrumentation for the libraries too, so libFuzzer sees inside the parsers.
  add_compile_options(-fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer)
  add_link_options(-fsanitize=address,undefined)
endif()
