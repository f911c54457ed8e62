#!/usr/bin/env bash
# deps.sh - install what sluice needs to build, run and test on Debian.
# Idempotent: packages already present are skipped, and apt-get runs only
# when something is missing. npm packages come from package-lock.json.
set -euo pipefail
cd "$(dirname "$0")/.."

PKGS=(
    build-essential pkg-config clang libclang-rt-14-dev
    libpq-dev postgresql postgresql-contrib
    libfcgi-dev libjansson-dev libsodium-dev libcurl4-openssl-dev libmariadb-dev libcsv-dev
    check nginx-light curl ca-certificates procps psmisc iproute2 tzdata
    mariadb-server clickhouse-server clickhouse-client
    chromium nodejs npm
)

missing=()
for p in "${PKGS[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q '^install ok installed$' \
        || missing+=("$p")
done

# nodejs/npm may come from elsewhere than Debian: a working node and npm count.
if command -v node >/dev/null && command -v npm >/dev/null; then
    filtered=()
    for p in "${missing[@]}"; do
        case "$p" in nodejs|npm) ;; *) filtered+=("$p") ;; esac
    done
    missing=("${filtered[@]+"${filtered[@]}"}")
fi

if [ "${#missing[@]}" -gt 0 ]; then
    echo "deps: installing ${missing[*]}"
    SUDO=""
    [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    export DEBIAN_FRONTEND=noninteractive
    $SUDO apt-get update -qq
    $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    # The distribution's services are not ours: sluice starts its own.
    for svc in nginx mariadb postgresql clickhouse-server; do
        $SUDO systemctl disable --now "$svc" >/dev/null 2>&1 || true
        $SUDO service "$svc" stop >/dev/null 2>&1 || true
    done
else
    echo "deps: system packages present"
fi

if [ -f package.json ]; then
    if [ ! -d node_modules ] || [ package-lock.json -nt node_modules ]; then
        echo "deps: npm ci"
        npm ci --no-audit --no-fund --loglevel=error
        touch node_modules
    fi
fi
