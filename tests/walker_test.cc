// Walker against an in-memory RoomSource: paging, de-duplication, retries,
// failures as values.
#include "exporter/walker/walker.h"

#include <catch2/catch.hpp>
#include <deque>
#include <functional>

namespace tle {
namespace {

Room MakeRoom(const std::string& id, std::int64_t views) {
  Room room;
  room.room_id = id;
  room.view_count = views;
  return room;
}

DecodeResult Page(std::vector<Room> rooms, std::string next) {
  DecodeResult r;
  r.page.rooms = std::move(rooms);
  r.page.next = std::move(next);
  r.page.request_id = "Id-test";
  return r;
}

DecodeResult Error(ErrorKind kind, std::int64_t code) {
  DecodeResult r;
  r.error.kind = kind;
  r.error.code = code;
  r.error.message = "injected";
  r.error.request_id = "Id-err";
  return r;
}

// Answers from a script, one entry per call; records what it was asked.
class ScriptedSource final : public RoomSource {
 public:
  explicit ScriptedSource(std::deque<DecodeResult> script)
      : script_(std::move(script)) {}
  DecodeResult FetchPage(const std::string& next, int count) override {
    cursors.push_back(next);
    counts.push_back(count);
    if (script_.empty()) return Error(ErrorKind::kNetwork, 0);
    DecodeResult r = std::move(script_.front());
    script_.pop_front();
    return r;
  }
  void RenewCredential() override { ++renewals; }
  std::vector<std::string> cursors;
  std::vector<int> counts;
  int renewals = 0;

 private:
  std::deque<DecodeResult> script_;
};

struct Harness {
  explicit Harness(std::deque<DecodeResult> script, int max_retries = 3,
                   int max_pages = 100) {
    AppConfig app;
    app.sdkappid = 1400000000;
    app.walk.max_qps = 1000;
    app.walk.allow_qps_above_limit = true;
    app.walk.max_retries = max_retries;
    app.walk.max_pages = max_pages;
    app.walk.page_size = 7;
    auto owned = std::make_unique<ScriptedSource>(std::move(script));
    source = owned.get();
    WalkerTuning tuning;
    tuning.backoff_base = std::chrono::milliseconds(1);
    tuning.backoff_max = std::chrono::milliseconds(4);
    walker = std::make_unique<Walker>(
        app, std::move(owned),
        [this](std::shared_ptr<const Snapshot> s) {
          published.push_back(std::move(s));
        },
        tuning);
  }
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
  DecodeResult page = Page({MakeRoom("a", 1)}, "");
  page.page.rejected[static_cast<std::size_t>(RejectReason::kMissingRoomId)] =
      2;
  page.page.rejected[static_cast<std::size_t>(RejectReason::kBadField)] = 1;
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
  std::deque<DecodeResult> script;
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
  auto start = std::chrono::steady_clock::now();
  CHECK(h.walker->WalkOnce());
  CHECK(std::chrono::steady_clock::now() - start >= std::chrono::seconds(1));
  CHECK(
      h.walker->stats().View().api(Api::kGetRoomList).errors_by_code["60007"] ==
      1);
}

TEST_CASE("the walker thread walks on its interval and stops promptly") {
  std::deque<DecodeResult> script;
  for (int i = 0; i < 100; ++i) script.push_back(Page({MakeRoom("a", i)}, ""));
  Harness h(script);
  h.walker->Start();
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  auto start = std::chrono::steady_clock::now();
  h.walker->Stop();
  CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(1));
  CHECK(h.walker->stats().View().walks ==
        1);  // the interval (60 s) has not passed
  CHECK(h.published.size() == 1);
}

}  // namespace
}  // namespace tle
