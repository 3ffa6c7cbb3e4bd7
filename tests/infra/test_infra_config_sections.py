""".infrar.yaml's services, policy and drift sections: parsed into typed settings, and every
mistake reported with its file, line and YAML path."""

from __future__ import annotations

from pathlib import Path

import pytest

from infrar.engine.config import ConfigError, PolicySkip, load_config

FULL = """\
version: 1
project: photos
drift:
  schedule: "0 6 * * 1-5"
policy:
  checkov: true
  custom: policies
  skip:
    - id: CKV_AWS_18
      reason: access logs are kept by the organisation's trail
environments:
  prod:
    provider: aws
    policy_owners: [alice, acme/security]
services:
  api:
    kind: http
    entry: photos.web:app
    interface: asgi
    port: 8000
    health: /healthz
    public: true
  resize:
    kind: worker
    command: [python, -m, photos.worker]
  nightly:
    kind: schedule
    entry: photos.jobs:prune
    schedule: "30 2 * * *"
    paths: [photos/jobs.py]
"""


def _load(tmp_path: Path, text: str):
    path = tmp_path / ".infrar.yaml"
    path.write_text(text)
    return path, load_config


def test_sections_are_parsed_into_settings(tmp_path) -> None:
    path, load = _load(tmp_path, FULL)
    config = load(path)
    assert config.drift.schedule == "0 6 * * 1-5"
    assert config.policy.custom == "policies" and config.policy.checkov is True
    assert config.policy.skips == (
        PolicySkip("CKV_AWS_18", "access logs are kept by the organisation's trail"),)
    assert config.environments["prod"].policy_owners == ("alice", "acme/security")
    api, resize, nightly = (config.services[n] for n in ("api", "resize", "nightly"))
    assert (api.kind, api.entry, api.interface, api.port, api.health, api.public) == (
        "http", "photos.web:app", "asgi", 8000, "/healthz", True)
    assert resize.command == ("python", "-m", "photos.worker") and resize.entry is None
    assert (nightly.schedule, nightly.paths) == ("30 2 * * *", ("photos/jobs.py",))


def test_defaults_keep_today_behaviour(tmp_path) -> None:
    path, load = _load(tmp_path, "version: 1\nservices:\n  web:\n    kind: http\n"
                                 "    entry: app:app\n")
    config = load(path)
    assert config.drift.schedule is None and config.policy.checkov and not config.policy.skips
    web = config.services["web"]
    assert (web.port, web.health, web.public, web.interface) == (8080, "/", False, "wsgi")


@pytest.mark.parametrize(("text", "expected"), [
    ("version: 1\ndrift:\n  schedule: every day\n",
     ":3: drift.schedule: 'every day' does not match"),
    ("version: 1\ndrift:\n  schedule: '61 * * * *'\n",
     ":3: drift.schedule: '61 * * * *' is not a cron expression"),
    ("version: 1\npolicy:\n  skip:\n    - id: CKV_AWS_18\n",
     ":4: policy.skip[0]: 'reason' is a required property"),
    ("version: 1\nenvironments:\n  prod:\n    policy_owners: ['bad login!']\n",
     ":4: environments.prod.policy_owners[0]: 'bad login!' does not match"),
    ("version: 1\nservices:\n  api:\n    kind: http\n",
     ":4: services.api: give exactly one of `entry` (module:attribute) and `command`"),
    ("version: 1\nservices:\n  api:\n    kind: http\n    entry: a:b\n    command: [x]\n",
     ":6: services.api.command: give exactly one of"),
    ("version: 1\nservices:\n  api:\n    kind: web\n    entry: a:b\n",
     ":4: services.api.kind: 'web' is not one of"),
    ("version: 1\nservices:\n  api:\n    kind: http\n    entry: 'a b'\n",
     ":5: services.api.entry: 'a b' does not match"),
    ("version: 1\nservices:\n  job:\n    kind: schedule\n    entry: a:b\n",
     ":4: services.job.kind: a `schedule` service needs `schedule`"),
    ("version: 1\nservices:\n  w:\n    kind: worker\n    entry: a:b\n    schedule: '* * * * *'\n",
     ":6: services.w.schedule: only `schedule` services have a schedule"),
    ("version: 1\nservices:\n  w:\n    kind: worker\n    entry: a:b\n    port: 80\n",
     ":6: services.w.port: only `http` services have `port`"),
    ("version: 1\nservices:\n  api:\n    kind: http\n    entry: a:b\n    port: 70000\n",
     ":6: services.api.port: 70000 is greater than the maximum"),
    ("version: 1\nservices:\n  Api:\n    kind: http\n    entry: a:b\n",
     ":3: services: 'Api' does not match"),
])
def test_mistakes_are_reported_with_line_and_path(tmp_path, text, expected) -> None:
    path, load = _load(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        load(path)
    assert any(p.startswith(str(path)) and expected in p for p in caught.value.problems), \
        caught.value.problems
