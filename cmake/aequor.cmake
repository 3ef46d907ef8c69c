# The build of the aequor library, included by the top-level CMakeLists.txt
# after project(): finds the dependencies, builds the library, installs it
# with its CMake package and pkg-config file. Paths are relative to the top
# of the source tree (CMAKE_CURRENT_SOURCE_DIR there).
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

if(NOT CMAKE_BUILD_TYPE AND NOT CMAKE_CONFIGURATION_TYPES)
  set(CMAKE_BUILD_TYPE Release CACHE STRING "Build type (default Release)" FORCE)
endif()

include("${CMAKE_CURRENT_LIST_DIR}/aequorDependencies.cmake")
if(AEQUOR_MISSING_DEPENDENCIES)
  list(JOIN AEQUOR_MISSING_DEPENDENCIES "\n  " _aequor_missing)
  message(FATAL_ERROR
    "aequor: missing dependencies:\n  ${_aequor_missing}\n"
    "On Debian 12: apt-get install pkg-config libpq-dev libbotan-2-dev libssl-dev "
    "libabsl-dev nlohmann-json3-dev. Installed elsewhere: add its prefix to "
    "CMAKE_PREFIX_PATH.")
endif()

# The files of Bazel's //:aequor and its dependencies in this repository,
# folder by folder (//tests/cmake_package checks that the lists agree).
set(AEQUOR_SOURCES
  api/clock.cc
  api/errors.cc
  api/event_json.cc
  api/events.cc
  api/lease.cc
  api/metrics.cc
  api/options.cc
  api/plugin.cc
  api/pool.cc
  api/query_result.cc
  api/registry.cc
  api/secret.cc
  composition/builder.cc
  composition/builtins.cc
  composition/env_options.cc
  core/backoff.cc
  core/classify.cc
  core/connect_error.cc
  core/connection.cc
  core/event_bus.cc
  core/event_emitter.cc
  core/lane.cc
  core/lease_keeper.cc
  core/manager.cc
  core/metrics.cc
  core/pool.cc
  core/pooler.cc
  core/reap_decision.cc
  core/reaper.cc
  core/reaper_runner.cc
  core/server_probe.cc
  core/server_view.cc
  core/statement_cache.cc
  core/statement_params.cc
  core/transaction_runner.cc
  exporters/builtin.cc
  exporters/callback/callback.cc
  exporters/emf/emf.cc
  signers/builtin.cc
  signers/hmac_common.cc
  signers/hmac_sha256_botan.cc
  signers/hmac_sha256_openssl.cc
  signers/key_ring.cc
  strategies/reaper/adaptive.cc
  strategies/reaper/builtin.cc
  strategies/reaper/compose.cc
  strategies/reaper/cooldown.cc
  strategies/reaper/periodic.cc
  strategies/reaper/pressure.cc
  strategies/reaper/probability.cc
  strategies/retry/backoff_config.cc
  strategies/retry/builtin.cc
  strategies/retry/decorrelated_jitter.cc
  strategies/retry/exponential.cc
  strategies/retry/none.cc
  util/deadline_watchdog.cc
  util/pg.cc
)

# Installed under include/aequor/: the API, and the headers of the built-in
# plugins (to register them into a registry of one's own, or to construct
# one directly) with what they include.
set(AEQUOR_PUBLIC_HEADERS
  api/clock.h
  api/connection_manager.h
  api/errors.h
  api/event_json.h
  api/events.h
  api/hook_exporter.h
  api/hooks.h
  api/lease.h
  api/lease_signer.h
  api/metrics.h
  api/options.h
  api/plugin.h
  api/pool.h
  api/query_result.h
  api/random.h
  api/reaper_scheduler.h
  api/registry.h
  api/requires_cxx17.h
  api/retry_policy.h
  api/secret.h
  composition/env_options.h
  exporters/builtin.h
  exporters/callback/callback.h
  exporters/emf/emf.h
  signers/builtin.h
  signers/hmac_sha256_botan.h
  signers/hmac_sha256_openssl.h
  signers/key_ring.h
  strategies/reaper/adaptive.h
  strategies/reaper/builtin.h
  strategies/reaper/compose.h
  strategies/reaper/cooldown.h
  strategies/reaper/periodic.h
  strategies/reaper/pressure.h
  strategies/reaper/probability.h
  strategies/retry/backoff_config.h
  strategies/retry/builtin.h
  strategies/retry/decorrelated_jitter.h
  strategies/retry/exponential.h
  strategies/retry/none.h
)

# Not installed: the core's and the helpers' headers.
set(AEQUOR_PRIVATE_HEADERS
  core/backoff.h
  core/classify.h
  core/connect_error.h
  core/connection.h
  core/event_bus.h
  core/event_emitter.h
  core/lane.h
  core/lease_keeper.h
  core/manager.h
  core/metrics.h
  core/pool.h
  core/pooler.h
  core/reap_decision.h
  core/reaper.h
  core/reaper_runner.h
  core/server_probe.h
  core/server_view.h
  core/statement_cache.h
  core/statement_params.h
  core/transaction_runner.h
  signers/hmac_common.h
  util/deadline_watchdog.h
  util/pg.h
)

add_library(aequor ${AEQUOR_SOURCES} ${AEQUOR_PUBLIC_HEADERS} ${AEQUOR_PRIVATE_HEADERS})
add_library(aequor::aequor ALIAS aequor)

