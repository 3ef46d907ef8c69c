# Finds what the aequor library links, for its own build (CMakeLists.txt)
# and for its installed package (aequorConfig.cmake), so that both look in
# the same places: the system, or a prefix on CMAKE_PREFIX_PATH (also
# searched for pkg-config files).
#
#   libpq         pkg-config libpq     -> PkgConfig::aequor_libpq
#   Botan 2       pkg-config botan-2   -> PkgConfig::aequor_botan
#   OpenSSL 3     find_package(OpenSSL)        -> OpenSSL::Crypto
#   Abseil        find_package(absl CONFIG)    -> absl::status, ...
#   nlohmann_json find_package(nlohmann_json)  -> nlohmann_json::nlohmann_json
#   threads       find_package(Threads)        -> Threads::Threads
#
# Nothing here stops the configure step: what is missing is listed in
# AEQUOR_MISSING_DEPENDENCIES ("what (Debian package: name)" each), and the
# includer says so in its own words.
set(AEQUOR_MISSING_DEPENDENCIES "")

find_package(PkgConfig QUIET)
if(NOT PKG_CONFIG_FOUND)
  list(APPEND AEQUOR_MISSING_DEPENDENCIES
       "pkg-config, to find libpq and Botan 2 (Debian package: pkg-config)")
else()
  pkg_check_modules(aequor_libpq QUIET IMPORTED_TARGET libpq)
  if(NOT aequor_libpq_FOUND)
    list(APPEND AEQUOR_MISSING_DEPENDENCIES
         "libpq, pkg-config module libpq (Debian package: libpq-dev)")
  endif()
  pkg_check_modules(aequor_botan QUIET IMPORTED_TARGET botan-2)
  if(NOT aequor_botan_FOUND)
    list(APPEND AEQUOR_MISSING_DEPENDENCIES
         "Botan 2, pkg-config module botan-2 (Debian package: libbotan-2-dev)")
  endif()
endif()

find_package(OpenSSL QUIET)
if(NOT TARGET OpenSSL::Crypto)
  list(APPEND AEQUOR_MISSING_DEPENDENCIES "OpenSSL's libcrypto (Debian package: libssl-dev)")
endif()

find_package(absl CONFIG QUIET)
if(NOT absl_FOUND)
  list(APPEND AEQUOR_MISSING_DEPENDENCIES
       "Abseil, CMake package absl (Debian package: libabsl-dev)")
endif()

find_package(nlohmann_json 3 CONFIG QUIET)
if(NOT nlohmann_json_FOUND)
  list(APPEND AEQUOR_MISSING_DEPENDENCIES
       "nlohmann_json 3, CMake package nlohmann_json (Debian package: nlohmann-json3-dev)")
endif()

set(THREADS_PREFER_PTHREAD_FLAG ON)
find_package(Threads QUIET)
if(NOT Threads_FOUND)
  list(APPEND AEQUOR_MISSING_DEPENDENCIES "POSIX threads (Debian package: libc6-dev)")
endif()
