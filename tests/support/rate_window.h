// Test support: the most events in any one-second window, for the tests that
// check a rate limit held.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <vector>

namespace tle::testing {

// The most of `times` in any half-open window [t, t + 1 s).
inline int MaxInAnySecond(
    std::vector<std::chrono::steady_clock::time_point> times) {
  std::sort(times.begin(), times.end());
  int best = 0;
  std::size_t j = 0;
  for (std::size_t i = 0; i < times.size(); ++i) {
    while (j < times.size() && times[j] < times[i] + std::chrono::seconds(1))
      ++j;
    best = std::max(best, static_cast<int>(j - i));
  }
  return best;
}

}  // namespace tle::testing
