# swarmcast: the whole live P2P demo in one image — tracker, HLS test card (ffmpeg) and origin,
# seeder, and the demo page — run by `swarmcast all /app/config.json`:
#
#   docker build -t swarmcast .
#   docker run --rm -p 8000:8000 -p 8000:8000/udp -v "$PWD/config.json:/app/config.json:ro" swarmcast
#
# then open http://localhost:8000/. TCP 8000 carries the page, the WebSocket tracker, /hls/,
# /stats.json and /metrics; UDP 8000 is the seeder's single WebRTC port (set
# seeder.publicIps to the host's address when browsers reach it from other machines).
#
# The tracker alone, as a drop-in for a wt-tracker container (a wt-tracker config.json also
# runs just the tracker under the default command):
#
#   docker run --rm -p 8000:8000 -v "$PWD/config.json:/app/config.json:ro" swarmcast tracker /app/config.json
#
# Graceful shutdown closes WebSockets with 1001 and stops ffmpeg within shutdownTimeout
# seconds (default 10, Docker's default stop timeout; use `docker stop -t` for more).
# SIGHUP (`docker kill -s HUP`) reloads TLS certificates.

# 1. The page bundle: hls.js + P2P Media Loader from npm, bundled with esbuild.
FROM node:20-bookworm-slim AS web
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
COPY web ./web
COPY scripts/build-web.sh ./scripts/build-web.sh
RUN bash scripts/build-web.sh

# 2. A static Go binary with the page embedded.
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
COPY --from=web /src/web/dist ./web/dist
RUN CGO_ENABLED=0 GOOS=linux go build -trimpath -ldflags="-s -w" -o /out/swarmcast . \
    && /out/swarmcast -check /src/config.json

# 3. Runtime: Debian slim with ffmpeg and the test card's font, as a non-root user.
FROM debian:bookworm-slim
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ffmpeg fonts-dejavu-core ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --home-dir /app --shell /usr/sbin/nologin swarmcast
WORKDIR /app
COPY --from=build /out/swarmcast /usr/local/bin/swarmcast
COPY --chown=swarmcast:swarmcast config.json /app/config.json
USER swarmcast
EXPOSE 8000/tcp 8000/udp
HEALTHCHECK --interval=15s --timeout=5s --start-period=20s --retries=3 \
    CMD ["/usr/local/bin/swarmcast", "-log-level", "error", "healthcheck", "/app/config.json"]
ENTRYPOINT ["/usr/local/bin/swarmcast"]
CMD ["all", "/app/config.json"]
