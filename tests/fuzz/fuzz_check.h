// tests/fuzz/fuzz_check.h: FUZZ_CHECK, the assertion of the fuzz targets.
//
// A failed check prints what was expected and aborts, which libFuzzer reports
// as a crash (and saves the input) and the corpus replay test as a failure.
//
//   FUZZ_CHECK(reparsed.ok(), "a signed lease must parse: " << reparsed.status());
//
// Thread-safety: the fuzz targets are single-threaded; so is this.
#ifndef AEQUOR_TESTS_FUZZ_FUZZ_CHECK_H_
#define AEQUOR_TESTS_FUZZ_FUZZ_CHECK_H_

#include <cstdlib>
#include <iostream>

#define FUZZ_CHECK(condition, message)                                              \
  do {                                                                              \
    if (!(condition)) {                                                             \
      std::cerr << __FILE__ << ":" << __LINE__                                      \
                << ": FUZZ_CHECK(" #condition ") failed: " << message << std::endl; \
      std::abort();                                                                 \
    }                                                                               \
  } while (false)

#endif  // AEQUOR_TESTS_FUZZ_FUZZ_CHECK_H_
