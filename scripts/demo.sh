#!/usr/bin/env bash
# The main job on the embedded default, the `local` provider: detect, transform once, then for
# each environment plan, apply and plan again (no changes), and run the one transformed tree in
# each environment with no infrar importable.
set -euo pipefail
bin=$(cd "${1:-.venv/bin}" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp -r examples/photo-app "$work/project"
cd "$work/project"
export INFRAR_LOCAL_ROOT="$work/project/.infrar/local"

step() { printf '\n== %s\n' "$*"; }
step "infrar detect"
"$bin/infrar" detect
step "infrar transform --out build (one tree serves dev and prod)"
"$bin/infrar" transform --out build
step "what changed in photos/store.py: its import, nothing else"
diff -u photos/store.py build/local/photos/store.py || true
ls build/local/infrar_native
for environment in dev prod; do
  step "infrar plan -e $environment"
  "$bin/infrar" plan -e "$environment"
  step "infrar apply -e $environment"
  "$bin/infrar" apply -e "$environment"
  step "infrar plan -e $environment (again: nothing to do)"
  "$bin/infrar" plan -e "$environment"
done
mkdir -p "$work/blocker/infrar"
echo 'raise ImportError("infrar must not be needed at run time")' > "$work/blocker/infrar/__init__.py"
for environment in dev prod; do
  step "run the transformed program in $environment (plain Python; importing infrar would fail)"
  (cd build/local && INFRAR_ENVIRONMENT="$environment" PYTHONPATH="$work/blocker" \
    "$bin/python" -m photos.main)
done
step "each environment wrote its own folder"
find "$INFRAR_LOCAL_ROOT" -mindepth 1 -maxdepth 2 -type d -printf "%P\n" | sort
