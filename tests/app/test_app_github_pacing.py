"""Pacing of writes to GitHub: a pull request's few writes go at once, a stream of them is held
to one a second (never more than GitHub's 80 a minute), concurrent writers queue for distinct
slots, and every client of one account shares one budget. A clock of the test's own stands in
for time, so nothing here depends on how busy the machine is."""

from __future__ import annotations

import threading

import pytest
from fake_github import FakeGitHub
from scenario import BASE_FILES, REPO

from infrar.app.github import pacing
from infrar.app.github.auth import InstallationTokens
from infrar.app.github.client import GitHubClient


class Clock:
    """Time that moves only when somebody sleeps."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.slept: list[float] = []
        self._lock = threading.Lock()

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.slept.append(seconds)


def test_a_burst_goes_at_once_then_writes_are_spaced_by_the_interval() -> None:
    clock = Clock()
    pacer = pacing.WritePacer(1.0, burst=5, clock=clock, sleep=clock.sleep)
    waits = [pacer.wait() for _ in range(8)]
    assert waits[:5] == [0.0] * 5
    assert waits[5:] == pytest.approx([1.0, 2.0, 3.0])
    clock.now += 10  # a quiet spell refills the bucket, but never past the burst
    assert [pacer.wait() for _ in range(6)][:5] == [0.0] * 5


def test_no_minute_holds_more_writes_than_github_allows() -> None:
    clock = Clock()
    pacer = pacing.WritePacer(1.0, clock=clock, sleep=clock.sleep)
    sent = []
    for _ in range(300):
        clock.now += pacer.wait()
        sent.append(clock.now)
    busiest = max(sum(1 for t in sent if start <= t < start + 60) for start in sent)
    assert busiest <= pacing.BURST + 60 < 80


def test_concurrent_writers_each_wait_for_a_slot_of_their_own() -> None:
    clock = Clock()
    pacer = pacing.WritePacer(0.5, burst=1, clock=clock, sleep=clock.sleep)
    threads = [threading.Thread(target=pacer.wait) for _ in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(clock.slept) == pytest.approx([0.5, 1.0, 1.5, 2.0])


def test_an_interval_of_zero_never_waits() -> None:
    clock = Clock()
    pacer = pacing.WritePacer(0, clock=clock, sleep=clock.sleep)
    assert [pacer.wait() for _ in range(50)] == [0.0] * 50 and clock.slept == []


def test_clients_of_one_account_share_its_budget_and_reads_are_not_paced(
        fake: FakeGitHub, monkeypatch: pytest.MonkeyPatch) -> None:
    fake.create_repo(REPO, BASE_FILES)
    fake.create_repo("acme/other", BASE_FILES)
    pull = fake.open_pull(REPO, "feature", {"src/x.py": "x = 1\n"})
    elsewhere = fake.open_pull("acme/other", "feature", {"src/x.py": "x = 1\n"})
    clock = Clock()
    shared = pacing.WritePacer(1.0, burst=3, clock=clock, sleep=clock.sleep)
    monkeypatch.setattr(pacing, "_buckets", {(fake.api_url.rstrip("/"), "acme"): shared})
    tokens = InstallationTokens(app_id=str(fake.app_id), private_key=fake.private_pem,
                                api_url=fake.api_url)

    def client(repo: str) -> GitHubClient:
        return GitHubClient(repo=repo, token=lambda: tokens.token(fake.installation_id),
                            app_login=tokens.bot_login, api_url=fake.api_url, write_interval=1.0)

    first, second = client(REPO), client("acme/other")
    for _ in range(4):
        first.comments(pull.number)  # reads take nothing from the budget
    first.create_comment(pull.number, "one")
    second.create_comment(elsewhere.number, "two")
    first.create_comment(pull.number, "three")
    assert clock.slept == []
    second.create_comment(elsewhere.number, "four")
    assert clock.slept == pytest.approx([1.0])
    assert len(fake.repos[REPO].comments[pull.number]) == 2
