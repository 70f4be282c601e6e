# Every dependency is a Debian package (scripts/install-deps.sh). Wrapped in deps:: targets so a
# swap is a one-line change.
find_package(Threads REQUIRED)
find_package(Boost 1.81.0 EXACT CONFIG REQUIRED COMPONENTS url)
find_package(simdjson CONFIG REQUIRED)
find_package(nlohmann_json CONFIG REQUIRED)
find_package(CLI11 CONFIG REQUIRED)
find_package(fmt CONFIG REQUIRED)
find_package(spdlog CONFIG REQUIRED)
find_package(PkgConfig REQUIRED)
pkg_check_modules(PCRE2 REQUIRED IMPORTED_TARGET libpcre2-8)
pkg_check_modules(OPENBLAS REQUIRED IMPORTED_TARGET openblas)
# Debian's dnnl-config.cmake insists on OpenCL; the plain library is all we use.
find_library(DNNL_LIBRARY dnnl REQUIRED)

add_library(deps_asio INTERFACE)
target_link_libraries(deps_asio INTERFACE Boost::headers Boost::url Threads::Threads)
target_compile_definitions(deps_asio INTERFACE BOOST_ASIO_NO_DEPRECATED BOOST_BEAST_USE_STD_STRING_VIEW)
add_library(deps::asio ALIAS deps_asio)

add_library(deps_json INTERFACE)
target_link_libraries(deps_json INTERFACE simdjson::simdjson nlohmann_json::nlohmann_json)
add_library(deps::json ALIAS deps_json)

add_library(deps_log INTERFACE)
target_link_libraries(deps_log INTERFACE spdlog::spdlog fmt::fmt)
add_library(deps::log ALIAS deps_log)

add_library(deps_blas INTERFACE)
target_link_libraries(deps_blas INTERFACE PkgConfig::OPENBLAS)
add_library(deps::blas ALIAS deps_blas)

add_library(deps_dnnl INTERFACE)
target_link_libraries(deps_dnnl INTERFACE ${DNNL_LIBRARY})
add_library(deps::dnnl ALIAS deps_dnnl)

add_library(deps_pcre2 INTERFACE)
target_link_libraries(deps_pcre2 INTERFACE PkgConfig::PCRE2)
add_library(deps::pcre2 ALIAS deps_pcre2)

if(BUILD_TESTING OR NOT DEFINED BUILD_TESTING)
  find_package(GTest CONFIG REQUIRED)
endif()
if(DPSERVE_BUILD_BENCH)
  find_package(benchmark CONFIG REQUIRED)
endif()
