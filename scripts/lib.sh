# Shared by scripts/run, scripts/test, scripts/bench and .ci/run. Each step is
# idempotent and quick when its tool is already there; a step that cannot install
# what it needs says exactly what is missing and stops.
# shellcheck shell=bash

set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

CARGO_LEPTOS_VERSION=0.3.10
SQLX_CLI_VERSION=0.8.6
# One warm build cache for every command, kept outside the clone so a fresh clone
# (and CI) reuses it.
export MAILMERGER_CACHE_DIR="${MAILMERGER_CACHE_DIR:-$HOME/.cache/mailmerger}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$MAILMERGER_CACHE_DIR/target}"
export PATH="$HOME/.cargo/bin:$PATH"

say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

is_debian() { command -v apt-get >/dev/null 2>&1 && [ -f /etc/debian_version ]; }

apt_updated=""
apt_install() {
  is_debian || return 1
  local sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  if [ -z "$apt_updated" ]; then
    $sudo apt-get update -qq >/dev/null
    apt_updated=1
  fi
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "$@" >/dev/null
}

need_cmd() { # need_cmd CMD "how to get it"
  command -v "$1" >/dev/null 2>&1 || die "$1 is missing. $2"
}

ensure_rust() {
  need_cmd cargo "Install Rust 1.95 with rustup: https://rustup.rs"
  need_cmd rustup "Install Rust with rustup (https://rustup.rs); the wasm target comes from it."
  if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
    say "Adding the wasm32-unknown-unknown target"
    rustup target add wasm32-unknown-unknown
  fi
}

ensure_cargo_leptos() {
  if [ "$(cargo leptos --version 2>/dev/null | awk '{print $2}')" != "$CARGO_LEPTOS_VERSION" ]; then
    say "Installing cargo-leptos $CARGO_LEPTOS_VERSION (once; about 25 minutes on 2 cores)"
    # no_downloads: use tools on PATH instead of fetching binaries from GitHub.
    cargo install cargo-leptos --version "$CARGO_LEPTOS_VERSION" --locked --features no_downloads --debug
  fi
}

ensure_wasm_bindgen() {
  local want
  want="$(awk '/^name = "wasm-bindgen"$/ {getline; gsub(/version = |"/, ""); print; exit}' Cargo.lock)"
  [ -n "$want" ] || die "Cargo.lock names no wasm-bindgen version"
  if [ "$(wasm-bindgen --version 2>/dev/null | awk '{print $2}')" != "$want" ]; then
    say "Installing wasm-bindgen-cli $want (must match Cargo.lock)"
    # Not --locked: its lockfile pins a yanked webpki-roots.
    cargo install wasm-bindgen-cli --version "$want"
  fi
}

# wasm-opt for release bundles: binaryen from npm, pinned. Debian's binaryen
# (108) turns wasm-bindgen's externref table into one the browser refuses
# ("WebAssembly.Table.set(): Argument 1 is invalid for table"): the release
# bundle then never hydrates (docs/operations.md, "The browser bundle").
BINARYEN_VERSION="132.0.0"
ensure_wasm_opt() {
  local dir="$MAILMERGER_CACHE_DIR/binaryen-$BINARYEN_VERSION"
  if [ ! -x "$dir/node_modules/.bin/wasm-opt" ]; then
    need_cmd npm "Install Node.js 18 or newer with npm (Debian: apt-get install nodejs npm): release builds take wasm-opt from npm's binaryen."
    say "Installing binaryen $BINARYEN_VERSION (wasm-opt) from npm"
    mkdir -p "$dir"
    (cd "$dir" && npm install --no-audit --no-fund --loglevel=error --no-save "binaryen@$BINARYEN_VERSION") \
      || die "could not install binaryen $BINARYEN_VERSION from npm (wasm-opt for release builds)"
  fi
  export PATH="$dir/node_modules/.bin:$PATH"
  wasm-opt --version | grep -q "version ${BINARYEN_VERSION%%.*}" || die "wasm-opt on PATH is $(wasm-opt --version), not binaryen $BINARYEN_VERSION"
}

ensure_sqlx_cli() {
  if [ "$(cargo sqlx --version 2>/dev/null | awk '{print $2}')" != "$SQLX_CLI_VERSION" ]; then
    say "Installing sqlx-cli $SQLX_CLI_VERSION"
    cargo install sqlx-cli --version "$SQLX_CLI_VERSION" --locked --no-default-features --features postgres,rustls
  fi
}

ensure_apt_tool() { # ensure_apt_tool COMMAND PACKAGE WHY
  command -v "$1" >/dev/null 2>&1 && return 0
  say "Installing $2 ($3)"
  apt_install "$2" || die "$1 is missing: install the '$2' package ($3)."
}

# --- services -------------------------------------------------------------------

tcp_open() { timeout 2 bash -c "exec 3<>/dev/tcp/$1/$2" 2>/dev/null; }

url_host() { python3 -c 'import sys,urllib.parse as u; p=u.urlsplit(sys.argv[1]); print(p.hostname or "127.0.0.1")' "$1"; }
url_port() { python3 -c 'import sys,urllib.parse as u; p=u.urlsplit(sys.argv[1]); print(p.port or sys.argv[2])' "$1" "$2"; }

is_local() { case "$1" in 127.*|localhost|::1) return 0;; *) return 1;; esac; }

