#!/usr/bin/env python3
"""Writes dashboards/overview.json and dashboards/room.json for tencent_live_exporter.

The dashboards are generated so that their layout (no overlaps, 24 columns) and their common parts
(variables, data source, units) stay consistent. Edit this file, then run

    python3 dashboards/generate.py          # rewrite the JSON files
    python3 dashboards/generate.py --check  # exit 1 when the JSON files differ from this script

tests/ops/check_dashboards.py (ctest dashboards_check) runs the --check mode and then checks the
JSON files themselves. Python 3 standard library only.
"""
import json
import os
import sys

DS = {"type": "prometheus", "uid": "${datasource}"}
SEL = 'job=~"$job", instance=~"$instance", sdkappid=~"$sdkappid"'
ROOM_SEL = SEL + ', room_id="$room_id"'
ROOM_KEYS = "job, instance, sdkappid, room_id"


def target(expr, legend="", ref="A", instant=False, table=False):
    t = {"datasource": DS, "refId": ref, "expr": expr, "legendFormat": legend or "__auto",
         "range": not instant, "instant": instant}
    if table:
        t["format"] = "table"
    return t


def panel(kind, title, description, unit, targets, w, h, options=None, field=None,
          overrides=None, transformations=None):
    defaults = {"unit": unit}
    defaults.update(field or {})
    p = {"type": kind, "title": title, "description": description, "datasource": DS,
         "fieldConfig": {"defaults": defaults, "overrides": overrides or []},
         "options": options or {}, "targets": targets, "_w": w, "_h": h}
    if transformations:
        p["transformations"] = transformations
    return p


def timeseries(title, description, unit, targets, w=12, h=8, field=None):
    field = dict(field or {})
    field.setdefault("custom", {"lineWidth": 1, "fillOpacity": 10, "showPoints": "never"})
    return panel("timeseries", title, description, unit, targets, w, h,
                 options={"legend": {"displayMode": "table", "placement": "bottom",
                                     "calcs": ["lastNotNull", "max"]},
                          "tooltip": {"mode": "multi", "sort": "desc"}},
                 field=field)


def stat(title, description, unit, targets, w=4, h=4, mappings=None, thresholds=None,
         text_mode="auto"):
    field = {"mappings": mappings or [],
             "thresholds": {"mode": "absolute",
                            "steps": thresholds or [{"color": "green", "value": None}]}}
    return panel("stat", title, description, unit, targets, w, h,
                 options={"reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
                          "colorMode": "value", "graphMode": "none", "textMode": text_mode,
                          "justifyMode": "auto", "orientation": "auto"},
                 field=field)


def bargauge(title, description, unit, targets, w=12, h=8):
    return panel("bargauge", title, description, unit, targets, w, h,
                 options={"reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
                          "orientation": "horizontal", "displayMode": "gradient",
                          "showUnfilled": True},
                 field={"min": 0})


def row(title):
    return {"type": "row", "title": title, "collapsed": False, "panels": [], "_w": 24, "_h": 1}


def layout(items):
    """Places panels left to right, wrapping at 24 columns; a row starts a new line."""
    x = y = line_h = 0
    out = []
    for pid, p in enumerate(items, start=1):
        w, h = p.pop("_w"), p.pop("_h")
        if p["type"] == "row" or x + w > 24:
            y += line_h
            x, line_h = 0, 0
        p["id"] = pid
        p["gridPos"] = {"x": x, "y": y, "w": w, "h": h}
        x += w
        line_h = max(line_h, h)
        if p["type"] == "row":
            y += h
            x, line_h = 0, 0
        out.append(p)
    return out


def query_var(name, label, query, multi=True, include_all=True):
    return {"name": name, "label": label, "type": "query", "datasource": DS,
            "query": {"query": query, "refId": "PrometheusVariableQueryEditor-VariableQuery"},
            "definition": query, "refresh": 2, "sort": 1, "multi": multi,
            "includeAll": include_all, "allValue": ".+" if include_all else None,
            "current": {}, "options": [], "regex": "", "hide": 0}


