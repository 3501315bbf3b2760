// RenderLandingPage as a pure function: links, states, numbers, escaping.
// (tests/landing_browser_test.py checks what a real browser makes of it.)
#include "exporter/web/landing_page.h"

#include <catch2/catch.hpp>
#include <limits>
#include <string>

namespace tle {
namespace {

constexpr double kNow = 1700000000;

LandingApp UpApp(std::int64_t sdkappid) {
  LandingApp app;
  app.sdkappid = sdkappid;
  app.endpoint = "https://adminapisgp.im.qcloud.com";
  app.region = "singapore";
  app.interval = std::chrono::seconds(60);
  app.stale_after = std::chrono::minutes(5);
  app.up = true;
  app.snapshot_time = kNow - 12;
  app.last_success_time = kNow - 12;
  app.last_walk_seconds = 1.5;
  app.rooms = 1234;
  app.views = 5678901;
  return app;
}

LandingPage PageOf(std::vector<LandingApp> apps) {
  LandingPage page;
  page.version = "1.2.3";
  page.revision = "abcdef";
  page.now = kNow;
  page.apps = std::move(apps);
  return page;
}

// The text of the row of app `sdkappid`.
std::string Row(const std::string& html, std::int64_t sdkappid) {
  std::string key = "data-sdkappid=\"" + std::to_string(sdkappid) + "\"";
  std::size_t at = html.find(key);
  REQUIRE(at != std::string::npos);
  std::size_t start = html.rfind("<tr", at);
  std::size_t end = html.find("</tr>", at);
  REQUIRE(end != std::string::npos);
  return html.substr(start, end - start);
}

// The inner text of the first <td> in `row` whose class list holds `cls`.
std::string Cell(const std::string& row, const std::string& cls) {
  std::size_t at = row.find("<td class=\"");
  while (at != std::string::npos) {
    std::size_t close = row.find('"', at + 11);
    std::string classes = " " + row.substr(at + 11, close - at - 11) + " ";
    if (classes.find(" " + cls + " ") != std::string::npos) {
      std::size_t open_end = row.find('>', close);
      std::size_t end = row.find("</td>", open_end);
      return row.substr(open_end + 1, end - open_end - 1);
    }
    at = row.find("<td class=\"", at + 1);
  }
  FAIL("no cell " << cls << " in " << row);
  return "";
}

TEST_CASE("the page has the title bar, version and described links") {
  std::string html = RenderLandingPage(PageOf({UpApp(1400000000)}));
  CHECK(html.rfind("<!DOCTYPE html>", 0) == 0);
  CHECK(html.find("<title>Tencent Live Exporter</title>") != std::string::npos);
  CHECK(html.find("<header><h1>Tencent Live Exporter</h1></header>") !=
        std::string::npos);
  CHECK(html.find("Version: 1.2.3 (revision: abcdef)") != std::string::npos);
  CHECK(html.find("<a href=\"metrics\">Metrics</a>: ") != std::string::npos);
  CHECK(html.find("<a href=\"-/healthy\">Health</a>: ") != std::string::npos);
  CHECK(html.find("<a href=\"-/ready\">Readiness</a>: ") != std::string::npos);
  CHECK(html.find("POST /-/reload") != std::string::npos);
  CHECK(html.find("1 app, 1 up") != std::string::npos);
}

TEST_CASE("the metrics link follows the telemetry path") {
  LandingPage page = PageOf({UpApp(1)});
  SECTION("a custom path") {
    page.telemetry_path = "/custom";
    std::string html = RenderLandingPage(page);
    CHECK(html.find("<a href=\"custom\">Metrics</a>") != std::string::npos);
    CHECK(html.find("href=\"metrics\"") == std::string::npos);
    CHECK(html.find("<code>/custom</code>") != std::string::npos);
  }
  SECTION("a nested path") {
    page.telemetry_path = "/exporter/metrics";
    CHECK(RenderLandingPage(page).find("<a href=\"exporter/metrics\">") !=
          std::string::npos);
  }
  SECTION("a first segment with a colon does not read as a scheme") {
    page.telemetry_path = "/javascript:alert(1)";
    std::string html = RenderLandingPage(page);
    CHECK(html.find("<a href=\"./javascript:alert(1)\">") != std::string::npos);
  }
  SECTION("quotes and markup in the path are escaped") {
    page.telemetry_path = "/m\"><script>";
    std::string html = RenderLandingPage(page);
    CHECK(html.find("<script>") == std::string::npos);
    CHECK(html.find("<a href=\"m&quot;&gt;&lt;script&gt;\">") !=
          std::string::npos);
  }
}

TEST_CASE("an up app shows its snapshot") {
  std::string row = Row(RenderLandingPage(PageOf({UpApp(7)})), 7);
  CHECK(row.find("class=\"app up\"") != std::string::npos);
  CHECK(row.find("data-state=\"up\"") != std::string::npos);
  CHECK(Cell(row, "state").find(">up</span>") != std::string::npos);
  CHECK(Cell(row, "rooms") == "1,234");
  CHECK(Cell(row, "views") == "5,678,901");
  CHECK(Cell(row, "last-success") == "12s ago");
  CHECK(row.find("title=\"2023-11-14 22:13:08 UTC\"") != std::string::npos);
  CHECK(Cell(row, "last-walk") ==
        "<span>1.50s</span> <span class=\"sub\">/ 1m</span>");
  CHECK(Cell(row, "upstream") ==
        "singapore<br><span class=\"sub\">https://adminapisgp.im.qcloud.com"
        "</span>");
  CHECK(Cell(row, "error").empty());
}

TEST_CASE("a down app is highlighted and keeps serving a fresh snapshot") {
  LandingApp app = UpApp(8);
  app.up = false;
  app.last_error = "network: connect to 10.0.0.1:443: Connection refused";
  app.last_walk_seconds = 75;
  std::string html = RenderLandingPage(PageOf({UpApp(7), app}));
  std::string row = Row(html, 8);
  CHECK(row.find("class=\"app down\"") != std::string::npos);
  CHECK(Cell(row, "state").find("badge down") != std::string::npos);
  CHECK(Cell(row, "rooms") == "1,234");  // still exported until stale_after
  CHECK(Cell(row, "error") ==
        "network: connect to 10.0.0.1:443: Connection refused");
  CHECK(Cell(row, "last-walk").find("class=\"over\"") != std::string::npos);
  CHECK(Cell(row, "last-walk").find("1m15s") != std::string::npos);
  CHECK(html.find("tr.down td { background") != std::string::npos);
  CHECK(html.find("2 apps, 1 up, 1 down") != std::string::npos);
}

TEST_CASE("past stale_after the rooms are not shown as current") {
  LandingApp app = UpApp(9);
  app.up = false;
  app.snapshot_time = kNow - 301;
  app.last_success_time = kNow - 301;
  app.members = 77;
  std::string row = Row(RenderLandingPage(PageOf({app})), 9);
  CHECK(row.find("class=\"app stale\"") != std::string::npos);
  CHECK(Cell(row, "state").find(">stale</span>") != std::string::npos);
  CHECK(Cell(row, "rooms") == "&ndash;");
  CHECK(Cell(row, "views") == "&ndash;");
  CHECK(Cell(row, "members") == "&ndash;");
  CHECK(row.find("1,234") == std::string::npos);
  CHECK(row.find("5,678,901") == std::string::npos);
  CHECK(Cell(row, "last-success") == "5m1s ago");

  SECTION("just inside stale_after it is current") {
    app.snapshot_time = kNow - 299;
    std::string fresh = Row(RenderLandingPage(PageOf({app})), 9);
    CHECK(fresh.find("class=\"app down\"") != std::string::npos);
    CHECK(Cell(fresh, "rooms") == "1,234");
  }
}

TEST_CASE("an app before its first walk is starting") {
  LandingApp app;
  app.sdkappid = 10;
  app.endpoint = "http://127.0.0.1:8080";
  app.interval = std::chrono::seconds(30);
  std::string row = Row(RenderLandingPage(PageOf({app})), 10);
  CHECK(row.find("data-state=\"starting\"") != std::string::npos);
  CHECK(Cell(row, "rooms") == "&ndash;");
  CHECK(Cell(row, "last-success") == "<span class=\"dim\">never</span>");
  CHECK(Cell(row, "last-walk").find("&ndash;") != std::string::npos);
  CHECK(Cell(row, "upstream") == "http://127.0.0.1:8080");
}

TEST_CASE("views are exact integers however large") {
  LandingApp app = UpApp(11);
  SECTION("beyond int64") {
    app.views = 10'000'000'000'000'000'000ULL;
    std::string row = Row(RenderLandingPage(PageOf({app})), 11);
    CHECK(Cell(row, "views") == "10,000,000,000,000,000,000");
  }
  SECTION("a sum that overflowed says it is a floor") {
    app.views = std::numeric_limits<std::uint64_t>::max();
    app.views_saturated = true;
    std::string row = Row(RenderLandingPage(PageOf({app})), 11);
    CHECK(Cell(row, "views") == "18,446,744,073,709,551,615+");
  }
  std::string html = RenderLandingPage(PageOf({app}));
  CHECK(html.find("-9223372036854775808") == std::string::npos);
  CHECK(html.find("e+") == std::string::npos);
}

TEST_CASE("members appear only when top rooms are on") {
  LandingApp with = UpApp(12);
  with.members = 4321;
  LandingApp without = UpApp(13);
  std::string html = RenderLandingPage(PageOf({with, without}));
  CHECK(html.find("<th>Members</th>") != std::string::npos);
  CHECK(Cell(Row(html, 12), "members") == "4,321");
  CHECK(Cell(Row(html, 13), "members") == "&ndash;");
  CHECK(RenderLandingPage(PageOf({without})).find("Members") ==
        std::string::npos);
}

TEST_CASE("text from outside is escaped, valid UTF-8 and bounded") {
  LandingApp app = UpApp(14);
  app.up = false;
  app.region = "";
  app.endpoint = "http://x/<b>";
  SECTION("markup") {
    app.last_error = "api 90001: <script>alert('x')</script> & \"q\"";
    std::string row = Row(RenderLandingPage(PageOf({app})), 14);
    CHECK(Cell(row, "error") ==
          "api 90001: &lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; "
          "&quot;q&quot;");
    CHECK(Cell(row, "upstream") == "http://x/&lt;b&gt;");
  }
  SECTION("invalid UTF-8 becomes U+FFFD") {
    app.last_error = std::string("bad \xff\xfe bytes \xc3(");
    std::string row = Row(RenderLandingPage(PageOf({app})), 14);
    CHECK(Cell(row, "error") ==
          "bad \xEF\xBF\xBD\xEF\xBF\xBD bytes \xEF\xBF\xBD(");
  }
  SECTION("a long error is cut at a character boundary") {
    app.last_error =
        std::string(299, 'x') + "\xE6\x88\xBF" + std::string(5000, 'y');
    std::string cell = Cell(Row(RenderLandingPage(PageOf({app})), 14), "error");
    CHECK(cell == std::string(299, 'x') + "\u2026");
  }
}

TEST_CASE("ages are coarser the older they are") {
  CHECK(FormatAge(0.4) == "just now");
  CHECK(FormatAge(-3) == "just now");
  CHECK(FormatAge(12.9) == "12s ago");
  CHECK(FormatAge(250) == "4m10s ago");
  CHECK(FormatAge(2 * 3600 + 5 * 60 + 59) == "2h5m ago");
  CHECK(FormatAge(3 * 86400 + 4 * 3600 + 100) == "3d4h ago");
}

TEST_CASE("no apps") {
  std::string html = RenderLandingPage(PageOf({}));
  CHECK(html.find("No apps configured.") != std::string::npos);
  CHECK(html.find("<table") == std::string::npos);
}

}  // namespace
}  // namespace tle
