// The flag parser both programs use: --name, --name=VALUE, --name VALUE,
// switches, repeatable flags, the errors kingpin gives (and their wording),
// integer ranges, and the --help lines.
#include "exporter/common/flags.h"

#include <catch2/catch.hpp>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tle {
namespace {

struct Values {
  std::string path = "default.yml";
  bool check = false;
  int port = 9;
  std::uint64_t seed = 1;
  std::int64_t offset = 0;
  std::string host = "localhost";
  std::vector<std::string> faults;
  int color = 0;
};

// A choice flag's reader: "red" or "blue".
std::optional<int> ParseColor(std::string_view text) {
  if (text == "red") return 1;
  if (text == "blue") return 2;
  return std::nullopt;
}

std::vector<Flag> Table(Values* v) {
  return {
      {"config.file", "PATH", "Configuration file.", SetString(&v->path)},
      {"config.check", "", "Check and exit.", SetSwitch(&v->check)},
      {"port", "N", "Port.", SetInteger(&v->port, 0, 65535)},
      {"seed", "N", "Seed.",
       SetInteger(&v->seed, std::uint64_t{0},
                  std::numeric_limits<std::uint64_t>::max())},
      {"offset", "N", "Offset.",
       SetInteger(&v->offset, std::int64_t{-5}, std::int64_t{5})},
      {"host", "H", "Host.", SetNonEmpty(&v->host)},
      {"fault", "NAME", "A fault\n(repeatable).",
       [v](const std::string& value) {
         if (value == "bad") return Status::Error("unknown fault");
         v->faults.push_back(value);
         return Status::Ok();
       },
       true},
      {"help", "", "Show help.", SetSwitch(&v->check)},
      {"color", "C", "Color.",
       SetChoice(&v->color, &ParseColor, "red or blue")},
  };
}

Status Parse(Values* v, const std::vector<const char*>& args) {
  std::vector<const char*> argv = {"prog"};
  argv.insert(argv.end(), args.begin(), args.end());
  return ParseFlags(Table(v), static_cast<int>(argv.size()), argv.data());
}

TEST_CASE("no flags keep the defaults", "[unit]") {
  Values v;
  REQUIRE(Parse(&v, {}).ok());
  CHECK(v.path == "default.yml");
  CHECK_FALSE(v.check);
  CHECK(v.port == 9);
}

TEST_CASE("values come as --name=VALUE or --name VALUE", "[unit]") {
  Values v;
  REQUIRE(Parse(&v, {"--config.file=a.yml", "--port", "80", "--config.check",
                     "--host=h=x"})
              .ok());
  CHECK(v.path == "a.yml");
  CHECK(v.port == 80);
  CHECK(v.check);
  CHECK(v.host == "h=x");  // only the first '=' splits

  Values empty;
  REQUIRE(Parse(&empty, {"--config.file="}).ok());
  CHECK(empty.path.empty());
  Values dashes;
  REQUIRE(Parse(&dashes, {"--config.file", "--port"}).ok());
  CHECK(dashes.path == "--port");  // the next argument is the value, as kingpin
}

TEST_CASE("a repeatable flag takes each value in turn, others refuse a second",
          "[unit]") {
  Values v;
  REQUIRE(Parse(&v, {"--fault=a", "--fault", "b", "--fault=c"}).ok());
  CHECK(v.faults == std::vector<std::string>{"a", "b", "c"});

  Values twice;
  const Status status = Parse(&twice, {"--port=1", "--port=2"});
  CHECK(status.message() == "flag \"--port\" cannot be repeated");
}

TEST_CASE("-h is --help", "[unit]") {
  Values v;
  REQUIRE(Parse(&v, {"-h"}).ok());
  CHECK(v.check);
}

TEST_CASE("malformed command lines are refused with kingpin's wording",
          "[unit]") {
  // Vectors, not initializer_lists: a list's array would end with the
  // pair's construction (ASan: stack-use-after-scope).
  const std::pair<std::vector<const char*>, std::string> kCases[] = {
      {{"--bogus"}, "unknown long flag \"--bogus\""},
      {{"--bogus=1"}, "unknown long flag \"--bogus\""},
      {{"stray"}, "unexpected argument \"stray\""},
      {{"-x"}, "unexpected argument \"-x\""},
      {{"--"}, "unexpected argument \"--\""},
      {{"--port"}, "expected argument for flag \"--port\""},
      {{"--config.check=true"}, "flag \"--config.check\" takes no value"},
      {{"--host="}, "--host: must not be empty"},
      {{"--fault=bad"}, "--fault: unknown fault"},
  };
  for (const auto& [args, message] : kCases) {
    Values v;
    const Status status = Parse(&v, args);
    INFO(message);
    CHECK_FALSE(status.ok());
    CHECK(status.message() == message);
  }
}

TEST_CASE("the first error stops the parse", "[unit]") {
  Values v;
  CHECK_FALSE(Parse(&v, {"--port=x", "--config.file=later.yml"}).ok());
  CHECK(v.path == "default.yml");
}

TEST_CASE("integers are strict decimals within their range", "[unit]") {
  for (const char* good : {"0", "65535", "443"}) {
    Values v;
    INFO(good);
    CHECK(Parse(&v, {"--port", good}).ok());
    CHECK(v.port == std::stoi(good));
  }
  for (const char* bad : {"", "-1", "65536", "+1", " 1", "1 ", "0x10", "1e3",
                          "99999999999999999999", "8o"}) {
    Values v;
    INFO(bad);
    const Status status = Parse(&v, {"--port", bad});
    CHECK(status.message() == std::string("--port: want a whole number "
                                          "0..65535, got \"") +
                                  bad + "\"");
    CHECK(v.port == 9);
  }

  Values v;
  REQUIRE(Parse(&v, {"--offset=-5", "--seed=18446744073709551615"}).ok());
  CHECK(v.offset == -5);
  CHECK(v.seed == std::numeric_limits<std::uint64_t>::max());
  CHECK(Parse(&v, {"--offset=6"}).message() ==
        "--offset: want a whole number -5..5, got \"6\"");
  CHECK(Parse(&v, {"--seed=-1"}).message() ==
        "--seed: want a whole number >= 0, got \"-1\"");
}

TEST_CASE("a long or invalid argument is cut and made valid UTF-8 in errors",
          "[unit]") {
  Values v;
  const std::string long_name = "--" + std::string(500, 'x');
  const Status status = Parse(&v, {long_name.c_str()});
  CHECK(status.message().size() < 120);
  const Status bytes = Parse(&v, {"\xff"});
  CHECK(bytes.message() == "unexpected argument \"\xEF\xBF\xBD\"");
}

TEST_CASE("a choice takes one of its words and quotes anything else cut",
          "[unit]") {
  Values v;
  REQUIRE(Parse(&v, {"--color=blue"}).ok());
  CHECK(v.color == 2);
  CHECK(Parse(&v, {"--color=green"}).message() ==
        "--color: must be red or blue, got \"green\"");
  const std::string long_value = "--color=" + std::string(5000, 'g');
  const Status status = Parse(&v, {long_value.c_str()});
  CHECK(status.message() ==
        "--color: must be red or blue, got \"" + std::string(80, 'g') + "\"");
  CHECK(v.color == 2);  // a refused value leaves the last good one
}

TEST_CASE("help lines are aligned, multi-line help continues in the column",
          "[unit]") {
  Values v;
  const std::vector<Flag> table = Table(&v);
  const std::vector<Flag> some = {table[0], table[1], table[6]};
  CHECK(FlagHelp(some) ==
        "  --config.file=PATH  Configuration file.\n"
        "  --config.check      Check and exit.\n"
        "  --fault=NAME        A fault\n"
        "                      (repeatable).\n");
}

}  // namespace
}  // namespace tle