def common_vars():
    return [
        {"name": "datasource", "label": "Data source", "type": "datasource", "query": "prometheus",
         "current": {}, "options": [], "refresh": 1, "regex": "", "hide": 0,
         "multi": False, "includeAll": False},
        query_var("job", "Job", "label_values(tencent_live_up, job)"),
        query_var("instance", "Instance", 'label_values(tencent_live_up{job=~"$job"}, instance)'),
        query_var("sdkappid", "SDKAppID",
                  'label_values(tencent_live_up{job=~"$job", instance=~"$instance"}, sdkappid)'),
    ]


def dashboard(uid, title, description, panels, variables, tags):
    return {
        "uid": uid, "title": title, "description": description, "tags": tags,
        "editable": True, "graphTooltip": 1, "schemaVersion": 38, "version": 1,
        "time": {"from": "now-6h", "to": "now"}, "refresh": "1m", "timezone": "",
        "templating": {"list": variables},
        "annotations": {"list": []},
        "links": [{"type": "dashboards", "tags": ["tencent-live"], "asDropdown": False,
                   "includeVars": True, "keepTime": True, "title": "Tencent Live"}],
        "panels": layout(panels),
    }


UP_MAPPINGS = [{"type": "value", "options": {
    "0": {"text": "failing", "color": "red", "index": 0},
    "1": {"text": "OK", "color": "green", "index": 1}}}]
TARGET_MAPPINGS = [{"type": "value", "options": {
    "0": {"text": "down", "color": "red", "index": 0},
    "1": {"text": "up", "color": "green", "index": 1}}}]
AGE_THRESHOLDS = [{"color": "green", "value": None}, {"color": "orange", "value": 300},
                  {"color": "red", "value": 600}]


