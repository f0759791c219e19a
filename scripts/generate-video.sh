#!/usr/bin/env bash
# Standalone live HLS test card, for people without Go: the same ffmpeg options as
# `swarmcast hlsgen` with its default config (moving testsrc2 pattern with the wall clock and
# a frame counter, a beeping 1 kHz tone, two H.264/AAC renditions behind a master playlist,
# 2-second segments each starting with a keyframe, a 20-segment window, epoch numbering).
#
# usage: scripts/generate-video.sh [OUTPUT_DIR] [WIDTHxHEIGHT]
#        defaults: /tmp/swarmcast-hls 640x360 (the second rendition is half that size)
# environment: FPS (25), SEG (2 s), LIST (20), PRESET (veryfast), FONT (DejaVuSans.ttf),
#              FFMPEG (ffmpeg)
#
# Output: OUTPUT_DIR/master.m3u8, OUTPUT_DIR/v0/index.m3u8 + v0/seg<N>.ts, same for v1.
# Unlike swarmcast it writes no segments-sha256.json and is not restarted if it stops;
# serve OUTPUT_DIR with any web server (or `swarmcast hlsgen`'s origin). Ctrl-C stops it.
set -euo pipefail

OUT="${1:-/tmp/swarmcast-hls}"
SIZE="${2:-640x360}"
FPS="${FPS:-25}"
SEG="${SEG:-2}"
LIST="${LIST:-20}"
PRESET="${PRESET:-veryfast}"
FONT="${FONT:-/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf}"
FFMPEG="${FFMPEG:-ffmpeg}"

if ! command -v "$FFMPEG" >/dev/null 2>&1; then
  echo "generate-video: $FFMPEG not found; install it with: apt-get install ffmpeg" >&2
  exit 1
fi
if [ ! -f "$FONT" ]; then
  echo "generate-video: font $FONT not found; install it with: apt-get install fonts-dejavu-core" >&2
  exit 1
fi
if ! [[ "$SIZE" =~ ^([0-9]+)x([0-9]+)$ ]]; then
  echo "generate-video: size must be WIDTHxHEIGHT, e.g. 640x360, got '$SIZE'" >&2
  exit 2
fi
W="${BASH_REMATCH[1]}"; H="${BASH_REMATCH[2]}"
if [ $((W % 4)) -ne 0 ] || [ $((H % 4)) -ne 0 ] || [ "$W" -lt 32 ] || [ "$H" -lt 32 ]; then
  echo "generate-video: width and height must be multiples of 4 and at least 32, got $SIZE" >&2
  exit 2
fi
W1=$((W / 2)); H1=$((H / 2))
GOP=$((FPS * SEG))
FONTSIZE=$((H / 14 > 8 ? H / 14 : 8))
# Bitrates in kbit/s, roughly proportional to the picture area (800k at 640x360).
KB0=$(( (W * H * 800) / (640 * 360) )); [ "$KB0" -lt 100 ] && KB0=100
KB1=$(( KB0 * 3 / 8 )); [ "$KB1" -lt 50 ] && KB1=50

mkdir -p "$OUT/v0" "$OUT/v1"
rm -f "$OUT/master.m3u8" "$OUT"/v[01]/index.m3u8 "$OUT"/v[01]/seg*.ts "$OUT"/v[01]/*.tmp
cd "$OUT"

exec "$FFMPEG" -hide_banner -nostdin -nostats -loglevel warning \
  -re -f lavfi -i "testsrc2=size=${W}x${H}:rate=${FPS}" \
  -re -f lavfi -i "sine=frequency=1000:beep_factor=4:sample_rate=48000" \
  -filter_complex "[0:v]drawtext=fontfile=${FONT}:text='%{localtime\:%F %T}  frame %{n}':fontsize=${FONTSIZE}:fontcolor=white:box=1:boxcolor=black@0.6:boxborderw=$((FONTSIZE / 5 > 2 ? FONTSIZE / 5 : 2)):x=(w-tw)/2:y=h-th-$((FONTSIZE / 2 > 4 ? FONTSIZE / 2 : 4)),split=2[v0][s1];[s1]scale=w=${W1}:h=${H1}[v1]" \
  -map "[v0]" -map "[v1]" -map 1:a -map 1:a \
  -c:v libx264 -preset "$PRESET" -tune zerolatency -profile:v main -pix_fmt yuv420p \
    -g "$GOP" -keyint_min "$GOP" -sc_threshold 0 \
    -b:v:0 "${KB0}k" -maxrate:v:0 "${KB0}k" -bufsize:v:0 "$((2 * KB0))k" \
    -b:v:1 "${KB1}k" -maxrate:v:1 "${KB1}k" -bufsize:v:1 "$((2 * KB1))k" \
  -c:a aac -b:a 64k -ac 2 -ar 48000 \
  -f hls -hls_time "$SEG" -hls_list_size "$LIST" -hls_delete_threshold "$((LIST + 1))" \
    -hls_segment_type mpegts \
    -hls_flags delete_segments+independent_segments+program_date_time+temp_file+omit_endlist \
    -hls_start_number_source epoch \
    -master_pl_name master.m3u8 \
    -var_stream_map "v:0,a:0,name:v0 v:1,a:1,name:v1" \
    -hls_segment_filename '%v/seg%d.ts' \
    '%v/index.m3u8'
