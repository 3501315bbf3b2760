// Walker against an in-memory RoomSource: paging, de-duplication, retries,
// failures as values.
#include "exporter/walker/walker.h"

#include <atomic>
#include <catch2/catch.hpp>
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <stdexcept>

namespace tle {
namespace {

Room MakeRoom(const std::string& id, std::int64_t views) {
  Room room;
  room.room_id = id;
  room.view_count = views;
  return room;
}

using PageOrError = Result<RoomPage, FetchError>;

PageOrError Page(std::vector<Room> rooms, std::string next) {
  RoomPage page;
  page.rooms = std::move(rooms);
  page.next = std::move(next);
  page.request_id = "Id-test";
  return page;
}

PageOrError Error(ErrorKind kind, std::int64_t code) {
  return FetchError{kind, code, "injected", "Id-err"};
}

// Answers from a script, one entry per call; records what it was asked.
class ScriptedSource final : public RoomSource {
 public:
  explicit ScriptedSource(std::deque<PageOrError> script)
      : script_(std::move(script)) {}
  PageOrError FetchPage(const std::string& next, int count) override {
    cursors.push_back(next);
    counts.push_back(count);
    if (script_.empty()) return Error(ErrorKind::kNetwork, 0);
    PageOrError r = std::move(script_.front());
    script_.pop_front();
    return r;
  }
  void RenewCredential() override { ++renewals; }
  std::vector<std::string> cursors;
  std::vector<int> counts;
  int renewals = 0;

 private:
  std::deque<PageOrError> script_;
};

// A walker on a FakeClock. By default every wait (slot, backoff, interval)
// moves the fake time and returns at once, so no test sleeps; `elapsed()` is
// how long the walk would have taken.
struct Harness {
  explicit Harness(std::deque<PageOrError> script, int max_retries = 3,
                   int max_pages = 100,
                   FakeClock::Mode mode = FakeClock::Mode::kAdvanceOnSleep,
                   double max_qps = 1000)
      : clock(mode), start(clock.NowSteady()) {
    AppConfig app;
    app.sdkappid = 1400000000;
    app.walk.max_qps = max_qps;
    app.walk.allow_qps_above_limit = true;
    app.walk.max_retries = max_retries;
    app.walk.max_pages = max_pages;
    app.walk.page_size = 7;
    auto owned = std::make_unique<ScriptedSource>(std::move(script));
    source = owned.get();
    walker = std::make_unique<Walker>(
        app, std::move(owned),
        [this](std::shared_ptr<const Snapshot> s) {
          published.push_back(std::move(s));
        },
        WalkerTuning{}, clock);
  }
  SteadyDuration elapsed() const { return clock.NowSteady() - start; }

