# Shared by scripts/dev and scripts/test: bring in Bun through npm when it is missing, install
# dependencies when the lock file changed, and start Postgres and RabbitMQ.
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
tools="${EVENTLINE_HOME:-$root/.eventline}/tools"
BUN_VERSION="1.4.5"

ensure_bun() {
  export PATH="$tools/node_modules/.bin:$PATH"
  if ! command -v bun >/dev/null 2>&1; then
    command -v npm >/dev/null 2>&1 || { echo "eventline: need either bun or npm on PATH" >&2; exit 1; }
    echo "eventline: installing bun $BUN_VERSION with npm into $tools" >&2
    mkdir -p "$tools"
    npm install --prefix "$tools" --no-save --no-audit --no-fund --loglevel=error "bun@$BUN_VERSION" >&2
  fi
  bun --version >/dev/null
}

ensure_deps() {
  local stamp="$root/node_modules/.eventline-installed"
  if [ ! -f "$stamp" ] || [ "$root/bun.lock" -nt "$stamp" ] || [ "$root/package.json" -nt "$stamp" ]; then
    (cd "$root" && bun install --frozen-lockfile >&2)
    touch "$stamp"
  fi
}

ensure_infra() {
  bash "$root/scripts/infra" up "$@"
  set -a
  # shellcheck disable=SC1091
  . "${EVENTLINE_HOME:-$root/.eventline}/infra.env"
  set +a
}