ensure_postgres() { # ensure_postgres URL
  local host port
  host="$(url_host "$1")"; port="$(url_port "$1" 5432)"
  tcp_open "$host" "$port" && return 0
  is_local "$host" || die "PostgreSQL is not answering at $host:$port (DATABASE_URL). Start it, or point DATABASE_URL at a running server."
  if ! is_debian; then
    die "PostgreSQL is not running on $host:$port. Install PostgreSQL 13 or newer and start it (or run: docker run -p 5432:5432 -e POSTGRES_HOST_AUTH_METHOD=trust postgres:16)."
  fi
  if ! ls /etc/postgresql/*/main >/dev/null 2>&1; then
    say "PostgreSQL is not installed: installing Debian's postgresql"
    apt_install postgresql || die "could not install postgresql with apt-get"
    # A development machine: let local TCP connections in without a password,
    # as the default DATABASE_URL expects.
    local hba
    for hba in /etc/postgresql/*/main/pg_hba.conf; do
      sed -i '1i host all all 127.0.0.1/32 trust\nhost all all ::1/128 trust' "$hba"
    done
    say "PostgreSQL installed; local TCP connections are trusted (development only)"
  fi
  say "Starting PostgreSQL"
  local v
  v="$(ls /etc/postgresql | sort -V | tail -n1)"
  pg_ctlcluster --skip-systemctl-redirect "$v" main start 2>/dev/null || pg_ctlcluster "$v" main start || true
  for _ in $(seq 1 30); do tcp_open "$host" "$port" && return 0; sleep 1; done
  die "PostgreSQL did not start on $host:$port; see /var/log/postgresql/."
}

ensure_redis() { # ensure_redis URL
  local host port
  host="$(url_host "$1")"; port="$(url_port "$1" 6379)"
  tcp_open "$host" "$port" && return 0
  is_local "$host" || die "Redis is not answering at $host:$port (REDIS_URL). Start it, or point REDIS_URL at a running server."
  if ! command -v redis-server >/dev/null 2>&1; then
    is_debian || die "Redis is not running on $host:$port. Install Redis 6 or newer and start it (or run: docker run -p 6379:6379 redis:7)."
    say "Redis is not installed: installing Debian's redis-server"
    apt_install redis-server || die "could not install redis-server with apt-get"
  fi
  say "Starting Redis on $host:$port"
  mkdir -p /tmp/mailmerger-redis
  redis-server --daemonize yes --bind 127.0.0.1 --port "$port" --save "" --appendonly no \
    --dir /tmp/mailmerger-redis --logfile /tmp/mailmerger-redis/redis.log
  for _ in $(seq 1 20); do tcp_open "$host" "$port" && return 0; sleep 0.5; done
  die "Redis did not start on $host:$port; see /tmp/mailmerger-redis/redis.log."
}

# --- browser tests ----------------------------------------------------------------

ensure_node_packages() {
  need_cmd npm "Install Node.js 18 or newer with npm (Debian: apt-get install nodejs npm)."
  local stamp="end2end/node_modules/.lock-hash" hash
  hash="$(sha256sum end2end/package-lock.json | cut -d' ' -f1)"
  if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$hash" ]; then
    say "Installing the end-to-end test packages (npm ci)"
    (cd end2end && npm ci --no-audit --no-fund --loglevel=error)
    echo "$hash" > "$stamp"
  fi
}

ensure_chromium() {
  export CHROMIUM_PATH="${CHROMIUM_PATH:-/usr/bin/chromium}"
  [ -x "$CHROMIUM_PATH" ] && return 0
  say "Installing Debian's chromium for the browser tests"
  apt_install chromium || die "Chromium is missing at $CHROMIUM_PATH: install Debian's 'chromium' package, or set CHROMIUM_PATH to a Chromium binary."
}

load_dotenv() {
  if [ -f .env ]; then
    set -a
    # shellcheck disable=SC1091
    . ./.env
    set +a
  fi
}

# --- a local S3-compatible server for the storage tests ---------------------------

MOTO_VERSION=5.2.5
# Starts moto's S3 server on a free port and exports TEST_S3_ENDPOINT. It stops
# when the calling script exits (stop_s3_server in its EXIT trap).
start_s3_server() {
  need_cmd python3 "Install Python 3 (Debian: apt-get install python3 python3-venv); the storage tests run against moto, a local S3 server from PyPI."
  local venv="$MAILMERGER_CACHE_DIR/moto-venv"
  if [ "$("$venv/bin/python" -c 'import moto; print(moto.__version__)' 2>/dev/null)" != "$MOTO_VERSION" ]; then
    say "Installing moto[server] $MOTO_VERSION (a local S3-compatible server) from PyPI"
    python3 -m venv "$venv" || die "python3 cannot make a virtual environment: install python3-venv."
    "$venv/bin/pip" install -q "moto[server]==$MOTO_VERSION" || die "could not install moto[server] from PyPI."
  fi
  local port
  port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
  "$venv/bin/moto_server" -H 127.0.0.1 -p "$port" >"$MAILMERGER_CACHE_DIR/moto.log" 2>&1 &
  S3_SERVER_PID=$!
  export TEST_S3_ENDPOINT="http://127.0.0.1:$port"
  for _ in $(seq 1 100); do
    tcp_open 127.0.0.1 "$port" && return 0
    sleep 0.2
  done
  die "moto_server did not start on port $port (see $MAILMERGER_CACHE_DIR/moto.log)."
}

stop_s3_server() {
  [ -n "${S3_SERVER_PID:-}" ] && kill "$S3_SERVER_PID" 2>/dev/null || true
}
