# hopthu: a small image for `hopthu controller` and `hopthu run`.
#
#   docker build -t registry.sonla.gov.vn/ttcntt/hopthu:0.1.0 .
#   docker build --target ci -t registry.sonla.gov.vn/ttcntt/hopthu-ci:0.1.0 .
#
# Stage 1 builds the binary (libgit2 and libssh2 are built from their
# sources by the crates and link the system's OpenSSL: libssl-dev and
# pkg-config).
FROM rust:1.95-bookworm AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends libssl-dev pkg-config \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
COPY src ./src
COPY schema ./schema
COPY data ./data
COPY benches ./benches
RUN cargo build --release --locked --bin hopthu

# The CI image (`docker build --target ci -t .../hopthu-ci .`): the binary
# with git, curl and jq, for the pull-request pipelines of examples/ci/. It
# runs as the CI's own user and has no entrypoint, as CI jobs expect.
FROM debian:bookworm-slim AS ci
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates libssl3 git curl jq \
 && rm -rf /var/lib/apt/lists/*
COPY --from=build /src/target/release/hopthu /usr/local/bin/hopthu

# The last stage (the default target): the binary, CA certificates and OpenSSL's runtime, as a user
# that is not root. The root filesystem can be read-only: hopthu writes only
# to its state folder and /tmp.
FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates libssl3 \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 hopthu \
 && useradd --system --uid 10001 --gid 10001 --home-dir /var/lib/hopthu --shell /usr/sbin/nologin hopthu \
 && mkdir -p /var/lib/hopthu && chown hopthu /var/lib/hopthu
COPY --from=build /src/target/release/hopthu /usr/local/bin/hopthu
USER 10001:10001
WORKDIR /var/lib/hopthu
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/hopthu"]
CMD ["controller"]
