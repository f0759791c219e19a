#!/usr/bin/env bash
# Builds swarmcast (page bundle + Go binary) and runs the full demo from config.json:
# tracker + HLS origin + demo page on http://localhost:8000/, the live test card, and the
# seeder. Stop it with Ctrl-C (ffmpeg and all connections are shut down cleanly).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build-web.sh
go build -o swarmcast .
echo "run: open http://localhost:8000/ in one or more browser tabs"
exec ./swarmcast all "${1:-config.json}"
