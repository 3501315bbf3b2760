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
// Usage: bench_render [--rooms=1000,10000,100000] [--repeat=5]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "exporter/metrics/gzip.h"
#include "exporter/metrics/snapshot_exposition.h"
#include "exporter/snapshot/snapshot.h"
#include "simulator/simulator.h"

namespace {

using Clock = std::chrono::steady_clock;

std::vector<int> ParseList(const std::string& text) {
  std::vector<int> out;
  std::size_t pos = 0;
  while (pos < text.size()) {
    std::size_t comma = text.find(',', pos);
    if (comma == std::string::npos) comma = text.size();
    out.push_back(std::stoi(text.substr(pos, comma - pos)));
    pos = comma + 1;
  }
  return out;
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
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg.rfind("--rooms=", 0) == 0) {
      room_counts = ParseList(arg.substr(8));
    } else if (arg.rfind("--repeat=", 0) == 0) {
      repeat = std::max(1, std::stoi(arg.substr(9)));
    } else {
      std::fprintf(stderr,
                   "usage: bench_render [--rooms=N,N,...] [--repeat=N]\n");
      return 2;
    }
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
