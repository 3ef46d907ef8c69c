// api/requires_cxx17.h: stops a build of aequor's public headers without
// C++17 at the first line, with the fix, instead of at the first inline
// variable or `if constexpr` of some header. Every header of api/ includes it
// first. Bazel 4's default C++ toolchain compiles with -std=c++0x: a
// workspace that depends on aequor adds `build --cxxopt=-std=c++17` to its
// .bazelrc (docs/EMBEDDING.md); CMake consumers get it from aequor::aequor.
#ifndef AEQUOR_API_REQUIRES_CXX17_H_
#define AEQUOR_API_REQUIRES_CXX17_H_

#if !defined(__cplusplus) || __cplusplus < 201703L
#error "aequor needs C++17: in Bazel add `build --cxxopt=-std=c++17` to .bazelrc; with CMake link aequor::aequor (it requires cxx_std_17)"
#endif

#endif  // AEQUOR_API_REQUIRES_CXX17_H_
