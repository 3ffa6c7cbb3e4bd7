#!/usr/bin/env bash
# Installs the npm-based emulators (Azurite) and fixtures (GitHub's API description, the prebuilt
# Terraform provider packages whose schemas tests/infra checks against) into tests/node_modules;
# a no-op when up to date.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
stamp="$here/node_modules/.infrar-installed"

command -v npm >/dev/null || { echo "install-emulators: npm not found (need Node.js 20+)" >&2; exit 1; }

manifest() { cat "$here/package.json" "$here/package-lock.json" "$here/.npmrc" 2>/dev/null || true; }

if [[ -x "$here/node_modules/.bin/azurite-blob" && -f "$stamp" ]] && manifest | cmp -s - "$stamp"; then
  echo "install-emulators: already up to date"
  exit 0
fi

if [[ -f "$here/package-lock.json" ]]; then
  npm ci --prefix "$here" --no-audit --no-fund
else
  npm install --prefix "$here" --no-audit --no-fund
fi
# Written after install: npm install may have just created the lockfile.
manifest >"$stamp"
