"""Two environments on `local`, end to end: plan and apply each with the packaged Terraform, then
ONE transformed tree run in each, choosing its environment at run time, with the SDK blocked."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from infra_support import environment_without, native_names, write_blocker

CONFIG = """\
version: 1
project: photo-app
provider: local
paths: [src]
naming: "{project}-{environment}-{name}"
environments:
  staging:
    provider: local
  production:
    provider: local
    apply_on_merge: true
"""

MARKER_APP = '''\
"""Reads a marker left in its uploads bucket and leaves one of its own."""
import sys

from infrar.storage import list_objects, read, write


def main(who):
    print(read("uploads", "marker.txt").decode())
    write("uploads", "seen-by.txt", who)
    print(sorted(list_objects("uploads")))


if __name__ == "__main__":
    main(sys.argv[1])
'''

ENVIRONMENTS = ("staging", "production")
BUCKETS = ("archive", "reports", "uploads")


def test_one_build_serves_each_environment_it_was_planned_and_applied_for(
        project, run, terraform, tmp_path: Path) -> None:
    project.write(".infrar.yaml", CONFIG)
    project.write("src/marker_app.py", MARKER_APP)
    buckets = project.root / "buckets"  # INFRAR_LOCAL_ROOT, as the project fixture sets it
    for environment in ENVIRONMENTS:
        planned = run("plan", "-e", environment)
        assert planned.exit_code == 0, planned.output
        assert "Plan: 3 to add, 0 to change, 0 to destroy." in planned.output
        applied = run("apply", "-e", environment)
        assert applied.exit_code == 0, applied.output
        assert "3 added, 0 changed, 0 destroyed" in applied.output
    assert sorted(p.name for p in buckets.iterdir()) == sorted(
        f"photo-app-{e}-{b}" for e in ENVIRONMENTS for b in BUCKETS)
    assert not [p for p in buckets.rglob("*") if p.is_file()]  # folders only, so far

    transformed = run("transform", "--out", "build")
    assert transformed.exit_code == 0, transformed.output
    tree = project.root / "build" / "local"
    assert sorted(p.name for p in (project.root / "build").iterdir()) == ["local"]
    assert native_names(tree) == {e: {"bucket": {b: f"photo-app-{e}-{b}" for b in BUCKETS}}
                                  for e in ENVIRONMENTS}

    blocker = write_blocker(tmp_path / "blocker")
    base = {**environment_without("INFRAR_ENVIRONMENT", "INFRAR_PROVIDER", "PYTHONPATH"),
            "PYTHONPATH": str(blocker), "INFRAR_LOCAL_ROOT": str(buckets)}

    def program(script: str, *args: str, environment: str | None
                ) -> subprocess.CompletedProcess[str]:
        env = dict(base) if environment is None else {**base, "INFRAR_ENVIRONMENT": environment}
        return subprocess.run([sys.executable, str(tree / script), *args], cwd=tmp_path,
                              env=env, capture_output=True, text=True, check=False)

    for environment in ENVIRONMENTS:
        (buckets / f"photo-app-{environment}-uploads" / "marker.txt").write_text(
            f"the {environment} marker")
    for environment in ENVIRONMENTS:
        workdir = tmp_path / f"work-{environment}"
        workdir.mkdir()
        ran = program("app.py", str(workdir), environment=environment)
        assert ran.returncode == 0, ran.stderr
        uploads = buckets / f"photo-app-{environment}-uploads"
        assert ran.stdout.strip() == (uploads / "hello.txt").resolve().as_uri()
        assert (buckets / f"photo-app-{environment}-reports" / "2024%2Freport.csv").is_file()
        marked = program("marker_app.py", environment, environment=environment)
        assert marked.returncode == 0, marked.stderr
        assert marked.stdout.splitlines() == [
            f"the {environment} marker", "['hello.txt', 'marker.txt', 'seen-by.txt']"]
        assert (uploads / "seen-by.txt").read_text() == environment

    # Each run touched its own folders only: every environment holds exactly what it wrote.
    for environment in ENVIRONMENTS:
        held = sorted(p.name for p in (buckets / f"photo-app-{environment}-uploads").iterdir())
        assert held == ["hello.txt", "marker.txt", "seen-by.txt"]

    unknown = program("marker_app.py", "x", environment="qa")
    assert unknown.returncode != 0
    assert "UnknownEnvironmentError: INFRAR_ENVIRONMENT='qa'; this build serves production, " \
           "staging: set one of them" in unknown.stderr
    unset = program("marker_app.py", "x", environment=None)
    assert unset.returncode != 0
    assert "INFRAR_ENVIRONMENT is not set; this build serves production, staging" in unset.stderr
    for environment in ENVIRONMENTS:
        assert (buckets / f"photo-app-{environment}-uploads" / "seen-by.txt").read_text() == \
            environment
