# syntax=docker/dockerfile:1.7
# The Switchboard image: one static-ish binary (`switchboard`) on distroless, every target.
#   docker build -t switchboard .
#   docker run --rm switchboard defaults
# The chart runs it as uid 65532 with a read-only root filesystem and an emptyDir at /tmp.
# Dependencies are cached across builds by BuildKit cache mounts (cargo registry, git and target).

ARG RUST_VERSION=1.95

FROM rust:${RUST_VERSION}-bookworm AS build
WORKDIR /src
# The whole workspace: `-p switchboard` still needs every member's manifest. .dockerignore keeps
# target/, data/ and node_modules out of the context.
COPY . .
RUN --mount=type=cache,target=/usr/local/cargo/registry,sharing=locked \
    --mount=type=cache,target=/usr/local/cargo/git,sharing=locked \
    --mount=type=cache,target=/src/target,sharing=locked \
    cargo build --release --locked -p switchboard \
    && install -D -m 0755 target/release/switchboard /out/switchboard

# glibc + libgcc + CA certificates, no shell, user nonroot (65532).
FROM gcr.io/distroless/cc-debian12:nonroot AS runtime
LABEL org.opencontainers.image.title="switchboard" \
      org.opencontainers.image.description="Switchboard gRPC suite: gateway, channel, routing, presence, ticketing" \
      org.opencontainers.image.licenses="Apache-2.0"
COPY --from=build /out/switchboard /usr/local/bin/switchboard
USER 65532:65532
# SQLite (the embedded default) writes ./data here; clusters use PostgreSQL.
WORKDIR /home/nonroot
# gateway, channel, routing, presence, ticketing (gRPC); the webhook HTTP port; metrics.
EXPOSE 50051 50052 50053 50054 50055 50057 8080 9464
ENTRYPOINT ["/usr/local/bin/switchboard"]
CMD ["serve", "--target", "all"]
