#!/usr/bin/env bash
# The main job on the embedded default: transform the example for the `local` provider and run
# the result with no infrar importable, against local buckets.
set -euo pipefail
bin=$(cd "${1:-.venv/bin}" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

echo "== infrar detect"
"$bin/infrar" detect examples/photo-app
echo "== infrar transform --provider local"
"$bin/infrar" transform examples/photo-app --provider local --out "$work/out"
mkdir -p "$work/local/photos"
echo "== run the transformed program (plain Python, no infrar)"
(cd "$work/out" && INFRAR_LOCAL_ROOT="$work/local" "$bin/python" app.py)
