// bench_render: figure 4 of the benchmarks, the cost of turning a snapshot into
// what /metrics serves.
//
// For each room count it builds a snapshot of the simulator's rooms (the same
// names, owners, URLs and tags the fake API hands out), then times, with every
// room series on (max_room_series 0):
//   render    RenderSnapshot: rooms -> per-family exposition text
//   assemble  AssembleSnapshots: HELP/TYPE headers + every app's text
//   deflate   Deflate of the assembled text (level 6, as ExpositionCache does)
// Each step runs --repeat times; the median is reported in ns per series.
//
// Usage: bench_render [--rooms=1000,10000,100000] [--repeat=5] (--help)
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "bench/bench_flags.h"
#include "exporter/common/flags.h"
#include "exporter/common/status.h"
#include "exporter/metrics/gzip.h"
#include "exporter/metrics/snapshot_exposition.h"
#include "exporter/snapshot/snapshot.h"
#include "simulator/simulator.h"

namespace {

using Clock = std::chrono::steady_clock;

constexpr const char* kProgram = "bench_render";
constexpr int kMaxRooms = 10'000'000;
constexpr int kMaxRepeat = 1000;

// "N,N,...": room counts, each read as --rooms=N would be.
tle::FlagSetter SetRoomCounts(std::vector<int>* target) {
  return [target](const std::string& value) -> tle::Status {
    std::vector<int> counts;
    std::size_t pos = 0;
    while (true) {
      const std::size_t comma = value.find(',', pos);
      int count = 0;
      const tle::Status parsed =
          tle::SetInteger(&count, 1, kMaxRooms)(value.substr(pos, comma - pos));
      if (!parsed.ok()) return parsed;
      counts.push_back(count);
      if (comma == std::string::npos) break;
      pos = comma + 1;
    }
    *target = std::move(counts);
    return tle::Status::Ok();
  };
}

double Median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  return values[values.size() / 2];
}

template <typename F>
double TimeNs(F&& f) {
  auto start = Clock::now();
  f();
  return std::chrono::duration<double, std::nano>(Clock::now() - start).count();
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<int> room_counts = {1000, 10000, 100000};
  int repeat = 5;
  if (const std::optional<int> done = tle_bench::ReadFlags(
          kProgram,
          {
              {"rooms", "N,N,...",
               "room counts to time (default 1000,10000,100000)",
               SetRoomCounts(&room_counts)},
              {"repeat", "N",
               "runs of each step; the median is reported (default 5)",
               tle::SetInteger(&repeat, 1, kMaxRepeat)},
          },
          argc, argv)) {
    return *done;
  }

  std::printf(
      "| rooms | series | text MiB | gzip MiB | render ns/series | assemble "
      "ns/series | deflate ns/series | text ns/series | gzip ns/series |\n");
  std::printf("|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
  for (int rooms : room_counts) {
    tle::SimulatorOptions options;
    options.rooms = rooms;
    tle::Snapshot snapshot;
    snapshot.sdkappid = options.sdkappid;
    snapshot.rooms = tle::Simulator(options).Rooms();
    tle::SortRooms(&snapshot.rooms);
    snapshot.completed_at = 1.7e9;

    std::vector<double> render_ns, assemble_ns, deflate_ns;
    std::size_t series = 0, text_bytes = 0, gzip_bytes = 0;
    for (int r = 0; r < repeat; ++r) {
      tle::RenderedSnapshot rendered;
      render_ns.push_back(
          TimeNs([&] { rendered = tle::RenderSnapshot(snapshot, 0); }));
      std::vector<std::string_view> pieces;
      assemble_ns.push_back(
          TimeNs([&] { pieces = tle::AssembleSnapshots({&rendered}); }));
      tle::DeflatedPart deflated;
      deflate_ns.push_back(
          TimeNs([&] { deflated = tle::Deflate(pieces, false); }));
      series = rendered.series;
      text_bytes = 0;
      for (std::string_view piece : pieces) text_bytes += piece.size();
      gzip_bytes = deflated.data.size();
    }
    double per = static_cast<double>(series);
    double render = Median(render_ns) / per;
    double assemble = Median(assemble_ns) / per;
    double deflate = Median(deflate_ns) / per;
    std::printf(
        "| %d | %zu | %.1f | %.1f | %.0f | %.1f | %.0f | %.0f | %.0f |\n",
        rooms, series, static_cast<double>(text_bytes) / 1048576.0,
        static_cast<double>(gzip_bytes) / 1048576.0, render, assemble, deflate,
        render + assemble, render + assemble + deflate);
    std::fflush(stdout);
  }
  return 0;
}
