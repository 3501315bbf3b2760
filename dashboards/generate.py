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


def heatmap(title, description, targets, y_unit, w=12, h=8):
    """A heatmap of a Prometheus histogram's buckets (targets with format=heatmap, legend {{le}})."""
    for t in targets:
        t["format"] = "heatmap"
    return panel("heatmap", title, description, "short", targets, w, h,
                 options={"calculate": False, "yAxis": {"axisPlacement": "left", "unit": y_unit},
                          "rowsFrame": {"layout": "auto"}, "cellValues": {"unit": "short"},
                          "color": {"mode": "scheme", "scheme": "Oranges", "fill": "dark",
                                    "scale": "exponential", "exponent": 0.5, "steps": 64},
                          "tooltip": {"show": True, "yHistogram": True},
                          "legend": {"show": True}, "showValue": "never"})


def dashboard(uid, title, description, panels, variables, tags):
    # Provisioned from files: changes made in the UI would be lost at the next provisioning, so the
    # dashboards are read-only there (edit dashboards/generate.py, or save a copy).
    return {
        "uid": uid, "title": title, "description": description, "tags": tags,
        "editable": False, "graphTooltip": 1, "schemaVersion": 38, "version": 1,
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
RELOAD_MAPPINGS = [{"type": "value", "options": {
    "0": {"text": "failed", "color": "red", "index": 0},
    "1": {"text": "OK", "color": "green", "index": 1}}}]
AGE_THRESHOLDS = [{"color": "green", "value": None}, {"color": "orange", "value": 300},
                  {"color": "red", "value": 600}]
RED_BELOW_1 = [{"color": "red", "value": None}, {"color": "green", "value": 1}]
# Only for the job/instance-level series without an sdkappid label (up, the config reload gauges).
INSTANCE_SEL = 'job=~"$job", instance=~"$instance"'
TOP_ROOMS_NOTE = (" Top rooms only: the top_rooms.count most-viewed rooms of each app (off while "
                  "top_rooms.count is 0), refreshed every top_rooms.interval.")
ROOM_LINK = {"title": "Open in the Room dashboard",
             "url": "/d/tle-room/tencent-live-room?${datasource:queryparam}&"
                    "${job:queryparam}&${instance:queryparam}&"
                    "var-sdkappid=${__data.fields.SDKAppID}&"
                    "var-room_id=${__value.raw}&${__url_time_range}"}


def per_minute_override(column, unit="cpm"):
    return {"matcher": {"id": "byName", "options": column},
            "properties": [{"id": "unit", "value": unit}, {"id": "decimals", "value": 1}]}


def room_link_override():
    return {"matcher": {"id": "byName", "options": "Room ID"},
            "properties": [{"id": "links", "value": [ROOM_LINK]}]}


def room_table(title, description, value_targets, columns, overrides, w=24, h=10):
    """A table of rooms: sdkappid, room ID, name and owner, then one column per target (refs A..)."""
    index = {"sdkappid": 0, "room_id": 1, "room_name": 2, "owner_account": 3}
    rename = {"room_id": "Room ID", "room_name": "Name", "owner_account": "Owner",
              "sdkappid": "SDKAppID"}
    for i, (t, column) in enumerate(zip(value_targets, columns)):
        index[f"Value #{t['refId']}"] = 4 + i
        rename[f"Value #{t['refId']}"] = column
    return panel("table", title, description, "short", value_targets, w, h,
                 options={"showHeader": True, "sortBy": [{"displayName": columns[0], "desc": True}]},
                 transformations=[
                     {"id": "merge", "options": {}},
                     {"id": "organize", "options": {
                         "excludeByName": {"Time": True, "job": True, "instance": True},
                         "indexByName": index, "renameByName": rename}}],
                 overrides=overrides + [room_link_override()])


def overview():
    views_rate = "60 * sdkappid_room_id:tencent_live_room_views:rate5m{%s}" % SEL
    top_views = "topk(20, tencent_live_room_views{%s})" % SEL
    top_members = "topk(20, tencent_live_room_members{%s})" % SEL
    info = "tencent_live_room_info{%s}" % SEL

    def per_room_top_members(record):
        return "60 * %s{%s} and on (%s) %s" % (record, SEL, ROOM_KEYS, top_members)

    def app_sum(record):
        return "60 * sum by (sdkappid) (%s{%s})" % (record, SEL)

    def app_rate(metric):
        return "60 * sum by (sdkappid) (rate(%s{%s}[$__rate_interval]))" % (metric, SEL)

    lifetime_q = ("histogram_quantile(%s, sum by (sdkappid, le) "
                  "(sdkappid_le:tencent_live_room_lifetime_seconds_bucket:rate1h{%s}))")
    panels = [
        row("Apps"),
        stat("Walk state", "Per app: OK when the exporter's last walk of the room list completed "
             "(tencent_live_up = 1), failing when it did not.", "none",
             [target("tencent_live_up{%s}" % SEL, "{{sdkappid}}")], mappings=UP_MAPPINGS,
             thresholds=RED_BELOW_1),
        stat("Scrape target", "Whether Prometheus can scrape each exporter instance (up).", "none",
             [target("up{%s}" % INSTANCE_SEL, "{{instance}}")], mappings=TARGET_MAPPINGS,
             thresholds=RED_BELOW_1),
        stat("Config reload", "Per exporter instance: whether its last config reload (POST "
             "/-/reload or SIGHUP) succeeded. After a failed one the exporter runs on its previous "
             "config (alert TencentLiveConfigReloadFailed).", "none",
             [target("tencent_live_config_last_reload_successful{%s}" % INSTANCE_SEL,
                     "{{instance}}")], mappings=RELOAD_MAPPINGS, thresholds=RED_BELOW_1),
        stat("Snapshot age", "Per app: time since the last complete walk ended. It grows by one "
             "walk interval between walks; much more means walks fail (stale snapshot).", "s",
             [target("time() - tencent_live_last_success_timestamp_seconds{%s}" % SEL,
                     "{{sdkappid}}")], thresholds=AGE_THRESHOLDS),
        stat("Top-rooms round age", "Per app: time since the last complete round over the top "
             "rooms (members and engagement) ended. It grows by one top_rooms.interval between "
             "rounds; no value while top_rooms.count is 0.", "s",
             [target("time() - tencent_live_top_rooms_last_success_timestamp_seconds{%s}" % SEL,
                     "{{sdkappid}}")], thresholds=AGE_THRESHOLDS),
        stat("Rooms omitted", "Per app: rooms without room-level series because only the top "
             "max_room_series rooms by views get them. Aggregates still count them.", "short",
             [target("tencent_live_room_series_omitted{%s}" % SEL, "{{sdkappid}}")],
             thresholds=[{"color": "green", "value": None}, {"color": "orange", "value": 1}]),
        stat("Live rooms now", "Per app: rooms listed by the last complete walk.", "short",
             [target("tencent_live_rooms{%s}" % SEL, "{{sdkappid}}")], w=6),
        stat("Room entries per minute", "Per app: room entries per minute over 5 minutes, from "
             "tencent_live_room_entries_total (recording rule "
             "sdkappid:tencent_live_room_entries:rate5m). Covers every room, also rooms that "
             "opened or closed meanwhile.", "cpm",
             [target("60 * sdkappid:tencent_live_room_entries:rate5m{%s}" % SEL,
                     "{{sdkappid}}")], w=6),
        stat("People in top rooms now", "Per app: the people in its top rooms now, the sum of "
             "MemberCount (recording rule sdkappid:tencent_live_room_members:sum)."
             + TOP_ROOMS_NOTE, "short",
             [target("sdkappid:tencent_live_room_members:sum{%s}" % SEL, "{{sdkappid}}")], w=6),
        stat("ViewCount sum now", "Per app: tencent_live_views, the sum of ViewCount (each "
             "room's entries so far) over the rooms live now. Not a counter: it drops when rooms "
             "close; entries per minute come from tencent_live_room_entries_total.", "short",
             [target("tencent_live_views{%s}" % SEL, "{{sdkappid}}")], w=6),

        row("Rooms"),
        timeseries("Live rooms", "Rooms listed by each complete walk, per app.", "short",
                   [target("tencent_live_rooms{%s}" % SEL, "{{sdkappid}}")]),
        timeseries("Room entries per minute, per app", "Entries into all rooms of each app per "
                   "minute, over 5 minutes (recording rule sdkappid:tencent_live_room_entries:"
                   "rate5m): the ViewCount growth of rooms seen before plus the ViewCount of rooms "
                   "opened since. Unlike rate(tencent_live_views) it does not jump when rooms "
                   "close.", "cpm",
                   [target("60 * sdkappid:tencent_live_room_entries:rate5m{%s}" % SEL,
                           "{{sdkappid}}")]),
        timeseries("Rooms opened and closed per minute", "Per app: rooms seen for the first time "
                   "(opened) and rooms missed by two complete walks in a row (closed), per "
                   "minute. A room missed by one walk only (rankings move during a walk) counts "
                   "as neither.", "cpm",
                   [target(app_rate("tencent_live_rooms_opened_total"), "{{sdkappid}} opened"),
                    target(app_rate("tencent_live_rooms_closed_total"), "{{sdkappid}} closed",
                           ref="B")]),
        timeseries("Room lifetime quantiles", "How long closed rooms lived (last walk that saw "
                   "them minus CreateTime), median, 90th and 99th percentile over the rooms that "
                   "closed in the last hour (recording rule sdkappid_le:tencent_live_room_"
                   "lifetime_seconds_bucket:rate1h). No value while no room closed in that hour.",
                   "s",
                   [target(lifetime_q % (q, SEL), "{{sdkappid}} p%s" % p, ref=r)
                    for q, p, r in (("0.5", "50", "A"), ("0.9", "90", "B"), ("0.99", "99", "C"))]),
        heatmap("Room lifetimes", "Rooms closed in each interval, by how long they lived "
                "(buckets of tencent_live_room_lifetime_seconds, 1 minute to 24 hours). Darker "
                "cells: more rooms.",
                [target("sum by (le) (increase(tencent_live_room_lifetime_seconds_bucket{%s}"
                        "[$__rate_interval]))" % SEL, "{{le}}")], "s"),
        timeseries("ViewCount sum", "tencent_live_views: the sum of ViewCount over the rooms live "
                   "now, per app. It drops when rooms with many views close, so it is not a count "
                   "of entries (see Room entries per minute).", "short",
                   [target("tencent_live_views{%s}" % SEL, "{{sdkappid}}")]),
        timeseries("Rooms by category", "Rooms carrying each category tag, per app; rooms "
                   "without tags count under \"none\". A room with several tags counts once per "
                   "tag. Names come from category_names in the exporter's config.", "short",
                   [target("sum by (sdkappid, category, category_name) "
                           "(tencent_live_category_rooms{%s})" % SEL,
                           "{{sdkappid}} category {{category}} {{category_name}}")]),
        bargauge("Rooms by category now", "Rooms per category tag in the last complete walk.",
                 "short",
                 [target("sum by (sdkappid, category, category_name) "
                         "(tencent_live_category_rooms{%s})" % SEL,
                         "{{sdkappid}} category {{category}} {{category_name}}", instant=True)]),
        timeseries("Rooms by activity status", "Rooms in each ActivityStatus (a value the "
                   "application defines; names from activity_status_names in the config), per "
                   "app.", "short",
                   [target("sum by (sdkappid, activity_status, activity_status_name) "
                           "(tencent_live_activity_status_rooms{%s})" % SEL,
                           "{{sdkappid}} status {{activity_status}} {{activity_status_name}}")]),
        bargauge("Rooms by activity status now", "Rooms per ActivityStatus in the last complete "
                 "walk.", "short",
                 [target("sum by (sdkappid, activity_status, activity_status_name) "
                         "(tencent_live_activity_status_rooms{%s})" % SEL,
                         "{{sdkappid}} status {{activity_status}} {{activity_status_name}}",
                         instant=True)]),

        row("Top rooms by views"),
        room_table("Top rooms by views", "The 20 rooms with the most views (ViewCount) now, with "
                   "name and owner from tencent_live_room_info and the views they gained per "
                   "minute over the last 5 minutes. Click a room ID to open the Room dashboard.",
                   [target("%s * on (%s) group_left (room_name, owner_account) %s"
                           % (top_views, ROOM_KEYS, info), ref="A", instant=True, table=True),
                    target("(%s) and on (%s) %s" % (views_rate, ROOM_KEYS, top_views),
                           ref="B", instant=True, table=True)],
                   ["Views", "Views/min"], [per_minute_override("Views/min")], w=14, h=11),
        timeseries("Views gained per minute, top 10 rooms", "Rate at which the 10 fastest-growing "
                   "rooms gain views (room entries per minute, over 5 minutes; recording rule "
                   "sdkappid_room_id:tencent_live_room_views:rate5m).", "cpm",
                   [target("topk(10, %s) * on (%s) group_left (room_name) %s"
                           % (views_rate, ROOM_KEYS, info), "{{room_name}} ({{room_id}})")],
                   w=10, h=11),

        row("Audience and engagement (top rooms)"),
        timeseries("People in the top rooms, per app", "The sum of MemberCount, the people in "
                   "the room now, over each app's top rooms. The vendor refreshes MemberCount "
                   "about every 40 seconds." + TOP_ROOMS_NOTE, "short",
                   [target("sdkappid:tencent_live_room_members:sum{%s}" % SEL, "{{sdkappid}}")],
                   w=8),
        timeseries("People in the room, top 10 rooms", "MemberCount of the 10 rooms with the "
                   "most people in them now (get_member_list)." + TOP_ROOMS_NOTE, "short",
                   [target("topk(10, tencent_live_room_members{%s}) * on (%s) group_left "
                           "(room_name) %s" % (SEL, ROOM_KEYS, info),
                           "{{room_name}} ({{room_id}})")], w=16),
        room_table("Top rooms by people in the room", "The 20 rooms with the most people in them "
                   "now, with the likes, messages and gift coins they received per minute over "
                   "the last 5 minutes (get_room_stats; recording rules sdkappid_room_id:"
                   "tencent_live_room_{likes,messages,gift_coins}:rate5m). Click a room ID to "
                   "open the Room dashboard." + TOP_ROOMS_NOTE,
                   [target("%s * on (%s) group_left (room_name, owner_account) %s"
                           % (top_members, ROOM_KEYS, info), ref="A", instant=True, table=True),
                    target(per_room_top_members("sdkappid_room_id:tencent_live_room_likes:rate5m"),
                           ref="B", instant=True, table=True),
                    target(per_room_top_members(
                        "sdkappid_room_id:tencent_live_room_messages:rate5m"),
                        ref="C", instant=True, table=True),
                    target(per_room_top_members(
                        "sdkappid_room_id:tencent_live_room_gift_coins:rate5m"),
                        ref="D", instant=True, table=True)],
                   ["People now", "Likes/min", "Messages/min", "Gift coins/min"],
                   [per_minute_override(c) for c in ("Likes/min", "Messages/min",
                                                     "Gift coins/min")]),
        timeseries("Likes per minute, per app", "Likes (TotalLikesReceived) the top rooms of each "
                   "app received per minute, over 5 minutes." + TOP_ROOMS_NOTE, "cpm",
                   [target(app_sum("sdkappid_room_id:tencent_live_room_likes:rate5m"),
                           "{{sdkappid}}")], w=8),
        timeseries("Messages per minute, per app", "Messages (TotalMsgCount) sent in the top "
                   "rooms of each app per minute, over 5 minutes." + TOP_ROOMS_NOTE, "cpm",
                   [target(app_sum("sdkappid_room_id:tencent_live_room_messages:rate5m"),
                           "{{sdkappid}}")], w=8),
        timeseries("Gift coins per minute, per app", "Gift coins (TotalGiftCoins) the top rooms "
                   "of each app received per minute, over 5 minutes." + TOP_ROOMS_NOTE, "cpm",
                   [target(app_sum("sdkappid_room_id:tencent_live_room_gift_coins:rate5m"),
                           "{{sdkappid}}")], w=8),

        row("Walks and top-rooms rounds"),
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
                   "complete per minute by reason.", "opm",
                   [target(app_rate("tencent_live_walks_total"), "{{sdkappid}} started"),
                    target("60 * sum by (sdkappid, reason) (rate(tencent_live_walk_failures_total"
                           "{%s}[$__rate_interval]))" % SEL, "{{sdkappid}} failed: {{reason}}",
                           ref="B")], w=8),
        timeseries("Rooms rejected", "Rooms dropped from answer pages per minute, by reason: "
                   "missing_room_id, bad_field (a field of the wrong type), duplicate (a room "
                   "seen twice in one walk because rankings moved).", "cpm",
                   [target("60 * sum by (sdkappid, reason) (rate(tencent_live_rooms_rejected_total"
                           "{%s}[$__rate_interval]))" % SEL, "{{sdkappid}} {{reason}}")], w=8),
        timeseries("Top-rooms round duration", "How long the last round over the top rooms took "
                   "(one get_member_list and one get_room_stats call per room). It is at least "
                   "top_rooms.count / room_stats_qps seconds." + TOP_ROOMS_NOTE, "s",
                   [target("tencent_live_top_rooms_round_duration_seconds{%s}" % SEL,
                           "{{sdkappid}}")]),
        timeseries("Top-rooms round age", "Time since the last complete top-rooms round ended, "
                   "per app. The alert TencentLiveTopRoomsFailing fires when it stays above 10 "
                   "minutes for 5 minutes.", "s",
                   [target("time() - tencent_live_top_rooms_last_success_timestamp_seconds{%s}"
                           % SEL, "{{sdkappid}}")]),

        row("API"),
        timeseries("API request rate", "Requests sent to the upstream API per second, per app "
                   "and API (retries included). Limits per app: get_room_list 10/s, "
                   "get_member_list 200/s, get_room_stats 100/s.", "reqps",
                   [target("sum by (sdkappid, api) (rate(tencent_live_api_requests_total{%s}"
                           "[$__rate_interval]))" % SEL, "{{sdkappid}} {{api}}")], w=8),
        timeseries("API errors by code", "Failed requests per second by API and ErrorCode (or "
                   "http_502, network, timeout, tls, decode). Codes 7000x/60010/70403 are "
                   "credential problems, 60007/60011/60018/60019/70050 rate limits, 100004 on the "
                   "top-rooms APIs a room that closed since the walk.", "reqps",
                   [target("sum by (sdkappid, api, code) (rate(tencent_live_api_errors_total{%s}"
                           "[$__rate_interval]))" % SEL, "{{sdkappid}} {{api}} {{code}}")], w=8),
        timeseries("API retries", "Requests retried per second after a retryable error.",
                   "reqps",
                   [target("sum by (sdkappid, api) (rate(tencent_live_api_retries_total{%s}"
                           "[$__rate_interval]))" % SEL, "{{sdkappid}} {{api}}")], w=8),
        timeseries("API error ratio", "Share of each API's requests that failed over 5 minutes "
                   "(recording rule sdkappid_api:tencent_live_api_failed_requests:ratio_rate5m). "
                   "The alert TencentLiveApiErrorRatioHigh fires above 10% for 15 minutes.",
                   "percentunit",
                   [target("sdkappid_api:tencent_live_api_failed_requests:ratio_rate5m{%s}" % SEL,
                           "{{sdkappid}} {{api}}")], w=8, field={"min": 0}),
        timeseries("API request latency", "Quantiles of upstream request latency, per app and "
                   "API, from the tencent_live_api_request_duration_seconds histogram.", "s",
                   [target("histogram_quantile(%s, sum by (sdkappid, api, le) (rate("
                           "tencent_live_api_request_duration_seconds_bucket{%s}"
                           "[$__rate_interval])))" % (q, SEL), "{{sdkappid}} {{api}} p%s" % p,
                           ref=r)
                    for q, p, r in (("0.5", "50", "A"), ("0.9", "90", "B"), ("0.99", "99", "C"))],
                   w=16),
    ]
    return dashboard("tle-overview", "Tencent Live / Overview",
                     "Live rooms of Tencent Cloud Chat apps as seen by tencent_live_exporter: "
                     "rooms, entries, the audience and engagement of the top rooms, and the "
                     "exporter's own health (walks, rounds, API requests).", panels,
                     common_vars(), ["tencent-live"])


