// The landing page at "/": what an operator sees first.
//
// Laid out like exporter-toolkit's landing page (a title bar, a description,
// the version, a list of described links) plus one table row per app: its
// state in colour (up, down, stale, starting), rooms, views and members of the
// snapshot /metrics serves, the age of the last complete walk, the last walk's
// duration against the interval, and the last error.
//
// RenderLandingPage is a pure function of LandingPage: the caller gathers the
// values (and the time "now") and the page is rendered from them alone, so it
// can be tested with any state. Every text from outside (endpoints, errors) is
// made valid UTF-8, cut to a bounded length and HTML-escaped.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace tle {

struct LandingApp {
  std::int64_t sdkappid = 0;
  std::string region;    // the region key when the config gives one
  std::string endpoint;  // scheme://host[:port]
  std::chrono::milliseconds interval{0};
  std::chrono::milliseconds stale_after{0};

  bool up = false;  // the last walk completed
  // The walk whose rooms /metrics serves: when it completed (Unix seconds),
  // or nullopt before the first one. Older than stale_after, its rooms are no
  // longer exported and the page shows them as stale, not as current.
  std::optional<double> snapshot_time;
  std::uint64_t rooms = 0;
  std::uint64_t views = 0;       // sum of ViewCount over the rooms
  bool views_saturated = false;  // the sum did not fit: `views` is a floor
  // Sum of tencent_live_room_members over the top rooms; nullopt when
  // top_rooms is off (the column is left out when no app has it).
  std::optional<std::uint64_t> members;

  double last_success_time =
      0;  // Unix seconds of the last completed walk; 0 = never
  std::optional<double>
      last_walk_seconds;   // duration of the last walk (completed or failed)
  std::string last_error;  // "" after a completed walk
};

struct LandingPage {
  std::string version;
  std::string revision;
  std::string telemetry_path = "/metrics";  // as --web.telemetry-path gives it
  double now = 0;                           // Unix seconds
  std::vector<LandingApp> apps;
};

// The whole HTML document (UTF-8).
std::string RenderLandingPage(const LandingPage& page);

// "just now", "12s ago", "4m10s ago", "2h5m ago", "3d4h ago" for an event
// `seconds` ago (coarser the older it is).
std::string FormatAge(double seconds);

}  // namespace tle