def overview():
    views_rate = "60 * sdkappid_room_id:tencent_live_room_views:rate5m{%s}" % SEL
    top_views = "topk(20, tencent_live_room_views{%s})" % SEL
    panels = [
        row("Apps"),
        stat("Walk state", "Per app: OK when the exporter's last walk of the room list completed "
             "(tencent_live_up = 1), failing when it did not.", "none",
             [target("tencent_live_up{%s}" % SEL, "{{sdkappid}}")], mappings=UP_MAPPINGS,
             thresholds=[{"color": "red", "value": None}, {"color": "green", "value": 1}]),
        stat("Scrape target", "Whether Prometheus can scrape each exporter instance (up).", "none",
             [target('up{job=~"$job", instance=~"$instance"}', "{{instance}}")],
             mappings=TARGET_MAPPINGS,
             thresholds=[{"color": "red", "value": None}, {"color": "green", "value": 1}]),
        stat("Snapshot age", "Per app: time since the last complete walk ended. It grows by one "
             "walk interval between walks; much more means walks fail (stale snapshot).", "s",
             [target("time() - tencent_live_last_success_timestamp_seconds{%s}" % SEL,
                     "{{sdkappid}}")], thresholds=AGE_THRESHOLDS),
        stat("Live rooms now", "Per app: rooms listed by the last complete walk.", "short",
             [target("tencent_live_rooms{%s}" % SEL, "{{sdkappid}}")]),
        stat("Views now", "Per app: the sum of ViewCount (total room entries) over all rooms of "
             "the last complete walk.", "short",
             [target("tencent_live_views{%s}" % SEL, "{{sdkappid}}")]),
        stat("Rooms omitted", "Per app: rooms without room-level series because only the top "
             "max_room_series rooms by views get them. Aggregates still count them.", "short",
             [target("tencent_live_room_series_omitted{%s}" % SEL, "{{sdkappid}}")],
             thresholds=[{"color": "green", "value": None}, {"color": "orange", "value": 1}]),

        row("Rooms"),
        timeseries("Live rooms", "Rooms listed by each complete walk, per app.", "short",
                   [target("tencent_live_rooms{%s}" % SEL, "{{sdkappid}}")]),
        timeseries("Views", "Sum of ViewCount over all rooms, per app. It drops when rooms "
                   "with many views close.", "short",
                   [target("tencent_live_views{%s}" % SEL, "{{sdkappid}}")]),
        timeseries("Rooms by category", "Rooms carrying each category tag, per app; rooms "
                   "without tags count under \"none\". A room with several tags counts once per tag.",
                   "short",
                   [target("sum by (sdkappid, category) (tencent_live_category_rooms{%s})" % SEL,
                           "{{sdkappid}} category {{category}}")]),
        bargauge("Rooms by category now", "Rooms per category tag in the last complete walk.",
                 "short",
                 [target("sum by (sdkappid, category) (tencent_live_category_rooms{%s})" % SEL,
                         "{{sdkappid}} category {{category}}", instant=True)]),
        timeseries("Rooms by activity status", "Rooms in each ActivityStatus (a value the "
                   "application defines), per app.", "short",
                   [target("sum by (sdkappid, activity_status) "
                           "(tencent_live_activity_status_rooms{%s})" % SEL,
                           "{{sdkappid}} status {{activity_status}}")]),
        bargauge("Rooms by activity status now", "Rooms per ActivityStatus in the last complete "
                 "walk.", "short",
                 [target("sum by (sdkappid, activity_status) "
                         "(tencent_live_activity_status_rooms{%s})" % SEL,
                         "{{sdkappid}} status {{activity_status}}", instant=True)]),

        row("Top rooms"),
        panel("table", "Top rooms by views", "The 20 rooms with the most views (ViewCount) now, "
              "with name and owner from tencent_live_room_info and the views they gained per "
              "minute over the last 5 minutes. Click a room ID to open the Room dashboard.", "short",
              [target("%s * on (%s) group_left (room_name, owner_account) "
                      "tencent_live_room_info{%s}" % (top_views, ROOM_KEYS, SEL),
                      ref="A", instant=True, table=True),
               target("(%s) and on (%s) %s" % (views_rate, ROOM_KEYS, top_views),
                      ref="B", instant=True, table=True)],
              14, 11,
              options={"showHeader": True, "sortBy": [{"displayName": "Views", "desc": True}]},
              transformations=[
                  {"id": "merge", "options": {}},
                  {"id": "organize", "options": {
                      "excludeByName": {"Time": True, "job": True, "instance": True},
                      "indexByName": {"sdkappid": 0, "room_id": 1, "room_name": 2,
                                      "owner_account": 3, "Value #A": 4, "Value #B": 5},
                      "renameByName": {"room_id": "Room ID", "room_name": "Name",
                                       "owner_account": "Owner", "sdkappid": "SDKAppID",
                                       "Value #A": "Views", "Value #B": "Views/min"}}}],
              overrides=[
                  {"matcher": {"id": "byName", "options": "Views/min"},
                   "properties": [{"id": "unit", "value": "suffix: views/min"},
                                  {"id": "decimals", "value": 1}]},
                  {"matcher": {"id": "byName", "options": "Room ID"},
                   "properties": [{"id": "links", "value": [{
                       "title": "Open in the Room dashboard",
                       "url": "/d/tle-room/tencent-live-room?${datasource:queryparam}&"
                              "${job:queryparam}&${instance:queryparam}&"
                              "var-sdkappid=${__data.fields.SDKAppID}&"
                              "var-room_id=${__value.raw}&${__url_time_range}"}]}]}]),
        timeseries("Views gained per minute, top 10 rooms", "Rate at which the 10 fastest-growing "
                   "rooms gain views (room entries per minute, over 5 minutes; recording rule "
                   "sdkappid_room_id:tencent_live_room_views:rate5m).", "suffix: views/min",
                   [target("topk(10, %s) * on (%s) group_left (room_name) "
                           "tencent_live_room_info{%s}" % (views_rate, ROOM_KEYS, SEL),
                           "{{room_name}} ({{room_id}})")], w=10, h=11),
        timeseries("Views gained per minute, per app", "Rate at which all rooms with room-level "
                   "series together gain views (entries per minute over 5 minutes; recording rule "
                   "sdkappid:tencent_live_room_views:rate5m). Rooms omitted by max_room_series are "
                   "not included.", "suffix: views/min",
                   [target("60 * sdkappid:tencent_live_room_views:rate5m{%s}" % SEL,
                           "{{sdkappid}}")], w=24),

        row("Walks"),
        timeseries("Walk duration against the interval", "How long the last walk of the room "
                   "list took, next to the configured walk interval. A duration above the "
                   "interval means walks run back to back.", "s",
                   [target("tencent_live_walk_duration_seconds{%s}" % SEL,
                           "{{sdkappid}} walk duration"),
                    target("tencent_live_walk_interval_seconds{%s}" % SEL,
                           "{{sdkappid}} interval", ref="B")]),
        timeseries("Pages per walk", "Pages of get_room_list fetched by the last walk.", "short",
                   [target("tencent_live_walk_pages{%s}" % SEL, "{{sdkappid}}")]),
        timeseries("Snapshot age", "Time since the last complete walk ended, per app.", "s",
                   [target("time() - tencent_live_last_success_timestamp_seconds{%s}" % SEL,
                           "{{sdkappid}}")], w=8),
        timeseries("Walks and walk failures", "Walks started per minute, and walks that did not "
                   "complete per minute by reason.", "suffix: walks/min",
                   [target("60 * sum by (sdkappid) (rate(tencent_live_walks_total{%s}"
                           "[$__rate_interval]))" % SEL, "{{sdkappid}} started"),
                    target("60 * sum by (sdkappid, reason) (rate(tencent_live_walk_failures_total"
                           "{%s}[$__rate_interval]))" % SEL, "{{sdkappid}} failed: {{reason}}",
                           ref="B")], w=8),
        timeseries("Rooms rejected", "Rooms dropped from answer pages per minute, by reason: "
                   "missing_room_id, bad_field (a field of the wrong type), duplicate (a room "
                   "seen twice in one walk because rankings moved).", "suffix: rooms/min",
                   [target("60 * sum by (sdkappid, reason) (rate(tencent_live_rooms_rejected_total"
                           "{%s}[$__rate_interval]))" % SEL, "{{sdkappid}} {{reason}}")], w=8),

        row("API"),
        timeseries("API request rate", "Requests sent to the upstream API per second, per app "
                   "and API (retries included).", "reqps",
                   [target("sum by (sdkappid, api) (rate(tencent_live_api_requests_total{%s}"
                           "[$__rate_interval]))" % SEL, "{{sdkappid}} {{api}}")], w=8),
        timeseries("API errors by code", "Failed requests per second by ErrorCode (or http_502, "
                   "network, timeout, tls, decode). Codes 7000x/60010/70403 are credential "
                   "problems, 60007/60011/60018/60019/70050 rate limits.", "reqps",
                   [target("sum by (sdkappid, code) (rate(tencent_live_api_errors_total{%s}"
                           "[$__rate_interval]))" % SEL, "{{sdkappid}} {{code}}")], w=8),
        timeseries("API retries", "Requests retried per second after a retryable error.",
                   "reqps",
                   [target("sum by (sdkappid, api) (rate(tencent_live_api_retries_total{%s}"
                           "[$__rate_interval]))" % SEL, "{{sdkappid}} {{api}}")], w=8),
        timeseries("API error ratio", "Share of requests that failed over 5 minutes (recording "
                   "rule sdkappid:tencent_live_api_errors:ratio_rate5m). The alert "
                   "TencentLiveApiErrorRatioHigh fires above 10% for 15 minutes.", "percentunit",
                   [target("sdkappid:tencent_live_api_errors:ratio_rate5m{%s}" % SEL,
                           "{{sdkappid}}")], w=8, field={"min": 0}),
        timeseries("API request latency", "Quantiles of upstream request latency, per app, from "
                   "the tencent_live_api_request_duration_seconds histogram.", "s",
                   [target("histogram_quantile(%s, sum by (sdkappid, le) (rate("
                           "tencent_live_api_request_duration_seconds_bucket{%s}"
                           "[$__rate_interval])))" % (q, SEL), "{{sdkappid}} p%s" % p, ref=r)
                    for q, p, r in (("0.5", "50", "A"), ("0.9", "90", "B"), ("0.99", "99", "C"))],
                   w=16),
    ]
    return dashboard("tle-overview", "Tencent Live / Overview",
                     "Live rooms of Tencent Cloud Chat apps as seen by tencent_live_exporter, and "
                     "the exporter's own health (walks, API requests).", panels, common_vars(),
                     ["tencent-live"])


