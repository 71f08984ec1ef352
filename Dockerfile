# syntax=docker/dockerfile:1
# MailMerger in one image: the server binary and its site (docs/deploy.md).
#
#   docker build -t mailmerger .
#   docker run -p 3000:3000 --env-file .env -v mailmerger-data:/data mailmerger
#
# Three stages: the build tools (cargo-leptos, wasm-bindgen, wasm-opt), the release
# build, and a slim runtime holding only the binary and target/site. Cargo's registry
# and target directory are cache mounts, so a rebuild after a code change compiles
# only what changed.

ARG RUST_IMAGE=rust:1.95-bookworm
ARG RUNTIME_IMAGE=debian:bookworm-slim

# --- build tools ---------------------------------------------------------------------
FROM ${RUST_IMAGE} AS tools
# wasm-opt for the release bundle: binaryen 132 from npm (scripts/lib.sh,
# ensure_wasm_opt, says why not Debian's 108: its output never hydrates).
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends nodejs npm \
 && rm -rf /var/lib/apt/lists/* \
 && npm install -g --no-audit --no-fund binaryen@132.0.0 \
 && wasm-opt --version
RUN rustup target add wasm32-unknown-unknown
# cargo-leptos 0.3.10: 0.3.11 needs rustc 1.96. no_downloads: use the tools on PATH
# instead of fetching binaries from GitHub. A debug build of the tool itself compiles
# in a third of the time and builds the app just the same.
RUN --mount=type=cache,id=mailmerger-cargo-registry,target=/usr/local/cargo/registry \
    cargo install cargo-leptos --version 0.3.10 --locked --features no_downloads --debug
# wasm-bindgen-cli must be exactly the wasm-bindgen version in Cargo.lock. Not
# --locked: its own lockfile pins a yanked webpki-roots.
COPY Cargo.lock /tmp/Cargo.lock
RUN --mount=type=cache,id=mailmerger-cargo-registry,target=/usr/local/cargo/registry \
    version="$(awk '/^name = "wasm-bindgen"$/ {getline; gsub(/version = |"/, ""); print; exit}' /tmp/Cargo.lock)" \
 && test -n "$version" \
 && cargo install wasm-bindgen-cli --version "$version"

# --- release build -------------------------------------------------------------------
FROM tools AS build
WORKDIR /src
COPY . .
# The target directory is a cache mount, so the results are copied out of it.
RUN --mount=type=cache,id=mailmerger-cargo-registry,target=/usr/local/cargo/registry \
    --mount=type=cache,id=mailmerger-target,target=/src/target \
    cargo leptos build --release --precompress --bin-features ssr \
 && mkdir -p /out \
 && cp target/release/mailmerger /out/mailmerger \
 && cp -r target/site /out/site

# --- runtime -------------------------------------------------------------------------
FROM ${RUNTIME_IMAGE}
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin \
 && useradd --system --uid 10001 --user-group --home-dir /data --no-create-home mailmerger \
 && mkdir -p /data \
 && chown mailmerger:mailmerger /data
COPY --from=build /out/mailmerger /usr/local/bin/mailmerger
COPY --from=build /out/site /app/site
# Listen on every address: the default 127.0.0.1 is not reachable through -p 3000:3000.
# Every other setting comes from the environment (README: Configuration).
ENV LEPTOS_SITE_ADDR=0.0.0.0:3000 \
    LEPTOS_SITE_ROOT=/app/site \
    LEPTOS_SITE_PKG_DIR=pkg \
    LEPTOS_OUTPUT_NAME=mailmerger \
    DATA_DIR=/data \
    RUST_LOG=info,sqlx=warn,fred=warn,tower_sessions=warn
WORKDIR /app
USER mailmerger
VOLUME ["/data"]
EXPOSE 3000
# `mailmerger healthcheck` asks this instance's /healthz: no curl in a slim image.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["mailmerger", "healthcheck"]
# On SIGTERM the server stops claiming mail, hands back what it has not started and
# exits within SHUTDOWN_GRACE_SECS (8 s, inside docker stop's 10 s).
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/local/bin/mailmerger"]
