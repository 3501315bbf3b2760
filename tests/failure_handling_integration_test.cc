// Failure handling (README "Failure handling", docs/failure-handling.md): one
// TEST_CASE per row of the table, each against the in-process simulator with
// its faults switched on, through the real HTTP client, walker and metrics
// stage. Asserts the counters, tencent_live_up, the served snapshot and the
// log line. Codes the simulator cannot produce (70050, 60011, 70009, ...) are
// injected by a RoomSource wrapped around the real client.
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <cstdio>
#include <deque>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "exporter/client/http_room_source.h"
#include "exporter/common/log.h"
#include "exporter/decoder/room_page_decoder.h"
#include "exporter/exporter.h"
#include "simulator/simulator.h"
#include "tests/support/metrics_text.h"

namespace tle {
namespace {

using std::chrono::milliseconds;
using Clock = std::chrono::steady_clock;

constexpr std::int64_t kApp = 1400000000;
constexpr const char* kSecret = "demo-secret-key-not-for-production";

// ---- log capture -----------------------------------------------------------

std::mutex g_log_mutex;
std::vector<std::string> g_log_lines;

void CaptureLine(const std::string& line) {
  std::lock_guard<std::mutex> lock(g_log_mutex);
  g_log_lines.push_back(line);
}

class LogCapture {
 public:
  LogCapture() {
    std::lock_guard<std::mutex> lock(g_log_mutex);
    g_log_lines.clear();
    SetLogLevel(LogLevel::kInfo);
    SetLogSink(&CaptureLine);
  }
  ~LogCapture() { SetLogSink(nullptr); }
  LogCapture(const LogCapture&) = delete;
  LogCapture& operator=(const LogCapture&) = delete;

  // Lines containing every one of `parts`.
  std::vector<std::string> Lines(const std::vector<std::string>& parts) const {
    std::lock_guard<std::mutex> lock(g_log_mutex);
    std::vector<std::string> out;
    for (const std::string& line : g_log_lines) {
      bool all = true;
      for (const std::string& part : parts)
        all = all && line.find(part) != std::string::npos;
      if (all) out.push_back(line);
    }
    return out;
  }
  std::string All() const {
    std::lock_guard<std::mutex> lock(g_log_mutex);
    std::string out;
    for (const std::string& line : g_log_lines) out += line + "\n";
    return out;
  }
};

// ---- exposition parsing ----------------------------------------------------

using Sample = testing::LabelledSample;
using testing::ParseLabelledSamples;

// The value of the first sample of `name` carrying every label of `labels`.
std::optional<double> Value(
    const std::string& text, const std::string& name,
    const std::map<std::string, std::string>& labels = {}) {
  for (const Sample& s : ParseLabelledSamples(text)) {
    if (s.name != name) continue;
    bool match = true;
    for (const auto& [k, v] : labels) {
      auto it = s.labels.find(k);
      match = match && it != s.labels.end() && it->second == v;
    }
    if (match) return s.value;
  }
  return std::nullopt;
}

double ValueOr0(const std::string& text, const std::string& name,
                const std::map<std::string, std::string>& labels = {}) {
  return Value(text, name, labels).value_or(0);
}

const std::set<std::string>& SnapshotFamilies() {
  static const std::set<std::string> kNames = {
      "tencent_live_room_views",
      "tencent_live_room_info",
      "tencent_live_room_activity_status",
      "tencent_live_room_created_timestamp_seconds",
      "tencent_live_rooms",
      "tencent_live_views",
      "tencent_live_category_rooms",
      "tencent_live_activity_status_rooms",
      "tencent_live_room_series_omitted"};
  return kNames;
}

// The room series and aggregates of a scrape, line by line.
std::vector<std::string> SnapshotLines(const std::string& text) {
  std::vector<std::string> out;
  for (const Sample& s : ParseLabelledSamples(text)) {
    if (SnapshotFamilies().count(s.name) > 0) out.push_back(s.line);
  }
  return out;
}

std::set<std::string> RoomIds(const std::string& text) {
  std::set<std::string> out;
  for (const Sample& s : ParseLabelledSamples(text)) {
    if (s.name == "tencent_live_room_views") out.insert(s.labels.at("room_id"));
  }
  return out;
}

// ---- a RoomSource that injects API errors in front of the real client ------

struct Injection {
  std::mutex mutex;
  std::deque<FetchError> errors;  // answered before the real client is asked
};

class InjectingSource final : public RoomSource {
 public:
  InjectingSource(std::unique_ptr<RoomSource> inner,
                  std::shared_ptr<Injection> injection)
      : inner_(std::move(inner)), injection_(std::move(injection)) {}
  Result<RoomPage, FetchError> FetchPage(const std::string& next,
                                         int count) override {
    {
      std::lock_guard<std::mutex> lock(injection_->mutex);
      if (!injection_->errors.empty()) {
        FetchError error = injection_->errors.front();
        injection_->errors.pop_front();
        return error;
      }
    }
    return inner_->FetchPage(next, count);
  }
  void RenewCredential() override { inner_->RenewCredential(); }
  void Cancel() override { inner_->Cancel(); }

