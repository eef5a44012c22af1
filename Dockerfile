# syntax=docker/dockerfile:1
#
# Watercooler: a static, CGO-free binary on distroless (ships CA certificates
# and tzdata; runs as the unprivileged "nonroot" user, uid/gid 65532).
#
#   docker build -t watercooler .
#   docker run -p 8080:8080 -e REDIS_URL=redis://host:6379/0 \
#     -e WATERCOOLER_URL=http://localhost:8080 watercooler

FROM golang:1.26-bookworm AS build
WORKDIR /src
ENV CGO_ENABLED=0

# Dependencies first, so this layer is reused until go.mod/go.sum change.
COPY go.mod go.sum ./
RUN go mod download && go mod verify

COPY . .
RUN go build -trimpath -ldflags="-s -w" -o /out/watercooler ./cmd/watercooler \
 && mkdir -p /out/media

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/watercooler /watercooler
# Create the media dir owned by nonroot: a fresh named volume mounted here
# copies this ownership, so the server can write uploads into it.
COPY --from=build --chown=65532:65532 /out/media /var/lib/watercooler/media
ENV WATERCOOLER_LISTEN=0.0.0.0:8080 \
    WATERCOOLER_MEDIA_DIR=/var/lib/watercooler/media
VOLUME ["/var/lib/watercooler/media"]
EXPOSE 8080
USER nonroot:nonroot
# The image has no shell, curl or wget: the binary checks its own /readyz (on the port of
# WATERCOOLER_LISTEN) and exits 1 unless it answers 200.
HEALTHCHECK --interval=10s --timeout=5s --start-period=20s --retries=3 \
  CMD ["/watercooler", "healthcheck"]
ENTRYPOINT ["/watercooler"]
CMD ["serve"]
