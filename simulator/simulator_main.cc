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
#include <string>
#include <utility>
#include <vector>

#include "exporter/common/version.h"
#include "simulator/simulator.h"

namespace {

constexpr const char* kUsage =
    R"(usage: tencent_live_simulator [flags]

A fake of Tencent Cloud Chat's live-engine API (same wire format, UserSig checks,
rate limits, fault injection). Serves POST /v4/live_engine_http_srv/get_room_list,
get_member_list and get_room_stats, and the control endpoints GET /-/sim/rooms,
GET /-/sim/stats, GET|POST /-/sim/faults (?set=NAME[:PROB][:COUNT][&api=NAME], ?clear=1).

flags:
  --rooms=N            rooms to generate (default 137)
  --seed=N             seed for the generated rooms (default 1)
  --latency=MS         added to every answer (default 0)
  --slow-delay=MS      delay of the "slow" fault (default 15000)
  --host=H             address to listen on (default 127.0.0.1)
  --port=N             port to listen on; 0 picks a free one (default 0)
  --secret-key=S       the app's secret key (default demo-secret-key-not-for-production)
  --sdkappid=N         the app's SDKAppID (default 1400000000)
  --identifier=S       the App Administrator account (default administrator)
  --max-qps=N          get_room_list calls per second before ErrorCode 60007
                       (default 10; 0 = no limit)
  --member-list-max-qps=N  the same for get_member_list (default 200)
  --room-stats-max-qps=N   the same for get_room_stats (default 100)
  --churn              rooms open and close, views grow and audiences change
                       every few seconds
  --fault=NAME[:PROB][:COUNT]
                       inject a fault (repeatable); PROB defaults to 1, COUNT to -1 (no limit)
  --tls-cert=F         certificate (PEM) to serve HTTPS; needs --tls-key
  --tls-key=F          private key (PEM)
  --help               print this text and exit
  --version            print the version and exit

faults:)";

bool ParseInt(const std::string& text, std::int64_t min, std::int64_t max,
              std::int64_t* out) {
  if (text.empty()) return false;
  try {
    std::size_t used = 0;
    const long long value = std::stoll(text, &used, 10);
    if (used != text.size() || value < min || value > max) return false;
    *out = value;
    return true;
  } catch (const std::exception&) {
    return false;
  }
}

int Usage(const std::string& error) {
  std::cerr << "tencent_live_simulator: " << error << " (see --help)\n";
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  tle::SimulatorOptions options;
  options.port = 0;
  std::vector<std::pair<tle::FaultKind, tle::FaultRate>> faults;

  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    const auto eq = arg.find('=');
    const std::string name = arg.substr(0, eq);
    const bool has_value = eq != std::string::npos;
    const std::string value = has_value ? arg.substr(eq + 1) : "";
    std::int64_t number = 0;
    auto need_int = [&](std::int64_t min, std::int64_t max) {
      return has_value && ParseInt(value, min, max, &number);
    };
    if (name == "--help" || name == "-h") {
      std::cout << kUsage;
      for (auto kind : tle::AllFaults())
        std::cout << " " << tle::FaultName(kind);
      std::cout << "\n";
      return 0;
    } else if (name == "--version") {
      std::cout << "tencent_live_simulator " << tle::kVersion << " (revision "
                << tle::kRevision << ")\n";
      return 0;
    } else if (name == "--rooms") {
      if (!need_int(0, 10000000))
        return Usage("--rooms needs a number 0..10000000");
      options.rooms = static_cast<int>(number);
    } else if (name == "--seed") {
      if (!need_int(0, INT64_MAX))
        return Usage("--seed needs a non-negative number");
      options.seed = static_cast<std::uint64_t>(number);
    } else if (name == "--latency") {
      if (!need_int(0, 600000))
        return Usage("--latency needs milliseconds 0..600000");
      options.latency = std::chrono::milliseconds(number);
    } else if (name == "--slow-delay") {
      if (!need_int(0, 600000))
        return Usage("--slow-delay needs milliseconds 0..600000");
      options.slow_delay = std::chrono::milliseconds(number);
    } else if (name == "--port") {
      if (!need_int(0, 65535)) return Usage("--port needs a number 0..65535");
      options.port = static_cast<int>(number);
    } else if (name == "--host") {
      if (!has_value || value.empty()) return Usage("--host needs an address");
      options.host = value;
    } else if (name == "--secret-key") {
      if (!has_value || value.empty())
        return Usage("--secret-key needs a value");
      options.secret_key = value;
    } else if (name == "--sdkappid") {
      if (!need_int(1, INT64_MAX))
        return Usage("--sdkappid needs a positive number");
      options.sdkappid = number;
    } else if (name == "--identifier") {
      if (!has_value || value.empty())
        return Usage("--identifier needs a value");
      options.identifier = value;
    } else if (name == "--max-qps") {
      if (!need_int(0, 1000000))
        return Usage("--max-qps needs a number 0..1000000");
      options.max_qps = static_cast<double>(number);
    } else if (name == "--member-list-max-qps") {
      if (!need_int(0, 1000000))
        return Usage("--member-list-max-qps needs a number 0..1000000");
      options.member_list_max_qps = static_cast<double>(number);
    } else if (name == "--room-stats-max-qps") {
      if (!need_int(0, 1000000))
        return Usage("--room-stats-max-qps needs a number 0..1000000");
      options.room_stats_max_qps = static_cast<double>(number);
    } else if (name == "--churn") {
      if (has_value) return Usage("--churn takes no value");
      options.churn = true;
    } else if (name == "--fault") {
      tle::FaultKind kind;
      tle::FaultRate rate;
      if (!has_value || !tle::ParseFaultSpec(value, &kind, &rate)) {
        return Usage(
            "--fault needs NAME[:PROB][:COUNT] with a known NAME and PROB in "
            "0..1");
      }
      faults.emplace_back(kind, rate);
    } else if (name == "--tls-cert") {
      if (!has_value || value.empty()) return Usage("--tls-cert needs a file");
      options.cert_file = value;
    } else if (name == "--tls-key") {
      if (!has_value || value.empty()) return Usage("--tls-key needs a file");
      options.key_file = value;
    } else {
      return Usage("unknown flag " + name);
    }
  }
  if (options.cert_file.empty() != options.key_file.empty()) {
    return Usage("--tls-cert and --tls-key go together");
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
  for (const auto& [kind, rate] : faults) simulator.SetFault(kind, rate);
  try {
    simulator.Start();
  } catch (const std::exception& e) {
    std::cerr << "tencent_live_simulator: " << e.what() << "\n";
    return 1;
  }
  std::cout << "listening on " << simulator.endpoint() << std::endl;

  int signal_number = 0;
  sigwait(&signals, &signal_number);
  simulator.Stop();
  return 0;
}