 private:
  std::unique_ptr<RoomSource> inner_;
  std::shared_ptr<Injection> injection_;
};

FetchError ApiError(std::int64_t code) {
  FetchError e;
  e.kind = ErrorKind::kApi;
  e.code = code;
  e.message = "injected";
  e.request_id = "Id-injected-" + std::to_string(code);
  return e;
}

// ---- the rig: simulator + exporter -----------------------------------------

struct RigOptions {
  int rooms = 45;  // 3 pages of 20
  int max_retries = 3;
  int max_pages = 100;
  Duration request_timeout = milliseconds(1000);
  Duration stale_after = std::chrono::hours(1);
  milliseconds slow_delay{3000};
  std::string secret = kSecret;
  std::string identifier = "administrator";
  WalkerTuning tuning = [] {
    WalkerTuning t;
    t.backoff_base = milliseconds(20);
    t.backoff_max = milliseconds(100);
    t.rate_limit_hold = milliseconds(2000);
    t.long_backoff = milliseconds(1500);
    return t;
  }();
};

SimulatorOptions SimOptions(const RigOptions& o) {
  SimulatorOptions s;
  s.rooms = o.rooms;
  s.seed = 7;
  s.slow_delay = o.slow_delay;
  s.max_qps = 1000;  // the faults under test, not the simulator's own limit
  return s;
}

class Rig {
 public:
  explicit Rig(RigOptions options = {})
      : options_(options),
        injection_(std::make_shared<Injection>()),
        sim_(SimOptions(options)) {
    sim_.Start();
    AppConfig app;
    app.sdkappid = kApp;
    app.endpoint = sim_.endpoint();
    app.identifier = options.identifier;
    app.credential.kind = Credential::Kind::kSecretKey;
    app.credential.value = options.secret;
    app.walk.interval = std::chrono::hours(1);
    app.walk.request_timeout = options.request_timeout;
    app.walk.page_size = 20;
    app.walk.max_qps = 10;
    app.walk.max_retries = options.max_retries;
    app.walk.max_pages = options.max_pages;
    app.walk.max_room_series = 0;
    app.walk.stale_after = options.stale_after;
    Config config;
    config.apps.push_back(app);
    auto injection = injection_;
    RoomSourceFactory real = HttpRoomSourceFactory();
    exporter_ = std::make_unique<Exporter>(
        config,
        [real, injection](const AppConfig& a) -> std::unique_ptr<RoomSource> {
          return std::make_unique<InjectingSource>(real(a), injection);
        },
        ConfigLoader{}, options.tuning);
  }
  ~Rig() {
    exporter_.reset();
    sim_.Stop();
  }
  Rig(const Rig&) = delete;
  Rig& operator=(const Rig&) = delete;

  Simulator& sim() { return sim_; }
  Exporter& exporter() { return *exporter_; }
  std::string Scrape() { return exporter_->Scrape(false).Join(); }
  void Inject(FetchError error) {
    std::lock_guard<std::mutex> lock(injection_->mutex);
    injection_->errors.push_back(std::move(error));
  }
  // Runs one walk; returns whether it completed and how long it took.
  bool Walk(double* seconds = nullptr) {
    auto start = Clock::now();
    bool ok = exporter_->WalkAllOnce();
    if (seconds != nullptr)
      *seconds = std::chrono::duration<double>(Clock::now() - start).count();
    return ok;
  }

