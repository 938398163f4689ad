#!/usr/bin/env bash
# Lighthouse on the demo landings of a running renderer (default mobile
# emulation and simulated throttling, Debian Chromium); prints a Markdown
# table of the four category scores. `make bench` runs it against its
# release stack; against `make run`'s: scripts/lighthouse.sh 8081
# Usage: scripts/lighthouse.sh RENDERER_PORT [PATH...] (default: / /clinic)
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh
port="$1"
shift
paths=("$@")
((${#paths[@]})) || paths=(/ /clinic)
ensure_node_tools
ensure_chromium
echo "Lighthouse $(node_modules/.bin/lighthouse --version) (default mobile emulation and simulated throttling, Debian Chromium):"
echo
echo "| page | performance | accessibility | best-practices | SEO |"
echo "|---|---|---|---|---|"
for path in "${paths[@]}"; do
  report=$(mktemp --suffix=.json)
  node_modules/.bin/lighthouse "http://alpha.localhost:$port$path" --quiet \
    --chrome-path="$CHROME_PATH" \
    --chrome-flags="--headless=new --no-sandbox --disable-gpu --disable-quic --no-first-run --disable-background-networking --disable-component-update --disable-sync" \
    --only-categories=performance,accessibility,best-practices,seo --output=json --output-path="$report"
  python3 - "$report" "$path" <<'PY'
import json, sys
report = json.load(open(sys.argv[1]))
categories = report["categories"]
score = lambda key: round(categories[key]["score"] * 100)
lcp = report["audits"]["largest-contentful-paint"]["displayValue"]
print(f"| alpha.localhost{sys.argv[2]} (LCP {lcp}) | {score('performance')} | {score('accessibility')} | {score('best-practices')} | {score('seo')} |")
PY
  rm -f "$report"
done
