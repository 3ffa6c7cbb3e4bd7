#!/usr/bin/env bash
# The main job on the embedded default, the `local` provider: detect, transform once, then for
# each environment plan, apply and plan again (no changes), run the one transformed tree in
# each environment with no infrar importable, and serve the photo service over HTTP on
# localhost with `infrar run` (requests store photos and read them back), then stop it.
set -euo pipefail
bin=$(cd "${1:-.venv/bin}" && pwd)
work=$(mktemp -d)
run_pid=
stop_run() { if [ -n "$run_pid" ]; then kill -TERM "$run_pid" 2>/dev/null || true; wait "$run_pid" || true; fi; }
trap 'stop_run; rm -rf "$work"' EXIT
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

step "infrar run: the photo service (services: in .infrar.yaml) on http://127.0.0.1:8765, dev"
"$bin/infrar" run > "$work/run.log" 2>&1 &
run_pid=$!
for _ in $(seq 120); do
  grep -q "web: healthy" "$work/run.log" && break
  kill -0 "$run_pid" 2>/dev/null || { cat "$work/run.log"; exit 1; }
  sleep 0.5
done
grep -q "web: healthy" "$work/run.log" || { cat "$work/run.log"; echo "web never became healthy"; exit 1; }
http() {  # METHOD PATH [BODY]: one request to the service, and its answer
  "$bin/python" - "$@" <<'PY'
import sys
import urllib.error
import urllib.request

method, path, body = sys.argv[1], sys.argv[2], (sys.argv[3:] or [None])[0]
request = urllib.request.Request("http://127.0.0.1:8765" + path, method=method,
                                 data=body.encode() if body is not None else None)
direct = urllib.request.build_opener(urllib.request.ProxyHandler({}))
try:
    with direct.open(request, timeout=10) as answer:
        status, text = answer.status, answer.read()
except urllib.error.HTTPError as error:
    status, text = error.code, error.read()
print(f"{method} {path} -> {status} {text.decode(errors='replace').strip()}")
PY
}
http POST /photos/owl.jpg "a photo of an owl"
http GET /photos/owl.jpg
http GET /photos
http GET /photos/missing.jpg
step "Ctrl-C: infrar run stops its services (SIGINT), and what it printed"
kill -INT "$run_pid"
wait "$run_pid"
run_pid=
cat "$work/run.log"
