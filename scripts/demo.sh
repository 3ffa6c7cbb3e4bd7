#!/usr/bin/env bash
# The main job on the embedded default, the `local` provider: detect, transform, generate, plan,
# apply, plan again (no changes), then run the transformed program with no infrar importable.
set -euo pipefail
bin=$(cd "${1:-.venv/bin}" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp -r examples/photo-app "$work/project"
cd "$work/project"
export INFRAR_LOCAL_ROOT="$work/project/.infrar/local"

step() { printf '\n== %s\n' "$*"; }
step "infrar detect"
"$bin/infrar" detect .
step "infrar transform app.py -e dev --out build"
"$bin/infrar" transform app.py -e dev --out build
step "infrar plan -e dev"
"$bin/infrar" plan -e dev
step "infrar apply -e dev"
"$bin/infrar" apply -e dev
step "infrar plan -e dev (again: nothing to do)"
"$bin/infrar" plan -e dev
step "run the transformed program (plain Python; importing infrar would fail)"
mkdir -p "$work/blocker/infrar"
echo 'raise ImportError("infrar must not be needed at run time")' > "$work/blocker/infrar/__init__.py"
(cd build && PYTHONPATH="$work/blocker" "$bin/python" app.py)
