#!/usr/bin/env bash
# Bundles the demo page's script (hls.js + P2P Media Loader 2.3.1 from node_modules, and
# web/src) into web/dist/app.js with esbuild, so `go build` can embed it. Nothing is loaded
# from a CDN at run time. Needs `npm ci` first (scripts/install-deps.sh does it).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x node_modules/.bin/esbuild ]; then
  echo "build-web: node_modules/.bin/esbuild is missing; run scripts/install-deps.sh (npm ci) first" >&2
  exit 1
fi
mkdir -p web/dist
node_modules/.bin/esbuild web/src/app.js \
  --bundle --format=iife --target=es2020 --minify --sourcemap \
  --inject:web/src/process-shim.js --define:global=globalThis \
  --outfile=web/dist/app.js --log-level=warning
echo "build-web: wrote web/dist/app.js ($(wc -c < web/dist/app.js) bytes)"
