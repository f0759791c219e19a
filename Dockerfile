# swarmcast: a static binary in a minimal, non-root image. By default it runs the tracker
# alone, as a drop-in for `wt-tracker /app/config.json`:
#
#   docker build -t swarmcast .
#   docker run --rm -p 8000:8000 swarmcast
#   docker run --rm -p 8000:8000 -v "$PWD/my-config.json:/app/config.json:ro" swarmcast
#
# Graceful shutdown sends 1001 to every client and takes at most shutdownTimeout seconds
# (default 10, as Docker's default stop timeout): give `docker stop -t` a few seconds more
# when you raise it. SIGHUP (`docker kill -s HUP`) reloads the TLS certificates.

FROM golang:1.26-bookworm AS build
WORKDIR /src
# Modules first, so source edits do not invalidate the download layer.
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 GOOS=linux go build -trimpath -ldflags="-s -w" -o /out/swarmcast . \
    && /out/swarmcast -check /src/config.json

# distroless/static: CA certificates, tzdata and a "nonroot" user (uid 65532), no shell.
FROM gcr.io/distroless/static-debian12:nonroot
WORKDIR /app
COPY --from=build /out/swarmcast /usr/local/bin/swarmcast
COPY --chown=nonroot:nonroot config.json /app/config.json
USER nonroot:nonroot
EXPOSE 8000
ENTRYPOINT ["/usr/local/bin/swarmcast"]
CMD ["tracker", "/app/config.json"]
