# A static musl build on Alpine (whose gcc already targets musl), copied into an empty image.
# Nothing here names an architecture: each stage runs natively on the platform being built
# (rust:1-alpine exists for amd64 and arm64; Rust's default target there is *-linux-musl, and
# `target/release/` is that target's output), so both come from one command (add --push to
# publish them under one tag; an amd64 builder runs the arm64 stage under QEMU binfmt, slowly):
#   docker buildx build --platform linux/amd64,linux/arm64 -t gpt-reverse-proxy .
FROM rust:1-alpine AS build
RUN apk add --no-cache musl-dev
WORKDIR /src
COPY . .
RUN cargo build --release --locked && cp target/release/gpt-reverse-proxy /gpt-reverse-proxy
# The working directory, writable by the unprivileged user: dumps (DUMP_HTTP_CONTENT) go to log/.
RUN mkdir -p /data/log && chown -R 65534:65534 /data

FROM scratch
COPY --from=build /gpt-reverse-proxy /gpt-reverse-proxy
COPY --from=build --chown=65534:65534 /data /data
WORKDIR /data
# Mount litellm_config.yaml into /data (read-only is fine) and pass the keys as environment
# variables (deploy/docker-compose.yml reads them from .env). Set LOCAL_AUTH_TOKEN: with a token
# the proxy listens on 0.0.0.0; without one it stays on the container's loopback (unreachable).
# A named volume on /data/log keeps dumps; it starts owned by the user below.
EXPOSE 12000
USER 65534:65534
ENTRYPOINT ["/gpt-reverse-proxy"]