def room():
    variables = common_vars() + [
        query_var("room_id", "Room", 'label_values(tencent_live_room_views{%s}, room_id)' % SEL,
                  multi=False, include_all=False)]
    info = "tencent_live_room_info{%s}" % ROOM_SEL

    def per_minute(record):
        return "60 * %s{%s}" % (record, ROOM_SEL)

    def rate_per_minute(metric):
        return "60 * rate(%s{%s}[$__rate_interval])" % (metric, ROOM_SEL)

    likes = per_minute("sdkappid_room_id:tencent_live_room_likes:rate5m")
    messages = per_minute("sdkappid_room_id:tencent_live_room_messages:rate5m")
    coins = per_minute("sdkappid_room_id:tencent_live_room_gift_coins:rate5m")
    panels = [
        row("Room"),
        stat("Name", "The room's RoomName (from tencent_live_room_info).", "none",
             [target(info, "{{room_name}}", instant=True)], w=8, text_mode="name"),
        stat("Owner", "The room's Owner_Account.", "none",
             [target(info, "{{owner_account}}", instant=True)], w=4, text_mode="name"),
        stat("Category tags", "The room's Category tags, joined by commas (empty: no tags).",
             "none", [target(info, "{{categories}}", instant=True)], w=4, text_mode="name"),
        stat("Category names", "The names of the room's Category tags from category_names in "
             "the exporter's config (the ID for an unmapped tag).", "none",
             [target(info, "{{category_names}}", instant=True)], w=4, text_mode="name"),
        stat("Age", "Time since the room was created (CreateTime).", "s",
             [target("time() - tencent_live_room_created_timestamp_seconds{%s}" % ROOM_SEL,
                     "{{room_id}}")], w=4),
        stat("Views now", "The room's ViewCount: total room entries so far.", "short",
             [target("tencent_live_room_views{%s}" % ROOM_SEL, "{{room_id}}")]),
        stat("People in the room now", "MemberCount: the people in the room now "
             "(get_member_list, refreshed by the vendor about every 40 s). Only for the top "
             "rooms (top_rooms.count).", "short",
             [target("tencent_live_room_members{%s}" % ROOM_SEL, "{{room_id}}")]),
        stat("Activity status", "The room's ActivityStatus (a value the application defines).",
             "none", [target("tencent_live_room_activity_status{%s}" % ROOM_SEL, "{{room_id}}")]),
        stat("Likes per minute", "Likes the room received per minute over 5 minutes (top rooms "
             "only).", "cpm", [target(likes, "{{room_id}}")]),
        stat("Messages per minute", "Messages sent in the room per minute over 5 minutes (top "
             "rooms only).", "cpm", [target(messages, "{{room_id}}")]),
        stat("Gift coins per minute", "Gift coins the room received per minute over 5 minutes "
             "(top rooms only).", "cpm", [target(coins, "{{room_id}}")]),
        timeseries("Views over time", "The room's ViewCount (total entries) at each walk.",
                   "short", [target("tencent_live_room_views{%s}" % ROOM_SEL, "{{room_id}}")]),
        timeseries("Entries per minute", "Views the room gained per minute, over 5 minutes "
                   "(recording rule sdkappid_room_id:tencent_live_room_views:rate5m).", "cpm",
                   [target(per_minute("sdkappid_room_id:tencent_live_room_views:rate5m"),
                           "{{room_id}}")]),
        timeseries("People in the room", "MemberCount at each top-rooms round: the people in the "
                   "room, as opposed to the entries so far (ViewCount). The vendor refreshes it "
                   "about every 40 s. Gaps: the room was not among the top rooms.", "short",
                   [target("tencent_live_room_members{%s}" % ROOM_SEL, "{{room_id}}")]),
        timeseries("Activity status over time", "The room's ActivityStatus at each walk.", "none",
                   [target("tencent_live_room_activity_status{%s}" % ROOM_SEL, "{{room_id}}")],
                   field={"custom": {"lineWidth": 1, "fillOpacity": 0, "showPoints": "never",
                                     "lineInterpolation": "stepAfter"}}),

        row("Engagement (top rooms)"),
        timeseries("Likes per minute", "Likes (TotalLikesReceived) per minute over 5 minutes "
                   "(recording rule sdkappid_room_id:tencent_live_room_likes:rate5m).", "cpm",
                   [target(likes, "{{room_id}}")], w=8),
        timeseries("Messages per minute", "Messages (TotalMsgCount) per minute over 5 minutes "
                   "(recording rule sdkappid_room_id:tencent_live_room_messages:rate5m).", "cpm",
                   [target(messages, "{{room_id}}")], w=8),
        timeseries("Gift coins per minute", "Gift coins (TotalGiftCoins) per minute over 5 "
                   "minutes (recording rule sdkappid_room_id:tencent_live_room_gift_coins:rate5m).",
                   "cpm", [target(coins, "{{room_id}}")], w=8),
        timeseries("Gifts and gift senders per minute", "Gifts sent (TotalGiftsSent) and new "
                   "unique gift senders (TotalUniqueGiftSenders) per minute.", "cpm",
                   [target(rate_per_minute("tencent_live_room_gifts_total"), "gifts"),
                    target(rate_per_minute("tencent_live_room_gift_senders_total"),
                           "new gift senders", ref="B")], w=12),
        timeseries("New viewers per minute", "Growth of TotalViewers (get_room_stats), the "
                   "room's cumulative viewers, per minute.", "cpm",
                   [target(rate_per_minute("tencent_live_room_viewers_total"), "{{room_id}}")],
                   w=12),
        panel("table", "Room details", "Everything tencent_live_room_info says about the room.",
              "none", [target(info, ref="A", instant=True, table=True)], 24, 6,
              options={"showHeader": True},
              transformations=[{"id": "organize", "options": {
                  "excludeByName": {"Time": True, "Value": True, "__name__": True, "job": True,
                                    "instance": True},
                  "renameByName": {"room_id": "Room ID", "room_name": "Name",
                                   "owner_account": "Owner", "categories": "Category tags",
                                   "category_names": "Category names",
                                   "cover_url": "Cover URL", "sdkappid": "SDKAppID"}}}]),
    ]
    return dashboard("tle-room", "Tencent Live / Room",
                     "One live room, picked with the Room variable: views and entries, and for "
                     "the top rooms the people in it and its engagement. Only rooms with "
                     "room-level series (the top max_room_series by views) can be picked.",
                     panels, variables, ["tencent-live"])


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