# C++17 travels with the target: consumers need no flag of their own.
target_compile_features(aequor PUBLIC cxx_std_17)
set_target_properties(aequor PROPERTIES
  CXX_EXTENSIONS OFF
  POSITION_INDEPENDENT_CODE ON
  VERSION ${PROJECT_VERSION}
  SOVERSION ${PROJECT_VERSION_MAJOR}.${PROJECT_VERSION_MINOR})
if(CMAKE_CXX_COMPILER_ID MATCHES "GNU|Clang")
  target_compile_options(aequor PRIVATE -Wall -Wextra)
endif()

target_include_directories(aequor PUBLIC
  $<BUILD_INTERFACE:${CMAKE_CURRENT_SOURCE_DIR}>
  $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}/aequor>)

# The public headers include Abseil's status, strings, time and span.
target_link_libraries(aequor
  PUBLIC
    absl::status
    absl::statusor
    absl::strings
    absl::time
    absl::span
  PRIVATE
    absl::base
    absl::core_headers
    absl::cord
    absl::inlined_vector
    absl::node_hash_map
    absl::str_format
    nlohmann_json::nlohmann_json
    OpenSSL::Crypto
    PkgConfig::aequor_botan
    PkgConfig::aequor_libpq
    Threads::Threads)

# --- Installation -----------------------------------------------------------

set(AEQUOR_CMAKE_DIR "${CMAKE_INSTALL_LIBDIR}/cmake/aequor")

install(TARGETS aequor EXPORT aequorTargets
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
  RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})

foreach(header IN LISTS AEQUOR_PUBLIC_HEADERS)
  get_filename_component(header_dir "${header}" DIRECTORY)
  install(FILES "${header}" DESTINATION "${CMAKE_INSTALL_INCLUDEDIR}/aequor/${header_dir}")
endforeach()

install(EXPORT aequorTargets
  NAMESPACE aequor::
  FILE aequorTargets.cmake
  DESTINATION "${AEQUOR_CMAKE_DIR}")

configure_package_config_file(
  cmake/aequorConfig.cmake.in
  "${CMAKE_CURRENT_BINARY_DIR}/aequorConfig.cmake"
  INSTALL_DESTINATION "${AEQUOR_CMAKE_DIR}")
# Pre-1.0: a minor version may change the API (docs/CHANGES.md).
write_basic_package_version_file(
  "${CMAKE_CURRENT_BINARY_DIR}/aequorConfigVersion.cmake"
  COMPATIBILITY SameMinorVersion)
install(FILES
  "${CMAKE_CURRENT_BINARY_DIR}/aequorConfig.cmake"
  "${CMAKE_CURRENT_BINARY_DIR}/aequorConfigVersion.cmake"
  cmake/aequorDependencies.cmake
  DESTINATION "${AEQUOR_CMAKE_DIR}")

# aequor.pc. Its prefix is found from where the file is (${pcfiledir}), so
# `cmake --install build --prefix DIR` yields a correct file too. A static
# libaequor.a needs its dependencies on every link line, so they are in
# Requires; a shared one needs only Abseil there (its headers are included).
set(AEQUOR_PC_ABSL
  "absl_status absl_statusor absl_strings absl_time absl_span")
set(AEQUOR_PC_PRIVATE
  "libpq botan-2 libcrypto absl_base absl_cord absl_inlined_vector absl_node_hash_map absl_str_format")
if(BUILD_SHARED_LIBS)
  set(AEQUOR_PC_REQUIRES "${AEQUOR_PC_ABSL}")
  set(AEQUOR_PC_REQUIRES_PRIVATE "${AEQUOR_PC_PRIVATE}")
else()
  set(AEQUOR_PC_REQUIRES "${AEQUOR_PC_ABSL} ${AEQUOR_PC_PRIVATE}")
  set(AEQUOR_PC_REQUIRES_PRIVATE "")
endif()
if(IS_ABSOLUTE "${CMAKE_INSTALL_LIBDIR}")
  set(AEQUOR_PC_PREFIX "${CMAKE_INSTALL_PREFIX}")
  set(AEQUOR_PC_LIBDIR "${CMAKE_INSTALL_LIBDIR}")
else()
  file(RELATIVE_PATH _aequor_up "/p/${CMAKE_INSTALL_LIBDIR}/pkgconfig" "/p")
  string(REGEX REPLACE "/$" "" _aequor_up "${_aequor_up}")
  set(AEQUOR_PC_PREFIX "\${pcfiledir}/${_aequor_up}")
  set(AEQUOR_PC_LIBDIR "\${prefix}/${CMAKE_INSTALL_LIBDIR}")
endif()
if(IS_ABSOLUTE "${CMAKE_INSTALL_INCLUDEDIR}")
  set(AEQUOR_PC_INCLUDEDIR "${CMAKE_INSTALL_INCLUDEDIR}")
else()
  set(AEQUOR_PC_INCLUDEDIR "\${prefix}/${CMAKE_INSTALL_INCLUDEDIR}")
endif()
configure_file(cmake/aequor.pc.in "${CMAKE_CURRENT_BINARY_DIR}/aequor.pc" @ONLY)
install(FILES "${CMAKE_CURRENT_BINARY_DIR}/aequor.pc"
  DESTINATION "${CMAKE_INSTALL_LIBDIR}/pkgconfig")
