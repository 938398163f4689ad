#!/usr/bin/env python3
"""Prints a wrk Lua script asking for every published page of the seeded
scale landings in turn (`api seed --scale N --scale-pages 30`): each request
a different page. Used by bench.sh and bench_scaleout.sh.

usage: delivery_urls.py API_BASE SCALE > urls.lua
"""
import json
import sys
import urllib.request

base, scale = sys.argv[1], int(sys.argv[2])
paths = []
for i in range(1, scale + 1):
    with urllib.request.urlopen(f"{base}/api/v1/delivery/sites/by-host/scale-{i}.localhost") as r:
        site = json.load(r)["site_id"]
    paths += [f"/api/v1/delivery/sites/{site}/pages?path={p}&locale=en" for p in ["/"] + [f"/page-{n}" for n in range(1, 30)]]
print("local paths = {" + ",".join(json.dumps(p) for p in paths) + "}")
print("local i = 0")
print("request = function() i = i % #paths + 1; return wrk.format('GET', paths[i]) end")
