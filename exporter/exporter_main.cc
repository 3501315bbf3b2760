// tencent_live_exporter: flags, signals and start-up; everything else lives in
// the library.
#include <pthread.h>
#include <signal.h>

#include <cstdio>
#include <cstring>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "exporter/common/allocator.h"
#include "exporter/common/flags.h"
#include "exporter/common/log.h"
#include "exporter/common/version.h"
#include "exporter/config/config.h"
#include "exporter/config/web_config.h"
#include "exporter/exporter.h"
#include "exporter/web/web_server.h"
#include "simulator/simulator.h"

namespace {

constexpr const char* kProgram = "tencent_live_exporter";
constexpr const char* kAbout = R"(usage: tencent_live_exporter [<flags>]

A Prometheus exporter for the live rooms of Tencent Cloud Chat's live engine.
Each configured app is walked in the background (get_room_list, page after page, at the API's
rate limit); /metrics serves the last complete walk to any number of scrapers.

Flags:
)";

// Past these a limit is a typo, not a machine (file descriptors stop at 2^20).
constexpr int kMaxRequests = 1'000'000;
constexpr int kMaxConnections = 1'000'000;

struct Flags {
  bool help = false;
  bool version = false;
  std::string config_file = "tencent_live_exporter.yml";
  bool config_check = false;
  bool demo = false;
  tle::WebOptions web;
  tle::LogLevel log_level = tle::LogLevel::kInfo;
  tle::LogFormat log_format = tle::LogFormat::kLogfmt;
};

// The flags (docs: README "Flags"), each taken into `flags`.
std::vector<tle::Flag> FlagTable(Flags* flags) {
  tle::WebOptions* web = &flags->web;
  return {
      {"help", "", "Show this help and exit.", tle::SetSwitch(&flags->help)},
      {"version", "", "Show version and exit.",
       tle::SetSwitch(&flags->version)},
      {"config.file", "PATH",
       "Configuration file (default: tencent_live_exporter.yml).",
       tle::SetString(&flags->config_file)},
      {"config.check", "",
       "Validate the configuration file, print a summary and exit.",
       tle::SetSwitch(&flags->config_check)},
      {"demo", "",
       "No config needed: start an embedded simulator of the API and export "
       "it.",
       tle::SetSwitch(&flags->demo)},
      {"web.listen-address", "ADDR",
       "Address to listen on, host:port (default: :9877; :0 picks a free "
       "port).",
       [web](const std::string& value) {
         const tle::Result<tle::ListenAddress> address =
             tle::ParseListenAddress(value);
         if (!address.ok()) return address.status();
         web->listen_address = value;
         return tle::Status::Ok();
       }},
      {"web.telemetry-path", "PATH",
       "Path under which to expose metrics (default: /metrics).",
       [web](const std::string& value) {
         if (value.empty() || value.front() != '/' || value == "/" ||
             value.rfind("/-/", 0) == 0) {
           return tle::Status::Error(
               "must start with / and not be / or under /-/");
         }
         web->telemetry_path = value;
         return tle::Status::Ok();
       }},
      {"web.config.file", "PATH",
       "Web config (exporter-toolkit format): TLS and basic auth.",
       tle::SetString(&web->web_config_file)},
      {"web.max-requests", "N",
       "Maximum concurrent requests; past it answer 503 (default: 40).",
       tle::SetInteger(&web->max_requests, 0, kMaxRequests)},
      {"web.max-connections", "N",
       "Maximum open client connections; past it new ones are closed "
       "(default: 512).",
       tle::SetInteger(&web->max_connections, 0, kMaxConnections)},
      {"log.level", "LEVEL", "debug, info, warn or error (default: info).",
       tle::SetChoice(&flags->log_level, &tle::ParseLogLevel,
                      "debug, info, warn or error")},
      {"log.format", "FORMAT", "logfmt or json (default: logfmt).",
       tle::SetChoice(&flags->log_format, &tle::ParseLogFormat,
                      "logfmt or json")},
  };
}

}  // namespace

int main(int argc, char** argv) {
  tle::TuneAllocator();
  Flags flags;
  const std::vector<tle::Flag> table = FlagTable(&flags);
  if (const tle::Status parsed = tle::ParseFlags(table, argc, argv);
      !parsed.ok()) {
    return tle::FlagError(kProgram, parsed);
  }
  if (flags.help) {
    std::printf("%s%s", kAbout, tle::FlagHelp(table).c_str());
    return 0;
  }
  if (flags.version) {
    std::printf("%s, version %s (revision: %s)\n", kProgram, tle::kVersion,
                tle::kRevision);
    return 0;
  }
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
      // A refused reload is logged by Reload itself; the old config stays.
      static_cast<void>(exporter.Reload());
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
