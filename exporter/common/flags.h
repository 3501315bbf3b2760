// Command-line flags, read the way Prometheus exporters (kingpin) read them,
// for both programs (tencent_live_exporter and tencent_live_simulator).
//
// A program lists its flags in a table: name, the value's placeholder (empty
// for a switch), one line of help, and the setter that takes the value into
// the program's own variables (as kingpin's `.StringVar(&x)`), so the table
// is the one place a flag's name, help and type live. ParseFlags reads
// `--name`, `--name=VALUE` and `--name VALUE` ("-h" is "--help"); anything
// wrong is an error Status that FlagError prints as
//   <program>: error: <message>, try --help
// before the program exits with kFlagErrorExitCode (1), as kingpin does.
//
// ParseFlags and FlagHelp are pure but for the setters: safe from any thread
// on tables of its own.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "exporter/common/status.h"

namespace tle {

// What a program exits with when its flags are wrong.
inline constexpr int kFlagErrorExitCode = 1;

// Takes one flag's value ("" for a switch); an error says what is wrong with
// the value, without naming the flag (ParseFlags adds "--name: ").
using FlagSetter = std::function<Status(const std::string& value)>;

struct Flag {
  std::string name;        // without the leading "--"
  std::string value_name;  // "PATH", "N", ...: takes a value; "" for a switch
  std::string help;        // for --help; a '\n' goes on in the help column
  FlagSetter set;
  bool repeatable = false;  // may be given more than once, set in turn
};

// Reads argv[1..argc) against `flags`, calling each given flag's setter in
// command-line order. Refuses an argument that is not a flag, an unknown
// flag, a switch given a value, a missing value, a flag given twice that is
// not repeatable, and the first value a setter refuses.
// REQUIRES: argv[0..argc) are C strings; names in `flags` are unique.
Status ParseFlags(const std::vector<Flag>& flags, int argc,
                  const char* const* argv);

// The flags' lines for --help: "  --name=VALUE   help", the help aligned.
std::string FlagHelp(const std::vector<Flag>& flags);

// Writes "<program>: error: <message>, try --help" to stderr and returns
// kFlagErrorExitCode. REQUIRES: !error.ok().
int FlagError(std::string_view program, const Status& error);

// Setters for the common cases.
FlagSetter SetSwitch(bool* target);           // a switch: sets true
FlagSetter SetString(std::string* target);    // any text, "" included
FlagSetter SetNonEmpty(std::string* target);  // refuses ""

namespace detail {
// `value` as an error message repeats it: quoted, valid UTF-8, at most 80
// bytes of it.
std::string QuotedFlagValue(std::string_view value);
Result<std::int64_t> FlagInt64(const std::string& value, std::int64_t min,
                               std::int64_t max);
Result<std::uint64_t> FlagUint64(const std::string& value, std::uint64_t min,
                                 std::uint64_t max);
}  // namespace detail

// A whole number in [min, max] (decimal digits, '-' for a signed Int, read
// with ParseInt64 / ParseUint64), stored as static_cast<Target>(number): an
// Int of its own, or what a number converts to (a double, a
// std::chrono::milliseconds).
template <class Int, class Target>
FlagSetter SetInteger(Target* target, Int min, Int max) {
  static_assert(std::is_integral_v<Int> && !std::is_same_v<Int, bool>);
  return [target, min, max](const std::string& value) -> Status {
    if constexpr (std::is_signed_v<Int>) {
      Result<std::int64_t> number = detail::FlagInt64(value, min, max);
      if (!number.ok()) return number.status();
      *target = static_cast<Target>(*number);
    } else {
      Result<std::uint64_t> number = detail::FlagUint64(value, min, max);
      if (!number.ok()) return number.status();
      *target = static_cast<Target>(*number);
    }
    return Status::Ok();
  };
}

// One of a few words, read by `parse` (nullopt for anything else); a refusal
// reads "must be <choices>, got "<value>"".
template <class T>
FlagSetter SetChoice(T* target, std::optional<T> (*parse)(std::string_view),
                     std::string choices) {
  return [target, parse,
          choices = std::move(choices)](const std::string& value) -> Status {
    const std::optional<T> choice = parse(value);
    if (!choice) {
      return Status::Error("must be " + choices + ", got " +
                           detail::QuotedFlagValue(value));
    }
    *target = *choice;
    return Status::Ok();
  };
}

}  // namespace tle
