#!/usr/bin/env bash
# Installs what the browser e2e tests need on a Debian machine: Debian's Chromium and the npm test tools.
#
# Idempotent: Chromium is installed only when /usr/bin/chromium is missing, and `npm ci` runs
# only when node_modules is older than package.json/package-lock.json (or absent).
# Nothing here downloads a browser build: Playwright (pip) drives /usr/bin/chromium.
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

as_root() {
  if [ "$(id -u)" -eq 0 ]; then
    "$@"
  elif command -v sudo >/dev/null 2>&1; then
    sudo "$@"
  else
    echo "install-browser-deps: need root (or sudo) to run: $*" >&2
    exit 1
  fi
}

if [ ! -x /usr/bin/chromium ]; then
  echo "install-browser-deps: installing Debian's chromium"
  export DEBIAN_FRONTEND=noninteractive
  as_root apt-get update
  as_root apt-get install -y chromium
else
  echo "install-browser-deps: /usr/bin/chromium already installed"
fi

if ! command -v npm >/dev/null 2>&1; then
  echo "install-browser-deps: npm is not installed (Node.js 20 is expected on this machine)" >&2
  exit 1
fi

cd "$repo_root"
stamp="node_modules/.package-lock.json"  # npm writes this on every install
if [ -f "$stamp" ] && [ "$stamp" -nt package.json ] && [ "$stamp" -nt package-lock.json ]; then
  echo "install-browser-deps: node_modules is up to date"
else
  echo "install-browser-deps: npm ci"
  # Guards in case a browser-bundling package is ever added to package.json.
  PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 PUPPETEER_SKIP_DOWNLOAD=1 \
    npm ci --no-audit --no-fund
fi
