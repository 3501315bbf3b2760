// libFuzzer harness for the config stage: any bytes -> ParseConfig -> Config or
// ConfigError.
//
// Anything else (another exception, a crash, a sanitizer report, a hang) is a
// bug in config.cc. Build: clang++ -std=c++17 -fsanitize=fuzzer,address -I.
// -Ibuild/dev/generated
//        tests/fuzz/config_fuzz.cc exporter/config/config.cc -lyaml-cpp
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "exporter/config/config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  // Some names resolve, one to an empty value, the rest are unset.
  const tle::EnvLookup env =
      [](const std::string& name) -> std::optional<std::string> {
    if (name == "TENCENT_LIVE_SECRET_KEY") return std::string("fuzz-secret");
    if (name == "EMPTY") return std::string();
    return std::nullopt;
  };
  try {
    const tle::Config config = tle::ParseConfig(text, "fuzz.yml", env);
    (void)config.Summary();
  } catch (const tle::ConfigError& e) {
    const std::string_view message = e.what();
    // The one-line promise.
    if (message.find('\n') != std::string_view::npos) __builtin_trap();
  }
  return 0;
}
