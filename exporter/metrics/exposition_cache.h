// ExpositionCache: the bytes /metrics serves, prepared once per walk (and once
// per top-rooms round).
//
// Each walker hands its rendered snapshot to Update() when a walk completes,
// each top-rooms runner its rendered round to UpdateTopRooms();
// the cache then assembles every app's text once, deflates it once, and keeps
// both as one immutable StaticBody that any number of scrapes share without
// copying. A scrape adds only the small per-scrape health text
// (ScrapeBody::tail). Snapshots older than their stale_after leave the body at
// the first scrape after they go stale.
//
// All methods may be called from any thread. Building a body happens outside
// the read lock, so scrapes keep being served from the previous body meanwhile.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "exporter/metrics/gzip.h"
#include "exporter/metrics/snapshot_exposition.h"
#include "exporter/metrics/top_rooms_exposition.h"

namespace tle {

struct StaticBody {
  // The assembled snapshot families, as pieces that point into `parts` (no copy
  // of the rendered text is made) and into static header strings.
  std::vector<std::shared_ptr<const RenderedSnapshot>> parts;
  std::vector<std::shared_ptr<const RenderedTopRooms>> top_rooms_parts;
  std::vector<std::string_view> pieces;
  std::size_t text_size = 0;
  DeflatedPart
      deflated;  // the same text as raw deflate blocks ending in a full flush
};

// One response: head + shared static bytes + tail.
struct ScrapeBody {
  bool gzip = false;
  std::string head;                          // gzip header, or empty
  std::shared_ptr<const StaticBody> shared;  // keeps `middle` alive
  std::vector<std::string_view>
      middle;        // text pieces or deflated bytes of `shared`
  std::string tail;  // health text (plain), or its deflate + trailer

  std::size_t size() const;
  // Hands bytes [offset, offset + length) of head + middle + tail to `write` in
  // place, without copying them; returns how many were handed over.
  std::size_t Read(
      std::size_t offset, std::size_t length,
      const std::function<void(const char*, std::size_t)>& write) const;
  std::string Join() const;  // the whole body (tests)
};

class ExpositionCache {
 public:
  ExpositionCache();
  ExpositionCache(const ExpositionCache&) = delete;
  ExpositionCache& operator=(const ExpositionCache&) = delete;

  // A new rendered snapshot for one app (replacing its previous one), served
  // until stale_seconds after its walk completed.
  void Update(std::shared_ptr<const RenderedSnapshot> rendered,
              double stale_seconds);
  // A new rendered top-rooms round for one app (replacing its previous one),
  // served until replaced or removed: the runner drops stale rooms itself.
  void UpdateTopRooms(std::shared_ptr<const RenderedTopRooms> rendered);
  void RemoveTopRooms(std::int64_t sdkappid);  // its top rooms were turned off
  void Remove(std::int64_t sdkappid);  // the app left the config (both parts)

  // The body for a scrape at `now` (Unix seconds), with the per-scrape `health`
  // text appended.
  ScrapeBody Build(double now, const std::string& health, bool gzip);

 private:
  // The current static body, rebuilt first when it has expired at `now`.
  std::shared_ptr<const StaticBody> Current(double now);

  struct Entry {
    std::shared_ptr<const RenderedSnapshot> rendered;
    double stale_at = 0;
  };
  void Rebuild(double now);

  std::mutex build_mutex_;  // serialises rebuilds
  std::mutex entries_mutex_;
  std::map<std::int64_t, Entry> entries_;
  std::map<std::int64_t, std::shared_ptr<const RenderedTopRooms>> top_rooms_;
  std::uint64_t generation_ = 0;  // bumped on every Update/Remove

  std::mutex body_mutex_;
  std::shared_ptr<const StaticBody> body_;
  std::uint64_t body_generation_ = 0;
  double body_expires_ = 0;  // the earliest stale_at among the included apps
};

}  // namespace tle
