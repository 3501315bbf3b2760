#include "exporter/common/flags.h"

#include <algorithm>
#include <cstdio>
#include <limits>
#include <optional>
#include <utility>

#include "exporter/common/text.h"

namespace tle {
namespace {

// How much of a command-line argument an error message repeats.
constexpr std::size_t kMaxQuotedBytes = 80;

std::string Quoted(std::string_view text) {
  return "\"" + ValidUtf8(text.substr(0, kMaxQuotedBytes)) + "\"";
}

std::string Left(const Flag& flag) {
  std::string left = "  --" + flag.name;
  if (!flag.value_name.empty()) left += "=" + flag.value_name;
  return left;
}

// `number` (what `value` parsed to, if anything) when it is in [min, max].
template <class Int>
Result<Int> InRange(const std::string& value, std::optional<Int> number,
                    Int min, Int max) {
  if (number && *number >= min && *number <= max) return *number;
  std::string want = "want a whole number ";
  if (max == std::numeric_limits<Int>::max()) {
    want += ">= " + std::to_string(min);
  } else {
    want += std::to_string(min) + ".." + std::to_string(max);
  }
  return Status::Error(want + ", got " + Quoted(value));
}

}  // namespace

Status ParseFlags(const std::vector<Flag>& flags, int argc,
                  const char* const* argv) {
  std::vector<bool> given(flags.size(), false);
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (arg == "-h") arg = "--help";
    if (arg.size() <= 2 || arg.substr(0, 2) != "--") {
      return Status::Error("unexpected argument " + Quoted(arg));
    }
    std::string_view name = arg.substr(2);
    std::optional<std::string> value;
    if (const std::size_t eq = name.find('='); eq != std::string_view::npos) {
      value = std::string(name.substr(eq + 1));
      name = name.substr(0, eq);
    }
    const auto flag =
        std::find_if(flags.begin(), flags.end(),
                     [name](const Flag& f) { return f.name == name; });
    if (flag == flags.end()) {
      return Status::Error("unknown long flag " +
                           Quoted("--" + std::string(name)));
    }
    const std::string dashed = "--" + flag->name;
    const bool takes_value = !flag->value_name.empty();
    if (takes_value && !value) {
      if (i + 1 >= argc) {
        return Status::Error("expected argument for flag \"" + dashed + "\"");
      }
      value = argv[++i];
    }
    if (!takes_value && value) {
      return Status::Error("flag \"" + dashed + "\" takes no value");
    }
    const auto index = static_cast<std::size_t>(flag - flags.begin());
    if (given[index] && !flag->repeatable) {
      return Status::Error("flag \"" + dashed + "\" cannot be repeated");
    }
    given[index] = true;
    const Status set = flag->set(value.value_or(""));
    if (!set.ok()) return Status::Error(dashed + ": " + set.message());
  }
  return Status::Ok();
}

std::string FlagHelp(const std::vector<Flag>& flags) {
  std::size_t column = 0;
  for (const Flag& flag : flags) column = std::max(column, Left(flag).size());
  column += 2;
  std::string out;
  for (const Flag& flag : flags) {
    std::string line = Left(flag);
    line.resize(column, ' ');
    // A help text of several lines continues in the help column.
    std::size_t start = 0;
    while (true) {
      const std::size_t end = flag.help.find('\n', start);
      line += flag.help.substr(start, end - start);
      out += line + "\n";
      if (end == std::string::npos) break;
      start = end + 1;
      line.assign(column, ' ');
    }
  }
  return out;
}

int FlagError(std::string_view program, const Status& error) {
  std::fprintf(stderr, "%.*s: error: %s, try --help\n",
               static_cast<int>(program.size()), program.data(),
               error.message().c_str());
  return kFlagErrorExitCode;
}

FlagSetter SetSwitch(bool* target) {
  return [target](const std::string&) {
    *target = true;
    return Status::Ok();
  };
}

FlagSetter SetString(std::string* target) {
  return [target](const std::string& value) {
    *target = value;
    return Status::Ok();
  };
}

FlagSetter SetNonEmpty(std::string* target) {
  return [target](const std::string& value) {
    if (value.empty()) return Status::Error("must not be empty");
    *target = value;
    return Status::Ok();
  };
}

namespace detail {

std::string QuotedFlagValue(std::string_view value) { return Quoted(value); }

Result<std::int64_t> FlagInt64(const std::string& value, std::int64_t min,
                               std::int64_t max) {
  return InRange(value, ParseInt64(value), min, max);
}

Result<std::uint64_t> FlagUint64(const std::string& value, std::uint64_t min,
                                 std::uint64_t max) {
  return InRange(value, ParseUint64(value), min, max);
}

}  // namespace detail
}  // namespace tle