 private:
  RigOptions options_;
  std::shared_ptr<Injection> injection_;
  Simulator sim_;
  std::unique_ptr<Exporter> exporter_;
};

const std::map<std::string, std::string> kNoLabels;

std::map<std::string, std::string> Code(const std::string& code) {
  return {{"code", code}};
}
std::map<std::string, std::string> Reason(const std::string& reason) {
  return {{"reason", reason}};
}

// ---- row 1 -----------------------------------------------------------------

TEST_CASE("retryable errors are retried with backoff and the walk completes",
          "[integration]") {
  struct Case {
    FaultKind fault;
    const char* code;
  };
  const Case cases[] = {{FaultKind::kInternalError, "100001"},
                        {FaultKind::kHttp502, "http_502"},
                        {FaultKind::kSlow, "timeout"},
                        {FaultKind::kCloseMidBody, "network"}};
  for (const Case& c : cases) {
    DYNAMIC_SECTION(FaultName(c.fault)) {
      Rig rig;
      LogCapture logs;
      rig.sim().SetFault(c.fault, {1.0, 2});  // two failures in a row
      REQUIRE(rig.Walk());
      const std::string text = rig.Scrape();
      INFO(logs.All());
      CHECK(ValueOr0(text, "tencent_live_api_errors_total", Code(c.code)) == 2);
      CHECK(ValueOr0(text, "tencent_live_api_retries_total") == 2);
      CHECK(ValueOr0(text, "tencent_live_api_requests_total") == 5);
      CHECK(ValueOr0(text, "tencent_live_up") == 1);
      CHECK(ValueOr0(text, "tencent_live_rooms") == 45);
      CHECK(logs.Lines({"level=warn", "request failed, retrying",
                        std::string("code=") + c.code})
                .size() == 2);
      CHECK(logs.Lines({"level=error"}).empty());
    }
  }
}

// ---- row 2 -----------------------------------------------------------------

TEST_CASE(
    "retries exhausted or a non-retryable code fail the walk, set up 0 and "
    "keep serving the previous snapshot",
    "[integration]") {
  struct Case {
    FaultKind fault;
    const char* reason;
    const char* code;
    int retries;  // with max_retries 1
  };
  const Case cases[] = {
      {FaultKind::kInternalError, "api_error", "100001", 1},
      {FaultKind::kHttp502, "network", "http_502", 1},
      {FaultKind::kCloseMidBody, "network", "network", 1},
      {FaultKind::kSlow, "timeout", "timeout", 1},
      {FaultKind::kMalformedJson, "decode", "decode", 1},
      {FaultKind::kBadSignature, "api_error", "70003", 0},
      {FaultKind::kNotAdmin, "api_error", "60010", 0},
  };
  for (const Case& c : cases) {
    DYNAMIC_SECTION(FaultName(c.fault)) {
      RigOptions options;
      options.max_retries = 1;
      Rig rig(options);
      REQUIRE(rig.Walk());
      const std::string before = rig.Scrape();
      REQUIRE(ValueOr0(before, "tencent_live_rooms") == 45);

      LogCapture logs;
      rig.sim().SetFault(c.fault, {1.0, -1});
      CHECK_FALSE(rig.Walk());
      const std::string after = rig.Scrape();
      INFO(logs.All());
      CHECK(ValueOr0(after, "tencent_live_up") == 0);
      CHECK(ValueOr0(after, "tencent_live_walk_failures_total",
                     Reason(c.reason)) == 1);
      CHECK(ValueOr0(after, "tencent_live_walks_total") == 2);
      CHECK(ValueOr0(after, "tencent_live_api_errors_total", Code(c.code)) ==
            c.retries + 1);
      CHECK(ValueOr0(after, "tencent_live_api_retries_total") == c.retries);
      // The first walk's room series and aggregates, unchanged.
      CHECK(SnapshotLines(after) == SnapshotLines(before));
      CHECK(Value(after, "tencent_live_last_success_timestamp_seconds") ==
            Value(before, "tencent_live_last_success_timestamp_seconds"));
      // One error line, naming reason, code and a likely cause.
      auto errors = logs.Lines({"level=error"});
      REQUIRE(errors.size() == 1);
      CHECK(errors[0].find("msg=\"walk failed\"") != std::string::npos);
      CHECK(errors[0].find(std::string("reason=") + c.reason) !=
            std::string::npos);
      CHECK(errors[0].find(std::string("code=") + c.code) != std::string::npos);
      CHECK(errors[0].find("likely_cause=") != std::string::npos);
    }
  }
}

// ---- row 3 -----------------------------------------------------------------

TEST_CASE(
    "a snapshot older than stale_after leaves /metrics; health series stay",
    "[integration]") {
  RigOptions options;
  options.stale_after = milliseconds(1000);
  Rig rig(options);
  REQUIRE(rig.Walk());
  const std::string fresh = rig.Scrape();
  REQUIRE(ValueOr0(fresh, "tencent_live_rooms") == 45);
  REQUIRE(RoomIds(fresh).size() == 45);

  // A failed walk does not refresh the snapshot's age.
  rig.sim().SetFault(FaultKind::kBadSignature, {1.0, -1});
  CHECK_FALSE(rig.Walk());
  std::this_thread::sleep_for(milliseconds(1300));
  const std::string stale = rig.Scrape();
  CHECK(SnapshotLines(stale).empty());
  CHECK_FALSE(Value(stale, "tencent_live_rooms"));
  CHECK_FALSE(Value(stale, "tencent_live_views"));
  CHECK_FALSE(Value(stale, "tencent_live_room_views"));
  CHECK(stale.find("# TYPE tencent_live_room_views") == std::string::npos);
  // Health series stay.
  CHECK(Value(stale, "tencent_live_up") == 0);
  CHECK(Value(stale, "tencent_live_walks_total") == 2);
  CHECK(Value(stale, "tencent_live_last_success_timestamp_seconds") ==
        Value(fresh, "tencent_live_last_success_timestamp_seconds"));
  CHECK(Value(stale, "tencent_live_walk_failures_total", Reason("api_error")) ==
        1);

  // The next complete walk brings the series back.
  rig.sim().ClearFaults();
  REQUIRE(rig.Walk());
  CHECK(ValueOr0(rig.Scrape(), "tencent_live_rooms") == 45);
}

// ---- row 4 -----------------------------------------------------------------

TEST_CASE(
    "malformed JSON and OK without Response count as decode, are retried and "
    "log the RequestId",
    "[integration]") {
  for (FaultKind fault :
       {FaultKind::kMalformedJson, FaultKind::kOkWithoutResponse}) {
    DYNAMIC_SECTION(FaultName(fault)) {
      Rig rig;
      LogCapture logs;
      rig.sim().SetFault(fault, {1.0, 1});
      REQUIRE(rig.Walk());
      const std::string text = rig.Scrape();
      INFO(logs.All());
      CHECK(ValueOr0(text, "tencent_live_api_errors_total", Code("decode")) ==
            1);
      CHECK(ValueOr0(text, "tencent_live_api_retries_total") == 1);
      CHECK(ValueOr0(text, "tencent_live_up") == 1);
      CHECK(ValueOr0(text, "tencent_live_rooms") == 45);
      auto lines = logs.Lines(
          {"request failed, retrying", "code=decode", "request_id=Id-"});
      CHECK(lines.size() == 1);
    }
  }
}

TEST_CASE("the RequestId of an answer that does not parse is still found",
          "[integration]") {
  auto r = DecodeRoomPage(
      "{\"ActionStatus\":\"OK\",\"RequestId\" : \"Id-abc-O-Seq-9\","
      "\"Response\":{\"RoomList\":[{\"RoomId\":");
  CHECK(r.error().kind == ErrorKind::kDecode);
  CHECK(r.error().request_id == "Id-abc-O-Seq-9");
  CHECK(
      DecodeRoomPage("{\"RequestId\":\"a\\\"b\",").error().request_id.empty());
  CHECK(DecodeRoomPage("{\"RequestId\":12,").error().request_id.empty());
  CHECK(DecodeRoomPage("<html>").error().request_id.empty());
}

// ---- row 5 -----------------------------------------------------------------

TEST_CASE(
    "a bad room is dropped and counted; the rest of the page is kept; numeric "
    "strings are accepted",
    "[integration]") {
  SECTION("wrong types") {
    Rig rig;
    const std::vector<Room> rooms = rig.sim().Rooms();
    rig.sim().SetFault(FaultKind::kWrongTypes, {1.0, 1});  // on page 1
    REQUIRE(rig.Walk());
    const std::string text = rig.Scrape();
    // Rooms 1, 4, ..., 19 of page 1 are damaged in turn: ViewCount as a
    // numeric string (kept), as a fraction, negative, above 2^53, Category not
    // an array (dropped), Owner_Account as a number, CreateTime as a numeric
    // string (kept).
    CHECK(ValueOr0(text, "tencent_live_rooms_rejected_total",
                   Reason("bad_field")) == 4);
    CHECK(ValueOr0(text, "tencent_live_rooms_rejected_total",
                   Reason("missing_room_id")) == 0);
    CHECK(ValueOr0(text, "tencent_live_rooms") == 41);
    CHECK(ValueOr0(text, "tencent_live_up") == 1);
    const std::set<std::string> ids = RoomIds(text);
    for (std::size_t dropped : {4, 7, 10, 13})
      CHECK(ids.count(rooms[dropped].room_id) == 0);
    for (std::size_t kept : {0, 1, 2, 3, 16, 19, 20, 44})
      CHECK(ids.count(rooms[kept].room_id) == 1);
    CHECK(ValueOr0(text, "tencent_live_room_views",
                   {{"room_id", rooms[1].room_id}}) ==
          static_cast<double>(rooms[1].view_count));
    CHECK(ValueOr0(text, "tencent_live_room_created_timestamp_seconds",
                   {{"room_id", rooms[19].room_id}}) ==
          static_cast<double>(rooms[19].create_time));
  }
  SECTION("missing fields") {
    Rig rig;
    const std::vector<Room> rooms = rig.sim().Rooms();
    rig.sim().SetFault(FaultKind::kMissingFields, {1.0, 1});
    REQUIRE(rig.Walk());
    const std::string text = rig.Scrape();
    // Rooms 1, 13 and 16 lose RoomId; 4, 7, 10, 19 lose an optional field.
    CHECK(ValueOr0(text, "tencent_live_rooms_rejected_total",
                   Reason("missing_room_id")) == 3);
    CHECK(ValueOr0(text, "tencent_live_rooms") == 42);
    const std::set<std::string> ids = RoomIds(text);
    for (std::size_t dropped : {1, 13, 16})
      CHECK(ids.count(rooms[dropped].room_id) == 0);
    for (std::size_t kept : {0, 2, 4, 7, 10, 19})
      CHECK(ids.count(rooms[kept].room_id) == 1);
    CHECK(ValueOr0(text, "tencent_live_room_views",
                   {{"room_id", rooms[4].room_id}}) == 0);  // ViewCount missing
  }
}

// ---- row 6 -----------------------------------------------------------------

TEST_CASE("a room repeated on the next page is kept once, counted duplicate",
          "[integration]") {
  Rig rig;
  rig.sim().SetFault(FaultKind::kDuplicateRoom, {1.0, 1});
  REQUIRE(rig.Walk());
  const std::string text = rig.Scrape();
  CHECK(ValueOr0(text, "tencent_live_rooms_rejected_total",
                 Reason("duplicate")) == 1);
  CHECK(ValueOr0(text, "tencent_live_rooms") == 45);
  CHECK(RoomIds(text).size() == 45);
  std::size_t series = 0;
  for (const Sample& s : ParseLabelledSamples(text))
    series += s.name == "tencent_live_room_views" ? 1 : 0;
  CHECK(series == 45);
}

// ---- row 7 -----------------------------------------------------------------

TEST_CASE("a cursor seen twice or more than max_pages fails the walk",
          "[integration]") {
  SECTION("cursor loop") {
    Rig rig;
    LogCapture logs;
    rig.sim().SetFault(FaultKind::kCursorLoop, {1.0, -1});
    double seconds = 0;
    CHECK_FALSE(rig.Walk(&seconds));
    CHECK(seconds < 5);
    const std::string text = rig.Scrape();
    CHECK(ValueOr0(text, "tencent_live_walk_failures_total",
                   Reason("cursor_loop")) == 1);
    CHECK(ValueOr0(text, "tencent_live_api_requests_total") == 2);
    CHECK(ValueOr0(text, "tencent_live_up") == 0);
    CHECK(logs.Lines({"level=error", "walk failed", "reason=cursor_loop"})
              .size() == 1);
  }
  SECTION("max_pages") {
    RigOptions options;
    options.max_pages = 2;
    Rig rig(options);
    LogCapture logs;
    CHECK_FALSE(rig.Walk());
    const std::string text = rig.Scrape();
    CHECK(ValueOr0(text, "tencent_live_walk_failures_total",
                   Reason("max_pages")) == 1);
    CHECK(ValueOr0(text, "tencent_live_api_requests_total") == 2);
    CHECK(ValueOr0(text, "tencent_live_up") == 0);
    CHECK_FALSE(Value(text, "tencent_live_rooms"));  // nothing half-walked
    CHECK(
        logs.Lines({"level=error", "walk failed", "reason=max_pages"}).size() ==
        1);
  }
}

// ---- row 8 -----------------------------------------------------------------

// ASan's quarantine and TSan's allocator keep freed memory resident: the RSS
// bound means nothing under either.
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
constexpr bool kSanitized = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
constexpr bool kSanitized = true;
#else
constexpr bool kSanitized = false;
#endif
#else
constexpr bool kSanitized = false;
#endif

// Long enough for the client to read up to its 8 MiB cap from the in-process
// simulator even when both run under TSan (1.4 to 7.6 MB/s measured): the cap,
// not the deadline, must end these requests.
RigOptions HugeAnswerOptions() {
  RigOptions options;
  options.request_timeout = std::chrono::seconds(20);
  return options;
}

// Peak resident set size of this process so far, in bytes (VmHWM).
double PeakRss() {
  std::ifstream status("/proc/self/status");
  std::string key;
  while (status >> key) {
    if (key == "VmHWM:") {
      double kib = 0;
      status >> kib;
      return kib * 1024;
    }
    status.ignore(1 << 16, '\n');
  }
  return 0;
}

TEST_CASE(
    "an answer bigger than the cap is refused without being read, as decode",
    "[integration]") {
  SECTION("once: retried, the walk completes") {
    Rig rig(HugeAnswerOptions());
    const double peak_before = PeakRss();
    rig.sim().SetFault(FaultKind::kHugeAnswer, {1.0, 1});  // 32 MiB
    REQUIRE(rig.Walk());
    const std::string text = rig.Scrape();
    CHECK(ValueOr0(text, "tencent_live_api_errors_total", Code("decode")) == 1);
    CHECK(ValueOr0(text, "tencent_live_rooms") == 45);
    if (!kSanitized) CHECK(PeakRss() - peak_before < 24.0 * 1024 * 1024);
  }
  SECTION("always: the walk fails as decode") {
    RigOptions options = HugeAnswerOptions();
    options.max_retries = 1;
    Rig rig(options);
    rig.sim().SetFault(FaultKind::kHugeAnswer, {1.0, -1});
    CHECK_FALSE(rig.Walk());
    const std::string text = rig.Scrape();
    CHECK(ValueOr0(text, "tencent_live_walk_failures_total",
                   Reason("decode")) == 1);
    CHECK(ValueOr0(text, "tencent_live_api_errors_total", Code("decode")) == 2);
  }
}

// ---- row 9 -----------------------------------------------------------------

TEST_CASE("rate-limit answers back off, lower the rate and never loop tightly",
          "[integration]") {
  SECTION("60007 once: at least a second of backoff, then the walk goes on") {
    Rig rig;
    rig.sim().SetFault(FaultKind::kRateLimit, {1.0, 1});
    double seconds = 0;
    REQUIRE(rig.Walk(&seconds));
    CHECK(seconds >= 1.0);
    const std::string text = rig.Scrape();
    CHECK(ValueOr0(text, "tencent_live_api_errors_total", Code("60007")) == 1);
    CHECK(ValueOr0(text, "tencent_live_api_retries_total") == 1);
    CHECK(ValueOr0(text, "tencent_live_api_requests_total") == 4);
  }
  SECTION("60007 always: max_retries+1 requests a second apart, then fail") {
    RigOptions options;
    options.max_retries = 2;
    Rig rig(options);
    LogCapture logs;
    rig.sim().SetFault(FaultKind::kRateLimit, {1.0, -1});
    double seconds = 0;
    CHECK_FALSE(rig.Walk(&seconds));
    CHECK(seconds >= 2.0);
    const std::string text = rig.Scrape();
    CHECK(ValueOr0(text, "tencent_live_api_requests_total") == 3);
    CHECK(ValueOr0(text, "tencent_live_walk_failures_total",
                   Reason("api_error")) == 1);
    CHECK(logs.Lines({"level=error", "code=60007", "request rate too high"})
              .size() == 1);
  }
  SECTION("the hold outlives the walk: max_retries 0 and back-to-back walks") {
    RigOptions options;
    options.max_retries = 0;
    Rig rig(options);
    rig.sim().SetFault(FaultKind::kRateLimit, {1.0, 1});
    double first = 0;
    CHECK_FALSE(rig.Walk(&first));
    CHECK(first < 1.0);
    double second = 0;
    REQUIRE(rig.Walk(&second));
    CHECK(second >= 0.9);  // the next request waited for the hold
  }
  SECTION("60011, 60018, 60019 and HTTP 429 are throttling too") {
    Rig rig;
    FetchError too_many;
    too_many.kind = ErrorKind::kHttp;
    too_many.code = 429;
    rig.Inject(ApiError(60011));
    rig.Inject(ApiError(60018));
    rig.Inject(ApiError(60019));
    double seconds = 0;
    REQUIRE(rig.Walk(&seconds));
    CHECK(seconds >= 3.0);
    rig.Inject(too_many);
    REQUIRE(rig.Walk(&seconds));
    CHECK(seconds >= 0.9);
    const std::string text = rig.Scrape();
    for (const char* code : {"60011", "60018", "60019", "http_429"})
      CHECK(ValueOr0(text, "tencent_live_api_errors_total", Code(code)) == 1);
  }
  SECTION("70050 waits long_backoff, also across walks") {
    RigOptions options;
    options.max_retries = 0;
    Rig rig(options);
    rig.Inject(ApiError(70050));
    double first = 0;
    CHECK_FALSE(rig.Walk(&first));
    CHECK(first < 1.0);
    double second = 0;
    REQUIRE(rig.Walk(&second));
    CHECK(second >= 1.4);  // long_backoff is 1.5 s in this rig
    CHECK(ValueOr0(rig.Scrape(), "tencent_live_api_errors_total",
                   Code("70050")) == 1);
  }
}

// ---- row 10 ----------------------------------------------------------------

TEST_CASE("70001 gets a new UserSig and one retry", "[integration]") {
  SECTION("once: the walk completes, even with max_retries 0") {
    RigOptions options;
    options.max_retries = 0;
    Rig rig(options);
    rig.sim().SetFault(FaultKind::kExpired, {1.0, 1});
    REQUIRE(rig.Walk());
    const std::string text = rig.Scrape();
    CHECK(ValueOr0(text, "tencent_live_api_errors_total", Code("70001")) == 1);
    CHECK(ValueOr0(text, "tencent_live_api_retries_total") == 1);
    CHECK(ValueOr0(text, "tencent_live_up") == 1);
  }
  SECTION("always: one retry only, then a clear failure") {
    Rig rig;
    LogCapture logs;
    rig.sim().SetFault(FaultKind::kExpired, {1.0, -1});
    CHECK_FALSE(rig.Walk());
    const std::string text = rig.Scrape();
    CHECK(ValueOr0(text, "tencent_live_api_requests_total") == 2);
    auto errors = logs.Lines({"level=error"});
    REQUIRE(errors.size() == 1);
    CHECK(errors[0].find("system clock") != std::string::npos);
  }
}

TEST_CASE(
    "configuration errors are not retried and log one line with the likely "
    "cause",
    "[integration]") {
  struct Case {
    const char* name;
    std::int64_t inject;  // 0: use the rig options below
    std::string secret;
    std::string identifier;
    const char* code;
    const char* cause;
  };
  const Case cases[] = {
      {"wrong secret key", 0, "not-the-key", "administrator", "70003",
       "wrong secret key"},
      {"not an administrator", 0, kSecret, "someone_else", "60010",
       "not an App Administrator"},
      {"70009", 70009, kSecret, "administrator", "70009", "wrong secret key"},
      {"70002", 70002, kSecret, "administrator", "70002", "wrong secret key"},
      {"70403", 70403, kSecret, "administrator", "70403",
       "not an App Administrator"},
      {"60006", 60006, kSecret, "administrator", "60006", "SDKAppID"},
      {"100002", 100002, kSecret, "administrator", "100002", "page_size"},
      {"unknown code", 61234, kSecret, "administrator", "61234",
       "not known to be transient"},
  };
  for (const Case& c : cases) {
    DYNAMIC_SECTION(c.name) {
      RigOptions options;
      options.secret = c.secret;
      options.identifier = c.identifier;
      Rig rig(options);
      LogCapture logs;
      if (c.inject != 0) rig.Inject(ApiError(c.inject));
      CHECK_FALSE(rig.Walk());
      const std::string text = rig.Scrape();
      INFO(logs.All());
      CHECK(ValueOr0(text, "tencent_live_api_requests_total") == 1);
      CHECK(ValueOr0(text, "tencent_live_api_retries_total") == 0);
      CHECK(ValueOr0(text, "tencent_live_api_errors_total", Code(c.code)) == 1);
      CHECK(ValueOr0(text, "tencent_live_walk_failures_total",
                     Reason("api_error")) == 1);
      CHECK(ValueOr0(text, "tencent_live_up") == 0);
      auto errors = logs.Lines({"level=error"});
      REQUIRE(errors.size() == 1);
      CHECK(errors[0].find(std::string("code=") + c.code) != std::string::npos);
      CHECK(errors[0].find("request_id=Id-") != std::string::npos);
      CHECK(errors[0].find(c.cause) != std::string::npos);
      CHECK(logs.Lines({"level=warn"}).empty());
      // The secret never shows up in a log line.
      CHECK(logs.All().find(c.secret) == std::string::npos);
    }
  }
}

// ---- row 11 ----------------------------------------------------------------

bool ValidUtf8Text(const std::string& s) {
  std::size_t i = 0;
  while (i < s.size()) {
    auto c = static_cast<unsigned char>(s[i]);
    int n = -1;  // continuation bytes
    if (c < 0x80) {
      n = 0;
    } else if (c >= 0xc2 && c <= 0xdf) {
      n = 1;
    } else if ((c >> 4) == 0xe) {
      n = 2;
    } else if (c >= 0xf0 && c <= 0xf4) {
      n = 3;
    }
    if (n < 0 || i + static_cast<std::size_t>(n) >= s.size() + (n == 0))
      return false;
    std::uint32_t cp = n == 0 ? c : c & (0x3f >> n);
    for (int k = 1; k <= n; ++k) {
      auto d = static_cast<unsigned char>(s[i + static_cast<std::size_t>(k)]);
      if ((d & 0xc0) != 0x80) return false;
      cp = (cp << 6) | (d & 0x3f);
    }
    if ((n == 2 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
        (n == 3 && (cp < 0x10000 || cp > 0x10ffff)))
      return false;
    i += static_cast<std::size_t>(n) + 1;
  }
  return true;
}

// Runs `promtool check metrics` on `text`; its exit status and output.
int PromtoolCheck(const std::string& text, std::string* output) {
  char path[] = "/tmp/tle_failure_handling_XXXXXX";
  int fd = mkstemp(path);
  REQUIRE(fd >= 0);
  close(fd);
  {
    std::ofstream out(path, std::ios::binary);
    out << text;
  }
  std::string command =
      std::string("promtool check metrics < ") + path + " 2>&1";
  FILE* pipe = popen(command.c_str(), "r");
  REQUIRE(pipe != nullptr);
  char buf[4096];
  std::size_t n = 0;
  while ((n = fread(buf, 1, sizeof buf, pipe)) > 0) output->append(buf, n);
  int status = pclose(pipe);
  std::remove(path);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

TEST_CASE(
    "invalid UTF-8, quotes and newlines in names keep the exposition valid",
    "[integration]") {
  RigOptions options;
  options.rooms = 60;
  Rig rig(options);
  rig.sim().SetFault(FaultKind::kInvalidUtf8, {1.0, -1});  // every page
  REQUIRE(rig.Walk());
  const std::string text = rig.Scrape();
  CHECK(ValueOr0(text, "tencent_live_rooms") == 60);
  CHECK(ValidUtf8Text(text));
  // The bad bytes became U+FFFD; quotes, backslashes and newlines are escaped.
  CHECK(text.find("\xef\xbf\xbd") != std::string::npos);
  CHECK(text.find("room_name=\"Two\\nlines") != std::string::npos);
  CHECK(text.find("\\\"any%\\\"") != std::string::npos);
  CHECK(text.find("C:\\\\streams\\\\backslash") != std::string::npos);
  std::string output;
  int status = PromtoolCheck(text, &output);
  INFO(output);
  CHECK(status == 0);
}

}  // namespace
}  // namespace tle