  FakeClock clock;
  SteadyTime start;
  ScriptedSource* source;
  std::vector<std::shared_ptr<const Snapshot>> published;
  std::unique_ptr<Walker> walker;
};

TEST_CASE(
    "a walk follows the cursor, de-duplicates and publishes one sorted "
    "snapshot") {
  Harness h({Page({MakeRoom("a", 10), MakeRoom("b", 30)}, "c1"),
             Page({MakeRoom("b", 31), MakeRoom("c", 5)}, "c2"),
             Page({MakeRoom("d", 50)}, "")});
  REQUIRE(h.walker->WalkOnce());
  CHECK(h.source->cursors == std::vector<std::string>{"", "c1", "c2"});
  CHECK(h.source->counts == std::vector<int>{7, 7, 7});
  REQUIRE(h.published.size() == 1);
  const Snapshot& s = *h.published[0];
  REQUIRE(s.rooms.size() == 4);
  CHECK(s.rooms[0].room_id == "d");
  CHECK(s.rooms[1].room_id == "b");
  CHECK(s.rooms[1].view_count == 30);  // the first sighting is kept
  CHECK(s.pages == 3);
  auto v = h.walker->stats().View();
  CHECK(v.up);
  CHECK(v.walks == 1);
  CHECK(v.api(Api::kGetRoomList).requests == 3);
  CHECK(v.last_walk_pages == 3);
  CHECK(v.rejected[static_cast<std::size_t>(RejectReason::kDuplicate)] == 1);
  CHECK(v.last_success_timestamp > 0);
}

TEST_CASE("rooms the decoder rejected are counted") {
  PageOrError page = Page({MakeRoom("a", 1)}, "");
  page->rejected[static_cast<std::size_t>(RejectReason::kMissingRoomId)] = 2;
  page->rejected[static_cast<std::size_t>(RejectReason::kBadField)] = 1;
  Harness h({page});
  REQUIRE(h.walker->WalkOnce());
  auto v = h.walker->stats().View();
  CHECK(v.rejected[static_cast<std::size_t>(RejectReason::kMissingRoomId)] ==
        2);
  CHECK(v.rejected[static_cast<std::size_t>(RejectReason::kBadField)] == 1);
}

TEST_CASE("transient errors are retried and the walk completes") {
  Harness h({Error(ErrorKind::kApi, 100001), Error(ErrorKind::kHttp, 502),
             Page({MakeRoom("a", 1)}, "")});
  REQUIRE(h.walker->WalkOnce());
  auto v = h.walker->stats().View();
  CHECK(v.api(Api::kGetRoomList).errors_by_code["100001"] == 1);
  CHECK(v.api(Api::kGetRoomList).errors_by_code["http_502"] == 1);
  CHECK(v.api(Api::kGetRoomList).retries == 2);
  CHECK(v.api(Api::kGetRoomList).requests == 3);
  CHECK(h.source->cursors == std::vector<std::string>{"", "", ""});
  CHECK(h.published.size() == 1);
}

TEST_CASE("retries exhausted fail the walk with the reason of the last error") {
  SECTION("network") {
    Harness h({}, 2);
    CHECK_FALSE(h.walker->WalkOnce());
    auto v = h.walker->stats().View();
    CHECK(v.api(Api::kGetRoomList).requests == 3);
    CHECK(v.api(Api::kGetRoomList).retries == 2);
    CHECK(v.failures[static_cast<std::size_t>(WalkFailure::kNetwork)] == 1);
    CHECK_FALSE(v.up);
    CHECK(h.published.empty());
  }
  SECTION("timeout") {
    Harness h({Error(ErrorKind::kTimeout, 0), Error(ErrorKind::kTimeout, 0)},
              1);
    CHECK_FALSE(h.walker->WalkOnce());
    CHECK(h.walker->stats()
              .View()
              .failures[static_cast<std::size_t>(WalkFailure::kTimeout)] == 1);
  }
  SECTION("decode") {
    Harness h({Error(ErrorKind::kDecode, 0)}, 0);
    CHECK_FALSE(h.walker->WalkOnce());
    CHECK(h.walker->stats()
              .View()
              .failures[static_cast<std::size_t>(WalkFailure::kDecode)] == 1);
  }
}

TEST_CASE("a configuration error is not retried") {
  for (std::int64_t code : {70003, 60010, 100002, 70009}) {
    Harness h({Error(ErrorKind::kApi, code), Page({}, "")});
    CHECK_FALSE(h.walker->WalkOnce());
    auto v = h.walker->stats().View();
    CHECK(v.api(Api::kGetRoomList).requests == 1);
    CHECK(v.api(Api::kGetRoomList).retries == 0);
    CHECK(v.api(Api::kGetRoomList).errors_by_code[std::to_string(code)] == 1);
    CHECK(v.failures[static_cast<std::size_t>(WalkFailure::kApiError)] == 1);
  }
}

TEST_CASE("70001 renews the UserSig and retries once") {
  Harness ok({Error(ErrorKind::kApi, 70001), Page({MakeRoom("a", 1)}, "")});
  CHECK(ok.walker->WalkOnce());
  CHECK(ok.source->renewals == 1);
  Harness twice({Error(ErrorKind::kApi, 70001), Error(ErrorKind::kApi, 70001),
                 Page({}, "")});
  CHECK_FALSE(twice.walker->WalkOnce());
  CHECK(twice.source->renewals == 1);
  CHECK(twice.walker->stats().View().api(Api::kGetRoomList).requests == 2);
}

TEST_CASE("a cursor seen twice fails the walk instead of looping") {
  Harness h({Page({MakeRoom("a", 3)}, "x"), Page({MakeRoom("b", 2)}, "y"),
             Page({MakeRoom("c", 1)}, "x"), Page({}, "")});
  CHECK_FALSE(h.walker->WalkOnce());
  CHECK(h.walker->stats()
            .View()
            .failures[static_cast<std::size_t>(WalkFailure::kCursorLoop)] == 1);
  CHECK(h.source->cursors.size() == 3);
  CHECK(h.published.empty());
}

TEST_CASE("a walk longer than max_pages fails") {
  std::deque<PageOrError> script;
  for (int i = 0; i < 10; ++i)
    script.push_back(
        Page({MakeRoom("r" + std::to_string(i), i)}, "n" + std::to_string(i)));
  Harness h(script, 3, 4);
  CHECK_FALSE(h.walker->WalkOnce());
  CHECK(h.walker->stats()
            .View()
            .failures[static_cast<std::size_t>(WalkFailure::kMaxPages)] == 1);
  CHECK(h.source->cursors.size() == 4);
}

TEST_CASE("a walk of exactly max_pages completes") {
  Harness h({Page({MakeRoom("a", 1)}, "n1"), Page({MakeRoom("b", 1)}, "")}, 3,
            2);
  CHECK(h.walker->WalkOnce());
}

TEST_CASE(
    "a rate-limit answer backs off at least a second, then the walk goes on") {
  Harness h({Error(ErrorKind::kApi, 60007), Page({MakeRoom("a", 1)}, "")});
  CHECK(h.walker->WalkOnce());
  CHECK(h.elapsed() >= std::chrono::seconds(1));
  CHECK(
      h.walker->stats().View().api(Api::kGetRoomList).errors_by_code["60007"] ==
      1);
}

TEST_CASE("retries back off exponentially, with jitter, up to backoff_max") {
  // Default tuning: 500 ms base. Backoffs of attempts 0, 1, 2 lie in
  // [250, 500], [500, 1000], [1000, 2000] ms.
  Harness h({Error(ErrorKind::kHttp, 502), Error(ErrorKind::kHttp, 502),
             Error(ErrorKind::kHttp, 502), Page({}, "")});
  CHECK(h.walker->WalkOnce());
  CHECK(h.elapsed() >= std::chrono::milliseconds(1750));
  CHECK(h.elapsed() <= std::chrono::milliseconds(3500));
}

TEST_CASE("requests are paced at max_qps on the walker's clock") {
  std::deque<PageOrError> script;
  for (int i = 0; i < 4; ++i)
    script.push_back(
        Page({MakeRoom("r" + std::to_string(i), i)}, "n" + std::to_string(i)));
  script.push_back(Page({}, ""));
  // 2 per second: pages 1-2 at once, 3-4 a second later, 5 at two seconds.
  Harness h(script, 3, 100, FakeClock::Mode::kAdvanceOnSleep, 2);
  CHECK(h.walker->WalkOnce());
  CHECK(h.elapsed() == std::chrono::seconds(2));
  REQUIRE(h.published.size() == 1);
  CHECK(h.published[0]->completed_at == Approx(h.clock.NowUnix()));
}

TEST_CASE("the walker thread walks on its interval and stops promptly") {
  std::deque<PageOrError> script;
  for (int i = 0; i < 100; ++i) script.push_back(Page({MakeRoom("a", i)}, ""));
  Harness h(script, 3, 100, FakeClock::Mode::kManual);
  h.walker->Start();
  // The first walk is done once the thread waits for the interval (60 s of
  // the fake clock, which stands still until the test moves it).
  REQUIRE(h.clock.WaitForSleepers(1));
  CHECK(h.walker->stats().View().walks == 1);
  CHECK(h.published.size() == 1);
  h.clock.Advance(std::chrono::seconds(59));
  CHECK(h.clock.sleepers() == 1);  // not yet
  h.clock.Advance(std::chrono::seconds(1));
  // The second walk ran; the thread waits for the next interval.
  REQUIRE(h.clock.WaitForSleepers(1));
  CHECK(h.walker->stats().View().walks == 2);
  CHECK(h.published.size() == 2);
  // Stop ends the wait at once: the fake time never reaches the deadline, so
  // a Stop that waited for it would never return.
  auto stop_start = std::chrono::steady_clock::now();
  h.walker->Stop();
  CHECK(std::chrono::steady_clock::now() - stop_start <
        std::chrono::seconds(5));
  CHECK(h.walker->stats().View().walks == 2);
}

TEST_CASE("Start is idempotent and a stop is final") {
  Harness h({Page({MakeRoom("a", 1)}, ""), Page({MakeRoom("a", 2)}, "")}, 3,
            100, FakeClock::Mode::kManual);
  h.walker->Start();
  h.walker->Start();  // no second thread (it used to std::terminate)
  REQUIRE(h.clock.WaitForSleepers(1));
  h.walker->Stop();
  h.walker->Stop();
  h.walker->Start();  // stopped for good: no thread, no walk
  CHECK(h.clock.sleepers() == 0);
  h.walker->Stop();
  CHECK(h.walker->stats().View().walks == 1);
  CHECK(h.published.size() == 1);
}

// A silent upstream: FetchPage blocks until Cancel. Cancel is sticky, as the
// RoomSource contract asks: a FetchPage that starts after it returns at once.
class SilentSource final : public RoomSource {
 public:
  PageOrError FetchPage(const std::string&, int) override {
    std::unique_lock<std::mutex> lock(mutex_);
    ++fetches_;
    changed_.notify_all();
    changed_.wait(lock, [this] { return cancelled_; });
    return Error(ErrorKind::kNetwork, 0);
  }
  void Cancel() override {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      cancelled_ = true;
    }
    changed_.notify_all();
  }
  bool WaitForFetch() {
    std::unique_lock<std::mutex> lock(mutex_);
    return changed_.wait_for(lock, std::chrono::seconds(20),
                             [this] { return fetches_ > 0; });
  }
  int fetches() {
    std::lock_guard<std::mutex> lock(mutex_);
    return fetches_;
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  bool cancelled_ = false;
  int fetches_ = 0;
};

TEST_CASE("Stop aborts a request in flight and the walk does not retry") {
  FakeClock clock;  // manual: a retry's backoff would wait forever
  AppConfig app;
  app.sdkappid = 1;
  app.walk.max_retries = 5;
  auto owned = std::make_unique<SilentSource>();
  SilentSource* source = owned.get();
  Walker walker(app, std::move(owned), nullptr, WalkerTuning{}, clock);
  walker.Start();
  REQUIRE(source->WaitForFetch());
  walker.Stop();
  CHECK(source->fetches() == 1);
  auto v = walker.stats().View();
  CHECK(v.api(Api::kGetRoomList).retries == 0);
  for (std::uint64_t failures : v.failures) CHECK(failures == 0);
}

class ThrowingSource final : public RoomSource {
 public:
  PageOrError FetchPage(const std::string&, int) override {
    throw std::runtime_error("boom");
  }
};

TEST_CASE("an exception in a walk is no decode failure") {
  FakeClock clock(FakeClock::Mode::kAdvanceOnSleep);
  AppConfig app;
  app.sdkappid = 1;
  Walker walker(app, std::make_unique<ThrowingSource>(), nullptr,
                WalkerTuning{}, clock);
  CHECK_FALSE(walker.WalkOnce());
  auto v = walker.stats().View();
  CHECK_FALSE(v.up);
  CHECK(v.walks == 1);
  CHECK(v.last_error == "internal error: boom");
  for (std::uint64_t failures : v.failures) CHECK(failures == 0);
}

TEST_CASE("the reason tables hold one row per enumerator, in order") {
  CHECK(std::string(WalkFailureLabel(WalkFailure::kCursorLoop)) ==
        "cursor_loop");
  CHECK(std::string(WalkFailureLabel(WalkFailure::kTimeout)) == "timeout");
  CHECK(std::string(RejectReasonLabel(RejectReason::kDuplicate)) ==
        "duplicate");
  CHECK(kWalkFailureCount == 6);
  CHECK(kRejectReasonCount == 3);
}

}  // namespace
}  // namespace tle
