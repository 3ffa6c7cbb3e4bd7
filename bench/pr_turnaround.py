"""Pull request turnaround: a signed `pull_request.opened` delivery to the review posted, on the
embedded default (`infrar app serve`: waitress, embedded workers, state and queue in one
SQLite file), against a floor measured in the same run: a bare `git clone` of the bot branch
the App pushed, then `terraform init` and `terraform plan` of the very Terraform it committed.

Everything is on loopback: the GitHub fake of tests/app (REST, and git over smart HTTP, in this
process), the App as a child process, real git, real Terraform (the `local` provider, offline,
Terraform 1.0.3 from the `local` extra). Rounds alternate: a new pull request for the App,
then the floor on what the App pushed for it, so load from elsewhere on the machine hits both
alike. The App's part is cut into phases by the time of each call it makes to the fake.

    python bench/pr_turnaround.py [--rounds 5] [--warmup 1] [--idle 5] [--without-checkov]
        [--write-interval SECONDS] [--keep]

The App plans the same project twice per round: with `policy.checkov: false` (what the floor
compares: Terraform and nothing else) and as configured by default (checkov's built-in checks
run on the plan before the review). --idle is how long the App sits idle before each delivery
(queue workers poll less often while idle, as between real pull requests); --write-interval
sets INFRAR_GITHUB_WRITE_INTERVAL (default: the App's own, 1 s); --keep keeps the scratch
folder. Prints the medians, their ratios to the floor (and the lowest and highest ratio of a
round to its own floor), the first warm-up round apart (the App's first job imports the
workflow, and its caches, `terraform init`'s included, start empty), and the App's calls to
GitHub in the median round with the time since the previous call.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import app_harness as harness  # bench/: the App started against the GitHub fake
from fake_github import FakeGitHub
from scenario import APP_PY, BASE_FILES, CONFIG

from infrar.app.workflow.gitops import auth_environment
from infrar.engine.terraform.offline import offline_environment

TERRAFORM_DIR = ".infrar/terraform/production"
# The same project twice: as configured by default (checkov's built-in policy checks run on
# every plan with changes), and with `policy.checkov: false`, which is what the floor compares.
REPOS = {"acme/photos": CONFIG + "policy:\n  checkov: false\n",
         "acme/photos-policy": CONFIG}


@dataclass
class Timeline:
    """(seconds since the delivery was sent, what) for each call the App made to the fake."""

    start: float = 0.0
    events: list[tuple[float, str]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, what: str) -> None:
        with self.lock:
            if self.start:
                self.events.append((time.perf_counter() - self.start, what))


@dataclass
class Round:
    app_s: dict[str, float]
    floor_parts: dict[str, float]
    steps: dict[str, list[tuple[float, str]]]

    @property
    def floor_s(self) -> float:
        return sum(self.floor_parts.values())


def watch(fake: FakeGitHub, timeline: Timeline) -> None:
    """Time every call the App makes (REST and git) as the fake answers it."""
    from flask import Response, request

    def record(response: Response) -> Response:
        path = request.path.removeprefix("/api/v3")
        if ".git/" in path:
            path = "git " + path.split(".git/", 1)[1] + (
                f" ({request.args['service']})" if "service" in request.args else "")
        timeline.add(f"{request.method} {path} -> {response.status_code}")
        return response

    fake.app.after_request_funcs.setdefault(None, []).insert(0, record)


def app_round(fake: FakeGitHub, url: str, timeline: Timeline, repo: str, index: int
              ) -> tuple[float, int]:
    """Open a pull request, send its signed `opened` delivery, wait for the review."""
    pull = fake.open_pull(repo, f"feature-{index}", {"src/app.py": APP_PY})
    payload = harness.opened(fake, repo, pull)
    with timeline.lock:
        timeline.events.clear()
        timeline.start = time.perf_counter()
    harness.deliver(fake, url, payload, f"bench-{repo}-{index}")
    body = harness.wait_for_review(fake, repo, pull.number, poll_s=0.002)
    with timeline.lock:
        posted = next(t for t, what in timeline.events
                      if what.startswith(f"POST /repos/{repo}/pulls/{pull.number}/reviews"))
        timeline.start = 0.0
    if "Plan: 1 to add" not in body:
        raise SystemExit(f"the review holds no plan:\n{body[:2000]}")
    return posted, pull.number


def floor_round(fake: FakeGitHub, repo: str, number: int, work: Path,
                tf_env: dict[str, str]) -> dict[str, float]:
    """`git clone` of the bot branch, `terraform init`, `terraform plan` of what it holds."""
    token = "ghs_bench" + "0" * 30
    fake.tokens[token] = time.time() + 3600
    env = {**os.environ, **auth_environment(token), **tf_env}
    clone = work / f"clone-{repo.replace('/', '-')}-{number}"
    terraform = tf_env["INFRAR_TF_BINARY"]
    parts: dict[str, float] = {}
    steps = [
        ("git clone", ["git", "clone", "-q", "--depth", "1", "--branch", f"infrar/pr-{number}",
                       fake.clone_url(repo), str(clone)], work),
        ("terraform init", [terraform, "init", "-input=false", "-no-color"],
         clone / TERRAFORM_DIR),
        ("terraform plan", [terraform, "plan", "-input=false", "-no-color", "-out=tfplan"],
         clone / TERRAFORM_DIR),
    ]
    for name, args, cwd in steps:
        began = time.perf_counter()
        subprocess.run(args, cwd=cwd, env=env, check=True, capture_output=True)
        parts[name] = time.perf_counter() - began
    return parts


def gaps(steps: list[tuple[float, str]]) -> list[tuple[float, str]]:
    """Time from the previous call (or the delivery) to each call."""
    previous, found = 0.0, []
    for at, what in steps:
        found.append((at - previous, what))
        previous = at
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5, choices=range(1, 1000),
                        metavar="N")
    parser.add_argument("--write-interval", default=None)
    parser.add_argument("--idle", type=float, default=5.0,
                        help="seconds the App sits idle before each delivery, as between "
                             "pull requests (its queue workers poll less often when idle)")
    parser.add_argument("--warmup", type=int, default=1,
                        help="rounds run first and not counted (the first job imports the "
                             "workflow and fills the caches)")
    parser.add_argument("--without-checkov", action="store_true",
                        help="only the project with policy.checkov: false")
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()
    repos = dict(list(REPOS.items())[:1]) if args.without_checkov else REPOS

    base = Path(tempfile.mkdtemp(prefix="infrar-turnaround-"))
    (base / "local").mkdir()
    tf_env = offline_environment(base / "tf")
    fake = FakeGitHub(base / "github")
    timeline = Timeline()
    watch(fake, timeline)
    fake.start()
    for repo, config in repos.items():
        fake.create_repo(repo, BASE_FILES | {".infrar.yaml": config})
    env = {**tf_env, "INFRAR_LOCAL_ROOT": str(base / "local")}
    if args.write_interval is not None:
        env["INFRAR_GITHUB_WRITE_INTERVAL"] = args.write_interval
    proc, url, db = harness.start_app(fake, data=base / "data", log=base / "app.log",
                                      embedded_workers=2, env=env)
    rounds: list[Round] = []
    lean = next(iter(REPOS))
    try:
        for index in range(args.warmup + args.rounds):
            app_s, steps, floor = {}, {}, {}
            for repo in repos:
                time.sleep(args.idle)
                app_s[repo], number = app_round(fake, url, timeline, repo, index)
                steps[repo] = list(timeline.events)
                if repo == lean:
                    floor = floor_round(fake, repo, number, base, tf_env)
                harness.close(fake, url, db, repo, number)
            if index >= args.warmup:
                rounds.append(Round(app_s, floor, steps))
            elif index == 0:
                first = Round(app_s, floor, steps)
    finally:
        proc.terminate()
        proc.wait(30)
        fake.stop()
        if not args.keep:
            shutil.rmtree(base, ignore_errors=True)
    report(rounds, args, lean, first if args.warmup else None)
    return 0


def report(rounds: list[Round], args: argparse.Namespace, lean: str,
           first: Round | None) -> None:
    floor = statistics.median(r.floor_s for r in rounds)
    interval = args.write_interval if args.write_interval is not None else "the default, 1"
    print(f"pull request turnaround, embedded default, GitHub write interval {interval} s, "
          f"{args.idle:g} s idle before each delivery; median of {len(rounds)} rounds (after "
          f"{args.warmup} warm-up)")
    print(f"{'':52}{'median s':>10}{'ratio':>8}{'rounds':>14}")
    names = {lean: "opened -> review, policy.checkov: false",
             **{r: "opened -> review, checkov on (default)" for r in rounds[0].app_s
                if r != lean}}
    for repo, name in names.items():
        app = statistics.median(r.app_s[repo] for r in rounds)
        each = sorted(r.app_s[repo] / r.floor_s for r in rounds)
        print(f"{name:52}{app:10.3f}{app / floor:8.2f}{each[0]:8.2f}-{each[-1]:.2f}")
    if first is not None:
        for repo, name in names.items():
            label = "  first round: " + name.split(", ", 1)[1]
            print(f"{label:52}{first.app_s[repo]:10.3f}"
                  f"{first.app_s[repo] / first.floor_s:8.2f}")
    print(f"{'floor: clone + terraform init + plan':52}{floor:10.3f}{1:8.2f}")
    for part in rounds[0].floor_parts:
        print(f"{'  ' + part:52}"
              f"{statistics.median(r.floor_parts[part] for r in rounds):10.3f}")
    for repo in names:
        middle = sorted(rounds, key=lambda r: r.app_s[repo])[len(rounds) // 2]
        print(f"{repo}: the App's calls in the median round (seconds since the previous one):")
        for gap, what in gaps(middle.steps[repo]):
            print(f"  +{gap:7.3f}  {what}")


if __name__ == "__main__":
    sys.exit(main())
