#!/usr/bin/env bash
# Installs everything swarmcast's demo and tests need on a fresh Debian machine that has Go,
# Node.js/npm and apt: ffmpeg and the DejaVu font (test card), Chromium (browser tests) and
# iproute2 (test network namespaces) and the JavaScript clients from npm (interop tests, demo page bundle).
set -euo pipefail
cd "$(dirname "$0")/.."

SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi

need=()
command -v ffmpeg >/dev/null 2>&1 || need+=(ffmpeg)
command -v ffprobe >/dev/null 2>&1 || need+=(ffmpeg)
command -v chromium >/dev/null 2>&1 || need+=(chromium)
[ -f /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ] || need+=(fonts-dejavu-core)
# ip (network namespaces for the WebRTC tests that cannot be held to loopback)
command -v ip >/dev/null 2>&1 || need+=(iproute2)
if [ ${#need[@]} -gt 0 ]; then
  echo "install-deps: apt-get install ${need[*]}"
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${need[@]}"
fi

# npm ci installs exactly package-lock.json. --ignore-scripts: nothing may download
# binaries at install time (node-datachannel is pinned by "overrides" to a release that
# ships its binary as an npm package).
echo "install-deps: npm ci"
npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
