#include "exporter/web/landing_page.h"

#include <charconv>
#include <cmath>
#include <ctime>

#include "exporter/common/log.h"
#include "exporter/common/text.h"

namespace tle {
namespace {

// Longest error text shown; the full one is in the log.
constexpr std::size_t kMaxErrorBytes = 300;

// After the look of exporter-toolkit's landing page (web/landing_page.css):
// the Prometheus-orange title bar and plain body, plus the app table.
constexpr const char* kStyle = R"css(
body {
  font-family: -apple-system, BlinkMacSystemFont, "Segoe UI", Roboto,
    "Helvetica Neue", Arial, "Noto Sans", "Liberation Sans", sans-serif;
  margin: 0;
  color: #212121;
}
header {
  background-color: #e6522c;
  color: #fff;
  padding: 1rem;
}
header h1 { font-size: 1.25rem; font-weight: 600; margin: 0; }
main { padding: 1rem; }
main h2 { font-size: 1.1rem; margin: 1.5rem 0 .5rem; }
.description { font-size: 1.05rem; margin: 0 0 .5rem; }
.version { color: #616161; }
ul.links li { margin: .2rem 0; }
table { border-collapse: collapse; }
th, td {
  border-bottom: 1px solid #e0e0e0;
  padding: .4rem .75rem;
  text-align: left;
  vertical-align: top;
}
th { background: #f5f5f5; font-weight: 600; white-space: nowrap; }
td.last-success, td.last-walk, td.state { white-space: nowrap; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
td .sub { color: #757575; font-size: .85rem; }
.badge {
  border-radius: .75rem;
  color: #fff;
  display: inline-block;
  font-size: .85rem;
  font-weight: 600;
  padding: .1rem .6rem;
}
.badge.up { background: #2e7d32; }
.badge.down { background: #c62828; }
.badge.stale { background: #ef6c00; }
.badge.starting { background: #757575; }
tr.down td { background: #fdecea; }
tr.stale td { background: #fff3e0; }
.summary { color: #616161; margin: 0 0 .5rem; }
.dim { color: #9e9e9e; }
.over { color: #c62828; font-weight: 600; }
td.error {
  color: #b71c1c;
  font-family: ui-monospace, "DejaVu Sans Mono", monospace;
  font-size: .85rem;
  max-width: 36rem;
  overflow-wrap: anywhere;
}
)css";

std::string HtmlEscape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '&':
        out += "&amp;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out.push_back(c);
    }
  }
  return out;
}

// Text from outside, ready for the page: valid UTF-8, at most `max` bytes
// (cut at a character boundary, then "…"), HTML-escaped.
std::string SafeText(std::string_view text, std::size_t max = 1024) {
  std::string valid = ValidUtf8(text);
  if (valid.size() > max) {
    std::size_t cut = max;
    while (cut > 0 && (static_cast<unsigned char>(valid[cut]) & 0xC0) == 0x80)
      --cut;
    valid.resize(cut);
    valid += "\u2026";
  }
  return HtmlEscape(valid);
}

// 1234567 -> "1,234,567".
std::string FormatCount(std::uint64_t n) {
  std::string digits = std::to_string(n);
  std::string out;
  for (std::size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out.push_back(',');
    out.push_back(digits[i]);
  }
  return out;
}

// A walk's duration: "0.42s", "12.3s", "1m30s"; locale-independent.
std::string FormatSeconds(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) seconds = 0;
  if (seconds >= 60) {
    return FormatDuration(std::chrono::seconds(std::llround(seconds)));
  }
  char buf[32];
  int precision = seconds < 10 ? 2 : 1;
  auto result = std::to_chars(buf, buf + sizeof(buf), seconds,
                              std::chars_format::fixed, precision);
  return std::string(buf, result.ptr) + "s";
}

std::string FormatUtc(double unix_seconds) {
  auto t = static_cast<std::time_t>(unix_seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M:%S UTC", &tm);
  return buf;
}

// The link to the telemetry path, relative to "/" like every link on the page
// (so it still works behind a proxy that serves the exporter under a prefix).
// "./" keeps a first segment with a ':' from reading as a URL scheme.
std::string RelativeHref(const std::string& path) {
  std::string rel = path;
  while (!rel.empty() && rel.front() == '/') rel.erase(0, 1);
  std::size_t colon = rel.find(':');
  if (rel.empty() || (colon != std::string::npos && colon < rel.find('/'))) {
    rel = "./" + rel;
  }
  return HtmlEscape(ValidUtf8(rel));
}

enum class AppState { kUp, kDown, kStale, kStarting };

const char* StateName(AppState state) {
  switch (state) {
    case AppState::kUp:
      return "up";
    case AppState::kDown:
      return "down";
    case AppState::kStale:
      return "stale";
    case AppState::kStarting:
      return "starting";
  }
  return "down";
}

double Seconds(std::chrono::milliseconds d) {
  return std::chrono::duration<double>(d).count();
}

bool IsStale(const LandingApp& app, double now) {
  return app.snapshot_time &&
         now - *app.snapshot_time > Seconds(app.stale_after);
}

AppState StateOf(const LandingApp& app, double now) {
  if (IsStale(app, now)) return AppState::kStale;
  if (app.up) return AppState::kUp;
  if (!app.snapshot_time && app.last_error.empty()) return AppState::kStarting;
  return AppState::kDown;
}

const char* StateHint(AppState state) {
  switch (state) {
    case AppState::kUp:
      return "the last walk completed";
    case AppState::kDown:
      return "the last walk failed; /metrics serves the last complete walk "
             "until stale_after";
    case AppState::kStale:
      return "the last complete walk is older than stale_after: its rooms "
             "are no longer exported";
    case AppState::kStarting:
      return "the first walk is under way";
  }
  return "";
}

void AppendLink(std::string* html, const std::string& href,
                const std::string& text, const std::string& description) {
  *html += "<li><a href=\"" + href + "\">" + text + "</a>: " + description +
           "</li>\n";
}

void AppendRow(std::string* html, const LandingApp& app, double now,
               bool members_column) {
  AppState state = StateOf(app, now);
  const char* name = StateName(state);
  bool current = app.snapshot_time && state != AppState::kStale;
  // Rooms, views and members of a stale or missing snapshot: not current.
  auto not_current = [state](const char* column) {
    return std::string("<td class=\"num dim ") + column + "\" title=\"" +
           (state == AppState::kStale ? "stale: no longer exported"
                                      : "no complete walk yet") +
           "\">&ndash;</td>";
  };

  *html += "<tr class=\"app " + std::string(name) + "\" data-sdkappid=\"" +
           std::to_string(app.sdkappid) + "\" data-state=\"" + name + "\">";
  *html += "<td class=\"sdkappid\">" + std::to_string(app.sdkappid) + "</td>";

  *html += "<td class=\"upstream\">";
  if (!app.region.empty()) {
    *html += SafeText(app.region, 64) + "<br><span class=\"sub\">" +
             SafeText(app.endpoint, 256) + "</span>";
  } else {
    *html += SafeText(app.endpoint, 256);
  }
  *html += "</td>";

  *html += "<td class=\"state\"><span class=\"badge " + std::string(name) +
           "\" title=\"" + StateHint(state) + "\">" + name + "</span></td>";

  if (current) {
    *html += "<td class=\"num rooms\">" + FormatCount(app.rooms) + "</td>";
    *html += "<td class=\"num views\"" +
             std::string(app.views_saturated
                             ? " title=\"at least: the sum overflowed\">"
                             : ">") +
             FormatCount(app.views) + (app.views_saturated ? "+" : "") +
             "</td>";
  } else {
    *html += not_current("rooms") + not_current("views");
  }
  if (members_column) {
    if (current && app.members) {
      *html +=
          "<td class=\"num members\">" + FormatCount(*app.members) + "</td>";
    } else {
      *html += not_current("members");
    }
  }

  *html += "<td class=\"last-success\"";
  if (app.last_success_time > 0) {
    *html += " title=\"" + FormatUtc(app.last_success_time) + "\">" +
             FormatAge(now - app.last_success_time);
  } else {
    *html += "><span class=\"dim\">never</span>";
  }
  *html += "</td>";

  *html += "<td class=\"last-walk\">";
  if (app.last_walk_seconds) {
    bool over = *app.last_walk_seconds > Seconds(app.interval);
    *html += over ? "<span class=\"over\" title=\"longer than the interval: "
                    "the next walk started late\">"
                  : "<span>";
    *html += FormatSeconds(*app.last_walk_seconds) + "</span>";
  } else {
    *html += "<span class=\"dim\">&ndash;</span>";
  }
  *html += " <span class=\"sub\">/ " + FormatDuration(app.interval) + "</span>";
  *html += "</td>";

  *html += "<td class=\"error\">" + SafeText(app.last_error, kMaxErrorBytes) +
           "</td>";
  *html += "</tr>\n";
}

}  // namespace

std::string FormatAge(double seconds) {
  if (!std::isfinite(seconds) || seconds < 1) return "just now";
  auto whole = static_cast<long long>(seconds);
  constexpr long long kHour = 3600;
  constexpr long long kDay = 24 * kHour;
  // Coarser with age: seconds under an hour, minutes under a day, then hours.
  if (whole >= kDay) {
    whole -= whole % kHour;
  } else if (whole >= kHour) {
    whole -= whole % 60;
  }
  return FormatDuration(std::chrono::seconds(whole)) + " ago";
}

std::string RenderLandingPage(const LandingPage& page) {
  bool members_column = false;
  for (const LandingApp& app : page.apps) {
    if (app.members) members_column = true;
  }
  std::string html;
  html.reserve(4096 + page.apps.size() * 600);
  html +=
      "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
      "<meta name=\"viewport\" content=\"width=device-width, "
      "initial-scale=1\">\n<title>Tencent Live Exporter</title>\n<style>";
  html += kStyle;
  html +=
      "</style>\n</head>\n<body>\n<header><h1>Tencent Live "
      "Exporter</h1></header>\n<main>\n";
  html +=
      "<p class=\"description\">Prometheus exporter for the live rooms of "
      "Tencent Cloud Chat's live engine. Each app is walked in the background "
      "(get_room_list, page after page, within the API's rate limit); every "
      "scrape serves the last complete walk.</p>\n";
  html += "<div class=\"version\">Version: " + SafeText(page.version, 128) +
          " (revision: " + SafeText(page.revision, 128) + ")</div>\n";

  html += "<ul class=\"links\">\n";
  AppendLink(&html, RelativeHref(page.telemetry_path), "Metrics",
             "rooms of the last complete walk per app, walker and API health "
             "(<code>" +
                 SafeText(page.telemetry_path, 256) + "</code>)");
  AppendLink(&html, "-/healthy", "Health",
             "200 while the process serves (<code>/-/healthy</code>)");
  AppendLink(&html, "-/ready", "Readiness",
             "200 once every app has a complete walk (<code>/-/ready</code>)");
  html +=
      "<li><code>POST /-/reload</code>: re-reads the config file (also "
      "SIGHUP); a bad one is refused and the running one kept</li>\n";
  html += "</ul>\n";

  int counts[4] = {0, 0, 0, 0};
  for (const LandingApp& app : page.apps) {
    ++counts[static_cast<int>(StateOf(app, page.now))];
  }
  html += "<h2>Apps</h2>\n<p class=\"summary\">" +
          std::to_string(page.apps.size()) +
          (page.apps.size() == 1 ? " app" : " apps");
  for (AppState state : {AppState::kUp, AppState::kDown, AppState::kStale,
                         AppState::kStarting}) {
    int n = counts[static_cast<int>(state)];
    if (n > 0) {
      html += std::string(", ") + std::to_string(n) + " " + StateName(state);
    }
  }
  html += "</p>\n";
  if (page.apps.empty()) {
    html += "<p class=\"dim\">No apps configured.</p>\n";
  } else {
    html +=
        "<table class=\"apps\">\n<thead><tr><th>SDKAppID</th>"
        "<th>Upstream</th><th>State</th><th>Rooms</th><th>Views</th>";
    if (members_column) html += "<th>Members</th>";
    html +=
        "<th>Last success</th><th>Last walk / interval</th>"
        "<th>Last error</th></tr></thead>\n<tbody>\n";
    for (const LandingApp& app : page.apps) {
      AppendRow(&html, app, page.now, members_column);
    }
    html += "</tbody>\n</table>\n";
  }
  html += "</main>\n</body>\n</html>\n";
  return html;
}

}  // namespace tle
