"""Parallel plans: a pull request touching every project of a four-project repository, from its
signed `pull_request.opened` delivery to the review posted, with the App's plan pool at 1
(`INFRAR_PLAN_WORKERS=1`: one plan after another, the baseline) and at N, in the same run.

Everything is on loopback, through the code path the App always takes: the GitHub fake of
tests/app (REST, and git over smart HTTP, in this process), `infrar app serve` as a child
process (one per pool size), real git, real Terraform (the `local` provider, offline).
Rounds alternate between the two Apps, so load from elsewhere on the machine hits both alike.
Each round also times the plan phase alone: from the App's push of the bot branch to its review.

    python bench/parallel_plans.py [--projects 4] [--workers 4] [--rounds 3] [--warmup 1]

Prints the median wall times of both pool sizes and their ratio (pool 1 / pool N).
"""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import statistics
import tempfile
import threading
import time
from pathlib import Path

import app_harness as harness  # bench/: the App started against the GitHub fake
from fake_github import FakeGitHub
from scenario import APP_PY

from infrar.app.state.db import Database
from infrar.engine.terraform.offline import offline_environment


def project_config(name: str) -> str:
    # checkov off: the plans, not the policy checks, are what the pool runs side by side.
    return (f"version: 1\nproject: {name}\nprovider: local\npaths: [src]\n"
            "policy:\n  checkov: false\n"
            "environments:\n  production:\n    provider: local\n")


def repository(projects: int) -> dict[str, str]:
    files = {"README.md": "# platform\n"}
    for index in range(projects):
        name = f"service{index}"
        files[f"services/{name}/.infrar.yaml"] = project_config(name)
        files[f"services/{name}/src/helpers.py"] = "def greet():\n    return 'hi'\n"
    return files


class Pushes:
    """When the App last pushed (git-receive-pack) to the fake."""

    def __init__(self, fake: FakeGitHub) -> None:
        from flask import Response, request

        self.at: float = 0.0
        self.lock = threading.Lock()

        def record(response: Response) -> Response:
            if request.path.endswith("/git-receive-pack") and request.method == "POST":
                with self.lock:
                    self.at = time.perf_counter()
            return response

        fake.app.after_request_funcs.setdefault(None, []).insert(0, record)


def one_round(fake: FakeGitHub, url: str, db: Database, pushes: Pushes, repo: str,
              projects: int, index: int) -> tuple[float, float]:
    """(delivery to review, push to review) of a pull request touching every project."""
    files: dict[str, str | None] = {f"services/service{i}/src/app.py": APP_PY + f"# {index}\n"
                                    for i in range(projects)}
    pull = fake.open_pull(repo, f"feature-{index}", files)
    payload = harness.opened(fake, repo, pull)
    began = time.perf_counter()
    harness.deliver(fake, url, payload, f"bench-{repo}-{index}")
    body = harness.wait_for_review(fake, repo, pull.number, poll_s=0.005)
    ended = time.perf_counter()
    with pushes.lock:
        pushed = pushes.at
    if body.count("Plan: 1 to add") != projects:
        raise SystemExit(f"the review does not hold {projects} plans:\n{body[:3000]}")
    harness.close(fake, url, db, repo, pull.number)
    return ended - began, ended - pushed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--projects", type=int, default=4)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--warmup", type=int, default=1, help="uncounted rounds first")
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # the fake's access log
    base = Path(tempfile.mkdtemp(prefix="infrar-parallel-"))
    (base / "local").mkdir()
    tf_env = offline_environment(base / "tf")
    fake = FakeGitHub(base / "github")
    pushes = Pushes(fake)
    fake.start()
    sizes = (1, args.workers)
    apps = {}
    results: dict[int, list[tuple[float, float]]] = {size: [] for size in sizes}
    try:
        for size in sizes:
            repo = f"acme/platform-{size}"
            fake.create_repo(repo, repository(args.projects))
            apps[size] = (repo, *harness.start_app(
                fake, data=base / f"data-{size}", log=base / f"app-{size}.log",
                embedded_workers=1,
                env={**tf_env, "INFRAR_LOCAL_ROOT": str(base / "local"),
                     "INFRAR_GITHUB_WRITE_INTERVAL": "0", "INFRAR_PLAN_WORKERS": str(size)}))
        for index in range(args.warmup + args.rounds):  # warm-up rounds are not counted
            for size in sizes:
                repo, _proc, url, db = apps[size]
                timed = one_round(fake, url, db, pushes, repo, args.projects, index)
                if index >= args.warmup:
                    results[size].append(timed)
    finally:
        for _repo, proc, _url, _db in apps.values():
            proc.terminate()
            proc.wait(30)
        fake.stop()
        if not args.keep:
            shutil.rmtree(base, ignore_errors=True)
    report(results, args.projects, sizes, os.cpu_count() or 1)
    return 0


def report(results: dict[int, list[tuple[float, float]]], projects: int,
           sizes: tuple[int, int], cpus: int) -> None:
    load = ", ".join(f"{v:.1f}" for v in os.getloadavg())
    print(f"{projects} projects touched by one pull request, one environment each, "
          f"{len(results[sizes[0]])} rounds, {cpus} CPU(s), load average {load}")
    medians = {}
    for size in sizes:
        total = statistics.median(t for t, _ in results[size])
        plans = statistics.median(p for _, p in results[size])
        medians[size] = (total, plans)
        print(f"  pool {size}: delivery -> review {total:6.2f} s (median), "
              f"push -> review (plans) {plans:6.2f} s")
    one, many = medians[sizes[0]], medians[sizes[1]]
    print(f"ratio pool 1 / pool {sizes[1]}: delivery -> review {one[0] / many[0]:.2f}x, "
          f"plans alone {one[1] / many[1]:.2f}x")


if __name__ == "__main__":
    raise SystemExit(main())
