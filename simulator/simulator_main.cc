// tencent_live_simulator: the upstream simulator as a stand-alone program
// (demos, tests, benches).
//
// Prints "listening on <endpoint>" once it serves, then waits for SIGTERM or
// SIGINT and exits 0.

#include <signal.h>

#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <iostream>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "exporter/common/flags.h"
#include "exporter/common/status.h"
#include "exporter/common/version.h"
#include "simulator/simulator.h"

namespace {

constexpr const char* kProgram = "tencent_live_simulator";
constexpr const char* kAbout =
    R"(usage: tencent_live_simulator [<flags>]

A fake of Tencent Cloud Chat's live-engine API (same wire format, UserSig checks,
rate limits, fault injection). Serves POST /v4/live_engine_http_srv/get_room_list,
get_member_list and get_room_stats, and the control endpoints GET /-/sim/rooms,
GET /-/sim/stats, GET|POST /-/sim/faults (?set=NAME[:PROB][:COUNT][&api=NAME], ?clear=1).

Flags:
)";

constexpr std::int64_t kMaxRooms = 10'000'000;
constexpr std::int64_t kMaxDelayMs = 600'000;
constexpr std::int64_t kMaxQps = 1'000'000;

struct Flags {
  bool help = false;
  bool version = false;
  tle::SimulatorOptions options;
  std::vector<std::pair<tle::FaultKind, tle::FaultRate>> faults;
};

std::vector<tle::Flag> FlagTable(Flags* flags) {
  tle::SimulatorOptions* o = &flags->options;
  using std::int64_t;
  return {
      {"rooms", "N", "rooms to generate (default 137)",
       tle::SetInteger(&o->rooms, int64_t{0}, kMaxRooms)},
      {"seed", "N", "seed for the generated rooms (default 1)",
       tle::SetInteger(&o->seed, std::uint64_t{0},
                       std::numeric_limits<std::uint64_t>::max())},
      {"latency", "MS", "added to every answer (default 0)",
       tle::SetInteger(&o->latency, int64_t{0}, kMaxDelayMs)},
      {"slow-delay", "MS", "delay of the \"slow\" fault (default 15000)",
       tle::SetInteger(&o->slow_delay, int64_t{0}, kMaxDelayMs)},
      {"host", "H", "address to listen on (default 127.0.0.1)",
       tle::SetNonEmpty(&o->host)},
      {"port", "N", "port to listen on; 0 picks a free one (default 0)",
       tle::SetInteger(&o->port, 0, 65535)},
      {"secret-key", "S",
       "the app's secret key (default demo-secret-key-not-for-production)",
       tle::SetNonEmpty(&o->secret_key)},
      {"sdkappid", "N", "the app's SDKAppID (default 1400000000)",
       tle::SetInteger(&o->sdkappid, int64_t{1},
                       std::numeric_limits<int64_t>::max())},
      {"identifier", "S",
       "the App Administrator account (default administrator)",
       tle::SetNonEmpty(&o->identifier)},
      {"max-qps", "N",
       "get_room_list calls per second before ErrorCode 60007\n"
       "(default 10; 0 = no limit)",
       tle::SetInteger(&o->max_qps, int64_t{0}, kMaxQps)},
      {"member-list-max-qps", "N", "the same for get_member_list (default 200)",
       tle::SetInteger(&o->member_list_max_qps, int64_t{0}, kMaxQps)},
      {"room-stats-max-qps", "N", "the same for get_room_stats (default 100)",
       tle::SetInteger(&o->room_stats_max_qps, int64_t{0}, kMaxQps)},
      {"churn", "",
       "rooms open and close, views grow and audiences change\n"
       "every few seconds",
       tle::SetSwitch(&o->churn)},
      {"fault", "NAME[:PROB][:COUNT]",
       "inject a fault (repeatable); PROB defaults to 1, COUNT to -1 (no "
       "limit)",
       [flags](const std::string& value) {
         const tle::Result<tle::FaultSpec> spec = tle::ParseFaultSpec(value);
         if (!spec.ok()) {
           return tle::Status::Error("want NAME[:PROB][:COUNT]: " +
                                     spec.status().message());
         }
         flags->faults.emplace_back(spec->kind, spec->rate);
         return tle::Status::Ok();
       },
       /*repeatable=*/true},
      {"tls-cert", "F", "certificate (PEM) to serve HTTPS; needs --tls-key",
       tle::SetNonEmpty(&o->cert_file)},
      {"tls-key", "F", "private key (PEM)", tle::SetNonEmpty(&o->key_file)},
      {"help", "", "print this text and exit", tle::SetSwitch(&flags->help)},
      {"version", "", "print the version and exit",
       tle::SetSwitch(&flags->version)},
  };
}

}  // namespace

int main(int argc, char** argv) {
  Flags flags;
  flags.options.port = 0;
  const std::vector<tle::Flag> table = FlagTable(&flags);
  if (const tle::Status parsed = tle::ParseFlags(table, argc, argv);
      !parsed.ok()) {
    return tle::FlagError(kProgram, parsed);
  }
  if (flags.help) {
    std::cout << kAbout << tle::FlagHelp(table) << "\nfaults:";
    for (auto kind : tle::AllFaults()) std::cout << " " << tle::FaultName(kind);
    std::cout << "\n";
    return 0;
  }
  if (flags.version) {
    std::cout << kProgram << ", version " << tle::kVersion
              << " (revision: " << tle::kRevision << ")\n";
    return 0;
  }
  const tle::SimulatorOptions& options = flags.options;
  if (options.cert_file.empty() != options.key_file.empty()) {
    return tle::FlagError(
        kProgram, tle::Status::Error("--tls-cert and --tls-key go together"));
  }

  // Block the stop signals in every thread; main waits for them with sigwait.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  // A client that hangs up mid-answer (TLS writes) must not kill the simulator.
  std::signal(SIGPIPE, SIG_IGN);

  tle::Simulator simulator(options);
  for (const auto& [kind, rate] : flags.faults) simulator.SetFault(kind, rate);
  try {
    simulator.Start();
  } catch (const std::exception& e) {
    std::cerr << kProgram << ": error: " << e.what() << "\n";
    return 1;
  }
  std::cout << "listening on " << simulator.endpoint() << std::endl;

  int signal_number = 0;
  sigwait(&signals, &signal_number);
  simulator.Stop();
  return 0;
}
