// tencent_live_exporter: flags, signals and start-up; everything else lives in
// the library.
#include <pthread.h>
#include <signal.h>

#include <cstdio>
#include <cstring>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "exporter/common/allocator.h"
#include "exporter/common/log.h"
#include "exporter/common/version.h"
#include "exporter/config/config.h"
#include "exporter/config/web_config.h"
#include "exporter/exporter.h"
#include "exporter/web/web_server.h"
#include "simulator/simulator.h"

namespace {

constexpr const char* kUsage = R"(usage: tencent_live_exporter [<flags>]

A Prometheus exporter for the live rooms of Tencent Cloud Chat's live engine.
Each configured app is walked in the background (get_room_list, page after page, at the API's
rate limit); /metrics serves the last complete walk to any number of scrapers.

Flags:
  --help                       Show this help and exit.
  --version                    Show version and exit.
  --config.file=PATH           Configuration file (default: tencent_live_exporter.yml).
  --config.check               Validate the configuration file, print a summary and exit.
  --demo                       No config needed: start an embedded simulator of the API and export it.
  --web.listen-address=ADDR    Address to listen on, host:port (default: :9877; :0 picks a free port).
  --web.telemetry-path=PATH    Path under which to expose metrics (default: /metrics).
  --web.config.file=PATH       Web config (exporter-toolkit format): TLS and basic auth.
  --web.max-requests=N         Maximum concurrent requests; past it answer 503 (default: 40).
  --web.max-connections=N      Maximum open client connections; past it new ones are closed (default: 512).
  --log.level=LEVEL            debug, info, warn or error (default: info).
  --log.format=FORMAT          logfmt or json (default: logfmt).
)";

struct Flags {
  std::string config_file = "tencent_live_exporter.yml";
  bool config_check = false;
  bool demo = false;
  tle::WebOptions web;
  tle::LogLevel log_level = tle::LogLevel::kInfo;
  tle::LogFormat log_format = tle::LogFormat::kLogfmt;
};

// Returns an error message, or "" when the flags are good. `exit_now` is set
// for --help/--version.
std::string ParseFlags(int argc, char** argv, Flags* flags, bool* exit_now) {
  const std::map<std::string, bool> kTakesValue = {
      {"config.file", true},
      {"config.check", false},
      {"demo", false},
      {"web.listen-address", true},
      {"web.telemetry-path", true},
      {"web.config.file", true},
      {"web.max-requests", true},
      {"web.max-connections", true},
      {"log.level", true},
      {"log.format", true},
      {"help", false},
      {"version", false},
  };
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "-h") arg = "--help";
    if (arg.rfind("--", 0) != 0) return "unexpected argument \"" + arg + "\"";
    std::string name = arg.substr(2);
    std::optional<std::string> value;
    std::size_t eq = name.find('=');
    if (eq != std::string::npos) {
      value = name.substr(eq + 1);
      name = name.substr(0, eq);
    }
    auto known = kTakesValue.find(name);
    if (known == kTakesValue.end())
      return "unknown long flag \"--" + name + "\"";
    if (known->second && !value) {
      if (i + 1 >= argc) return "expected argument for flag \"--" + name + "\"";
      value = argv[++i];
    }
    if (!known->second && value)
      return "flag \"--" + name + "\" takes no value";
    if (name == "help") {
      std::fputs(kUsage, stdout);
      *exit_now = true;
    } else if (name == "version") {
      std::printf("tencent_live_exporter, version %s (revision: %s)\n",
                  tle::kVersion, tle::kRevision);
      *exit_now = true;
    } else if (name == "config.file") {
      flags->config_file = *value;
    } else if (name == "config.check") {
      flags->config_check = true;
    } else if (name == "demo") {
      flags->demo = true;
    } else if (name == "web.listen-address") {
      flags->web.listen_address = *value;
    } else if (name == "web.telemetry-path") {
      if (value->empty() || value->front() != '/' || *value == "/" ||
          value->rfind("/-/", 0) == 0) {
        return "--web.telemetry-path must start with / and not be / or under "
               "/-/";
      }
      flags->web.telemetry_path = *value;
    } else if (name == "web.config.file") {
      flags->web.web_config_file = *value;
    } else if (name == "web.max-requests") {
      try {
        std::size_t used = 0;
        int n = std::stoi(*value, &used);
        if (used != value->size() || n < 0) throw std::invalid_argument("bad");
        flags->web.max_requests = n;
      } catch (const std::exception&) {
        return "--web.max-requests wants a whole number >= 0, got \"" + *value +
               "\"";
      }
    } else if (name == "web.max-connections") {
      try {
        std::size_t used = 0;
        int n = std::stoi(*value, &used);
        if (used != value->size() || n < 0) throw std::invalid_argument("bad");
        flags->web.max_connections = n;
      } catch (const std::exception&) {
        return "--web.max-connections wants a whole number >= 0, got \"" +
               *value + "\"";
      }
    } else if (name == "log.level") {
      if (!tle::ParseLogLevel(*value, &flags->log_level)) {
        return "--log.level must be debug, info, warn or error, got \"" +
               *value + "\"";
      }
    } else if (name == "log.format") {
      if (!tle::ParseLogFormat(*value, &flags->log_format)) {
        return "--log.format must be logfmt or json, got \"" + *value + "\"";
      }
    }
  }
  return "";
}

}  // namespace

