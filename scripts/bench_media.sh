#!/usr/bin/env bash
# The image pipeline side by side with libvips' vipsthumbnail (Debian's
# libvips-tools), in one run on the same inputs: renditions per second for a
# 12 MP JPEG into the preset widths in WebP (quality 80) and in AVIF, with
# every core busy (THREADS threads for ours, THREADS single-threaded
# vipsthumbnail processes at a time for libvips); then the peak RSS of one
# process decoding a 40 MP JPEG, and the upload request p50/p99 of a ~5 MB
# JPEG under 64 concurrent uploads (renditions excluded). Prints Markdown for
# BENCHMARKS.md. Run by `make bench`, or alone:
#   scripts/bench_media.sh                      (release build)
#   API_BIN=./target/release/api IMAGES=2 scripts/bench_media.sh
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh
ensure_postgres
ensure_redis
command -v vipsthumbnail >/dev/null || { log "installing libvips-tools (apt-get)"; apt-get install -y -qq libvips-tools >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq libvips-tools >/dev/null; }; }

THREADS="${THREADS:-$(nproc)}"
IMAGES="${IMAGES:-4}"            # 12 MP decodes per thread, WebP
AVIF_IMAGES="${AVIF_IMAGES:-1}"  # 12 MP decodes per thread, AVIF
UPLOADS="${UPLOADS:-256}"
if [[ -z "${API_BIN:-}" ]]; then cargo build --release --bin api; fi
api="${API_BIN:-./target/release/api}"

work=$(mktemp -d)
db="cms_benchmedia_$$"
cleanup() {
  psql -q "$DATABASE_ADMIN_URL" -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

"$api" bench-media sample --width 4000 --height 3000 --quality 90 --out "$work/12mp.jpg" >/dev/null
"$api" bench-media sample --width 8000 --height 5000 --quality 85 --out "$work/40mp.jpg" >/dev/null
"$api" bench-media sample --width 4000 --height 3000 --quality 95 --out "$work/upload.jpg" >/dev/null
widths="${CMS_MEDIA_WIDTHS:-320,640,960,1280,1920}"
export CMS_MEDIA_WIDTHS="$widths"

# vips_rate FORMAT_SUFFIX IMAGES: renditions/s of vipsthumbnail making every
# width of IMAGES x THREADS copies of the 12 MP input, THREADS at a time.
vips_rate() {
  local suffix=$1 images=$2 out="$work/vips" jobs
  rm -rf "$out"; mkdir -p "$out"
  jobs=$(for ((i = 0; i < images * THREADS; i++)); do for w in ${widths//,/ }; do echo "$i $w"; done; done)
  local start end count
  start=$(date +%s.%N)
  # Each line is "copy width": the output name holds both, so none collide.
  echo "$jobs" | IN="$work/12mp.jpg" OUT="$out" SUFFIX="$suffix" VIPS_CONCURRENCY=1 \
    xargs -P "$THREADS" -n 2 sh -c 'vipsthumbnail "$IN" --size "${2}x" -o "$OUT/${1}_${2}.$SUFFIX"' _
  end=$(date +%s.%N)
  count=$(find "$out" -type f | wc -l)
  python3 -c "import sys; c,s,e=int(sys.argv[1]),float(sys.argv[2]),float(sys.argv[3]); print(f'{{\"renditions\": {c}, \"seconds\": {e-s:.3f}, \"renditions_per_s\": {c/(e-s):.3f}}}')" "$count" "$start" "$end"
}

log "renditions: ours, WebP ($THREADS threads x $IMAGES images)"
ours_webp=$("$api" bench-media renditions --image "$work/12mp.jpg" --format webp --threads "$THREADS" --images "$IMAGES")
log "renditions: vipsthumbnail, WebP"
vips_webp=$(vips_rate "webp[Q=80,strip]" "$IMAGES")
log "renditions: ours, AVIF ($THREADS threads x $AVIF_IMAGES images)"
ours_avif=$("$api" bench-media renditions --image "$work/12mp.jpg" --format avif --threads "$THREADS" --images "$AVIF_IMAGES")
log "renditions: vipsthumbnail, AVIF"
# ravif speed 8 (ours, CMS_MEDIA_AVIF_SPEED) is libaom cpu-used 8: libvips effort 1.
vips_avif=$(vips_rate "avif[Q=60,effort=1,strip]" "$AVIF_IMAGES")
log "peak RSS decoding a 40 MP JPEG"
peak=$("$api" bench-media peak-rss --image "$work/40mp.jpg")

log "uploads: $UPLOADS of $(stat -c %s "$work/upload.jpg") bytes, 64 at a time"
"$api" setup --database "$db" >/dev/null
export DATABASE_URL
DATABASE_URL=$(app_database_url "$db")
export CMS_SECRETS_KEY="${CMS_SECRETS_KEY:-$("$api" gen-secrets-key)}"
"$api" gen-key > "$work/key.pem"
export CMS_JWT_PRIVATE_KEY_FILE="$work/key.pem" CMS_MEDIA_DIR="$work/media" CMS_REDIS_PREFIX="benchmedia:$$:" RUST_LOG=error
export CMS_LOGIN_LIMIT_PER_IP=1000000 CMS_LOGIN_LIMIT_PER_ACCOUNT=1000000
"$api" seed >/dev/null
uploads=$("$api" bench-media uploads --image "$work/upload.jpg" --uploads "$UPLOADS" --concurrency 64)

python3 - "$ours_webp" "$vips_webp" "$ours_avif" "$vips_avif" "$peak" "$uploads" "$(vipsthumbnail --vips-version | head -1)" "$widths" <<'PY'
import json, sys
ours_webp, vips_webp, ours_avif, vips_avif, peak, uploads = (json.loads(a) for a in sys.argv[1:7])
version, widths = sys.argv[7], sys.argv[8]
print(f"Renditions of a 12 MP JPEG (4000x3000) into the widths {widths}, every core busy ({ours_webp['threads']} threads; libvips: as many single-threaded vipsthumbnail processes at a time), same inputs, same run:")
print()
print(f"| | this api | {version} (vipsthumbnail) | ratio (ours / theirs) |")
print("|---|---|---|---|")
for label, ours, theirs in (("WebP q80, renditions/s", ours_webp, vips_webp), ("AVIF q60 (speed 8 / effort 1), renditions/s", ours_avif, vips_avif)):
    ratio = ours["renditions_per_s"] / theirs["renditions_per_s"] if theirs["renditions_per_s"] else float("nan")
    print(f"| {label} | {ours['renditions_per_s']:.2f} ({ours['renditions']} in {ours['seconds']:.1f} s) | {theirs['renditions_per_s']:.2f} ({theirs['renditions']} in {theirs['seconds']:.1f} s) | {ratio:.2f}x |")
print()
print(f"Peak RSS of one process decoding a {peak['megapixels']:.0f} MP JPEG ({peak['width']}x{peak['height']}) and making its WebP widths: {peak['peak_rss_mib']:.0f} MiB ({peak['peak_rss_mib_before']:.0f} MiB before the decode).")
print()
print(f"Uploads: {uploads['uploads']} distinct {uploads['bytes_each'] / 1e6:.1f} MB JPEGs, {uploads['concurrency']} at a time, to a release api on loopback (no worker): p50 {uploads['p50_ms']:.0f} ms, p99 {uploads['p99_ms']:.0f} ms, max {uploads['max_ms']:.0f} ms, {uploads['uploads_per_s']:.1f} uploads/s, {uploads['failed']} failed.")
PY
