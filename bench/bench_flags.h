// The benchmark programs' command line: their own flags plus --help, read
// with tle::ParseFlags, so a bench refuses a bad flag the way the exporter
// and the simulator do ("<program>: error: ..., try --help", exit 1).
#pragma once

#include <cstdio>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "exporter/common/flags.h"
#include "exporter/common/status.h"

namespace tle_bench {

// Reads argv against `flags` and a --help of its own. Returns the code to
// exit with when the program is done (0 after printing --help, 1 after
// printing a flag error), nullopt when it should go on and measure.
inline std::optional<int> ReadFlags(const char* program,
                                    std::vector<tle::Flag> flags, int argc,
                                    char** argv) {
  bool help = false;
  flags.push_back(
      {"help", "", "print this text and exit", tle::SetSwitch(&help)});
  if (const tle::Status parsed = tle::ParseFlags(flags, argc, argv);
      !parsed.ok()) {
    return tle::FlagError(program, parsed);
  }
  if (help) {
    std::printf("usage: %s [<flags>]\n\nFlags:\n%s", program,
                tle::FlagHelp(flags).c_str());
    return 0;
  }
  return std::nullopt;
}

}  // namespace tle_bench