int main(int argc, char** argv) {
  tle::TuneAllocator();
  Flags flags;
  bool exit_now = false;
  std::string error = ParseFlags(argc, argv, &flags, &exit_now);
  if (!error.empty()) {
    std::fprintf(stderr, "tencent_live_exporter: error: %s, try --help\n",
                 error.c_str());
    return 1;
  }
  if (exit_now) return 0;
  tle::SetLogLevel(flags.log_level);
  tle::SetLogFormat(flags.log_format);

  // Signals are taken by sigwait() below, so every thread started from here on
  // blocks them.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  std::unique_ptr<tle::Simulator> simulator;
  tle::Config config;
  tle::ConfigLoader loader;
  // A reload re-reads the web config too; a bad one refuses the whole reload.
  tle::WebServer* web_server = nullptr;
  auto reload_web_config = [&web_server] {
    if (web_server != nullptr) web_server->ReloadWebConfig();
  };
  try {
    if (flags.demo) {
      tle::SimulatorOptions options;
      options.rooms = 250;
      options.churn = true;
      options.seed = 42;
      simulator = std::make_unique<tle::Simulator>(options);
      simulator->Start();
      tle::AppConfig app;
      app.sdkappid = options.sdkappid;
      app.endpoint = simulator->endpoint();
      app.identifier = options.identifier;
      app.credential.value = options.secret_key;
      app.walk.interval = std::chrono::seconds(10);
      app.walk.top_rooms.count = 20;  // members and engagement of the top 20
      config.file = "(demo)";
      config.apps.push_back(app);
      loader = [config, reload_web_config] {
        reload_web_config();
        return config;
      };
      tle::Log(tle::LogLevel::kInfo, "demo: embedded simulator started",
               {{"endpoint", simulator->endpoint()}, {"rooms", options.rooms}});
    } else {
      std::string path = flags.config_file;
      // At start and on every reload (SIGHUP, POST /-/reload), each of the
      // config's warnings (a world-readable secret key file, ...) is one warn
      // line; ParseConfig itself does not log.
      loader = [path, reload_web_config] {
        tle::Config loaded = tle::LoadConfigFile(path);
        reload_web_config();
        for (const std::string& warning : loaded.warnings)
          tle::Log(tle::LogLevel::kWarn, "config warning",
                   {{"warning", warning}});
        return loaded;
      };
      config = loader();
      if (flags.config_check) {
        if (!flags.web.web_config_file.empty())
          tle::LoadWebConfigFile(flags.web.web_config_file);
        std::printf("%s: OK: %s\n", path.c_str(), config.Summary().c_str());
        return 0;
      }
    }
  } catch (const tle::ConfigError& e) {
    std::fprintf(stderr, "tencent_live_exporter: config error: %s\n", e.what());
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "tencent_live_exporter: error: %s\n", e.what());
    return 1;
  }

  tle::Log(tle::LogLevel::kInfo, "starting tencent_live_exporter",
           {{"version", tle::kVersion},
            {"revision", tle::kRevision},
            {"config", config.file},
            {"apps", config.apps.size()}});
  tle::Exporter exporter(config, tle::HttpRoomSourceFactory(), loader);
  exporter.SetTelemetryPath(flags.web.telemetry_path);
  tle::WebServer server(flags.web, exporter);
  web_server = &server;
  try {
    server.Start();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "tencent_live_exporter: error: %s\n", e.what());
    return 1;
  }
  exporter.Start();

  while (true) {
    int sig = 0;
    if (sigwait(&signals, &sig) != 0) continue;
    if (sig == SIGHUP) {
      tle::Log(tle::LogLevel::kInfo, "SIGHUP: reloading config");
      exporter.Reload();
      continue;
    }
    tle::Log(tle::LogLevel::kInfo, "shutting down",
             {{"signal", strsignal(sig)}});
    break;
  }
  exporter.Stop();
  server.Stop();
  if (simulator) simulator->Stop();
  tle::Log(tle::LogLevel::kInfo, "stopped");
  return 0;
}