def room():
    variables = common_vars() + [
        query_var("room_id", "Room", 'label_values(tencent_live_room_views{%s}, room_id)' % SEL,
                  multi=False, include_all=False)]
    info = "tencent_live_room_info{%s}" % ROOM_SEL
    panels = [
        row("Room"),
        stat("Name", "The room's RoomName (from tencent_live_room_info).", "none",
             [target(info, "{{room_name}}", instant=True)], w=6, text_mode="name"),
        stat("Owner", "The room's Owner_Account.", "none",
             [target(info, "{{owner_account}}", instant=True)], w=4, text_mode="name"),
        stat("Category tags", "The room's Category tags, joined by commas (empty: no tags).",
             "none", [target(info, "{{categories}}", instant=True)], w=4, text_mode="name"),
        stat("Views now", "The room's ViewCount: total room entries so far.", "short",
             [target("tencent_live_room_views{%s}" % ROOM_SEL, "{{room_id}}")], w=3),
        stat("Activity status", "The room's ActivityStatus (a value the application defines).",
             "none", [target("tencent_live_room_activity_status{%s}" % ROOM_SEL, "{{room_id}}")],
             w=3),
        stat("Age", "Time since the room was created (CreateTime).", "s",
             [target("time() - tencent_live_room_created_timestamp_seconds{%s}" % ROOM_SEL,
                     "{{room_id}}")], w=4),
        timeseries("Views over time", "The room's ViewCount (total entries) at each walk.",
                   "short", [target("tencent_live_room_views{%s}" % ROOM_SEL, "{{room_id}}")]),
        timeseries("Entries per minute", "Views the room gained per minute, over 5 minutes "
                   "(recording rule sdkappid_room_id:tencent_live_room_views:rate5m).",
                   "suffix: entries/min",
                   [target("60 * sdkappid_room_id:tencent_live_room_views:rate5m{%s}" % ROOM_SEL,
                           "{{room_id}}")]),
        timeseries("Activity status over time", "The room's ActivityStatus at each walk.", "none",
                   [target("tencent_live_room_activity_status{%s}" % ROOM_SEL, "{{room_id}}")],
                   field={"custom": {"lineWidth": 1, "fillOpacity": 0, "showPoints": "never",
                                     "lineInterpolation": "stepAfter"}}),
        panel("table", "Room details", "Everything tencent_live_room_info says about the room.",
              "none", [target(info, ref="A", instant=True, table=True)], 12, 8,
              options={"showHeader": True},
              transformations=[{"id": "organize", "options": {
                  "excludeByName": {"Time": True, "Value": True, "__name__": True, "job": True,
                                    "instance": True},
                  "renameByName": {"room_id": "Room ID", "room_name": "Name",
                                   "owner_account": "Owner", "categories": "Category tags",
                                   "cover_url": "Cover URL", "sdkappid": "SDKAppID"}}}]),
    ]
    return dashboard("tle-room", "Tencent Live / Room",
                     "One live room, picked with the Room variable. Only rooms with room-level "
                     "series (the top max_room_series by views) can be picked.", panels, variables,
                     ["tencent-live"])


def render(obj):
    return json.dumps(obj, indent=2, sort_keys=False) + "\n"


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    outputs = {"overview.json": render(overview()), "room.json": render(room())}
    if "--check" in sys.argv[1:]:
        stale = []
        for name, text in outputs.items():
            with open(os.path.join(here, name), encoding="utf-8") as f:
                if f.read() != text:
                    stale.append(name)
        if stale:
            print("out of date (run python3 dashboards/generate.py): " + ", ".join(stale))
            return 1
        print("dashboards match dashboards/generate.py")
        return 0
    for name, text in outputs.items():
        with open(os.path.join(here, name), "w", encoding="utf-8") as f:
            f.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
