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
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "app"))

import payloads  # noqa: E402  (tests/app: the GitHub fake and its payloads)
from fake_github import FakeGitHub  # noqa: E402
from scenario import APP_PY  # noqa: E402

from infrar.app.state import deliveries  # noqa: E402
from infrar.app.state.db import Database  # noqa: E402
from infrar.engine.terraform.offline import offline_environment  # noqa: E402

SECRET = "bench-parallel-secret"
ENCRYPTION_KEY = "a2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2s="  # base64 of 32 bytes
ROUND_LIMIT_S = 600.0


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


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_app(fake: FakeGitHub, base: Path, tf_env: dict[str, str], workers: int
              ) -> tuple[subprocess.Popen[bytes], str, Database]:
    data = base / f"data-{workers}"
    port = free_port()
    env = {**os.environ, **tf_env,
           "INFRAR_WEBHOOK_SECRET": SECRET, "INFRAR_GITHUB_APP_ID": str(fake.app_id),
           "INFRAR_GITHUB_PRIVATE_KEY": fake.private_pem, "INFRAR_GITHUB_API_URL": fake.api_url,
           "INFRAR_DATA_DIR": str(data), "INFRAR_ENCRYPTION_KEY": ENCRYPTION_KEY,
           "INFRAR_LOCAL_ROOT": str(base / "local"), "INFRAR_GITHUB_WRITE_INTERVAL": "0",
           "INFRAR_PLAN_WORKERS": str(workers)}
    log = (base / f"app-{workers}.log").open("ab")
    proc = subprocess.Popen(
        [sys.executable, "-c", "from infrar.cli.main import main; main()", "app", "serve",
         "--port", str(port), "--embedded-workers", "1"],
        env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if requests.get(f"{url}/healthz", timeout=2).ok:
                return proc, url, Database(f"sqlite:///{data / 'infrar.db'}")
        except requests.RequestException:
            pass
        if proc.poll() is not None:
            break
        time.sleep(0.1)
    raise SystemExit(f"the App did not start; see {base / f'app-{workers}.log'}")


def one_round(fake: FakeGitHub, url: str, db: Database, pushes: Pushes, repo: str,
              projects: int, index: int) -> tuple[float, float]:
    """(delivery to review, push to review) of a pull request touching every project."""
    files: dict[str, str | None] = {f"services/service{i}/src/app.py": APP_PY + f"# {index}\n"
                                    for i in range(projects)}
    pull = fake.open_pull(repo, f"feature-{index}", files)
    began = time.perf_counter()
    answer = fake.deliver(url, SECRET.encode(), "pull_request",
                          payloads.pull_request(fake, repo, pull, "opened"),
                          delivery=f"bench-{repo}-{index}")
    if answer.status_code != 202:
        raise SystemExit(f"delivery refused: {answer.status_code} {answer.text}")
    deadline = time.monotonic() + ROUND_LIMIT_S
    while not fake.bot_reviews(repo, pull.number):
        if time.monotonic() > deadline:
            raise SystemExit("no review within the time limit")
        time.sleep(0.005)
    ended = time.perf_counter()
    with pushes.lock:
        pushed = pushes.at
    body = fake.bot_reviews(repo, pull.number)[0]["body"]
    if body.count("Plan: 1 to add") != projects:
        raise SystemExit(f"the review does not hold {projects} plans:\n{body[:3000]}")
    close(fake, url, db, repo, pull.number)
    return ended - began, ended - pushed


def close(fake: FakeGitHub, url: str, db: Database, repo: str, number: int) -> None:
    """Close the pull request (releasing its locks) and wait until the App has."""
    pull = fake.repos[repo].pulls[number]
    pull.state = "closed"
    delivery = f"close-{repo}-{number}"
    fake.deliver(url, SECRET.encode(), "pull_request",
                 payloads.pull_request(fake, repo, pull, "closed"), delivery=delivery)
    deadline = time.monotonic() + ROUND_LIMIT_S
    while deliveries.status(db, delivery) != "done":
        if time.monotonic() > deadline:
            raise SystemExit(f"closing #{number} did not finish")
        time.sleep(0.05)


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
            apps[size] = (repo, *start_app(fake, base, tf_env, size))
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
