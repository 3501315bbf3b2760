#include "exporter/metrics/exposition_cache.h"

#include <algorithm>
#include <limits>
#include <vector>

namespace tle {

std::size_t ScrapeBody::size() const {
  std::size_t total = head.size() + tail.size();
  for (std::string_view piece : middle) total += piece.size();
  return total;
}

std::size_t ScrapeBody::Read(
    std::size_t offset, std::size_t length,
    const std::function<void(const char*, std::size_t)>& write) const {
  std::size_t copied = 0;
  auto take = [&](std::string_view piece) {
    if (copied == length) return;
    if (offset >= piece.size()) {
      offset -= piece.size();
      return;
    }
    std::size_t n = std::min(piece.size() - offset, length - copied);
    write(piece.data() + offset, n);
    copied += n;
    offset = 0;
  };
  take(head);
  for (std::string_view piece : middle) take(piece);
  take(tail);
  return copied;
}

std::string ScrapeBody::Join() const {
  std::string out;
  out.reserve(size());
  Read(0, size(),
       [&](const char* data, std::size_t n) { out.append(data, n); });
  return out;
}

ExpositionCache::ExpositionCache()
    : body_(std::make_shared<StaticBody>()),
      body_expires_(std::numeric_limits<double>::infinity()) {}

void ExpositionCache::Update(std::shared_ptr<const RenderedSnapshot> rendered,
                             double stale_seconds) {
  double now = rendered->completed_at;
  {
    std::lock_guard<std::mutex> lock(entries_mutex_);
    Entry& entry = entries_[rendered->sdkappid];
    entry.stale_at = rendered->completed_at + stale_seconds;
    entry.rendered = std::move(rendered);
    ++generation_;
  }
  Rebuild(now);  // on the walker's thread, so scrapes never pay for it
}

void ExpositionCache::UpdateTopRooms(
    std::shared_ptr<const RenderedTopRooms> rendered) {
  {
    std::lock_guard<std::mutex> lock(entries_mutex_);
    top_rooms_[rendered->sdkappid] = std::move(rendered);
    ++generation_;
  }
  Rebuild(0);  // on the round's thread
}

void ExpositionCache::RemoveTopRooms(std::int64_t sdkappid) {
  {
    std::lock_guard<std::mutex> lock(entries_mutex_);
    top_rooms_.erase(sdkappid);
    ++generation_;
  }
  Rebuild(0);
}

void ExpositionCache::Remove(std::int64_t sdkappid) {
  {
    std::lock_guard<std::mutex> lock(entries_mutex_);
    entries_.erase(sdkappid);
    top_rooms_.erase(sdkappid);
    ++generation_;
  }
  Rebuild(0);
}

void ExpositionCache::Rebuild(double now) {
  std::lock_guard<std::mutex> build(build_mutex_);
  std::vector<std::shared_ptr<const RenderedSnapshot>> keep;
  std::vector<std::shared_ptr<const RenderedTopRooms>> keep_top_rooms;
  std::uint64_t generation = 0;
  double expires = std::numeric_limits<double>::infinity();
  {
    std::lock_guard<std::mutex> lock(entries_mutex_);
    generation = generation_;
    for (const auto& [id, entry] : entries_) {
      if (now > 0 && now >= entry.stale_at) continue;
      keep.push_back(entry.rendered);
      expires = std::min(expires, entry.stale_at);
    }
    for (const auto& [id, rendered] : top_rooms_)
      keep_top_rooms.push_back(rendered);
  }
  {
    std::lock_guard<std::mutex> lock(body_mutex_);
    if (body_generation_ == generation && body_expires_ > now && now > 0)
      return;
  }
  std::vector<const RenderedSnapshot*> parts;
  parts.reserve(keep.size());
  for (const auto& r : keep) parts.push_back(r.get());
  std::vector<const RenderedTopRooms*> top_rooms;
  top_rooms.reserve(keep_top_rooms.size());
  for (const auto& r : keep_top_rooms) top_rooms.push_back(r.get());
  auto body = std::make_shared<StaticBody>();
  body->parts = std::move(keep);
  body->top_rooms_parts = std::move(keep_top_rooms);
  body->pieces = AssembleSnapshots(parts);
  for (std::string_view piece : AssembleTopRooms(top_rooms))
    body->pieces.push_back(piece);
  for (std::string_view piece : body->pieces) body->text_size += piece.size();
  body->deflated = Deflate(body->pieces, false);
  std::shared_ptr<const StaticBody> old;
  {
    std::lock_guard<std::mutex> lock(body_mutex_);
    old = std::move(body_);
    body_ = std::move(body);
    body_generation_ = generation;
    body_expires_ = expires;
  }
}

std::shared_ptr<const StaticBody> ExpositionCache::Current(double now) {
  bool rebuild = false;
  {
    std::lock_guard<std::mutex> lock(body_mutex_);
    rebuild = now >= body_expires_;
  }
  if (rebuild) Rebuild(now);
  std::lock_guard<std::mutex> lock(body_mutex_);
  return body_;
}

ScrapeBody ExpositionCache::Build(double now, const std::string& health,
                                  bool gzip) {
  ScrapeBody out;
  out.gzip = gzip;
  out.shared = Current(now);
  if (!gzip) {
    out.middle = out.shared->pieces;
    out.tail = health;
    return out;
  }
  DeflatedPart tail = Deflate(health, true);
  out.head = GzipHeader();
  out.middle = {out.shared->deflated.data};
  out.tail = std::move(tail.data);
  out.tail.append(GzipTrailer(out.shared->deflated, tail));
  return out;
}

}  // namespace tle
