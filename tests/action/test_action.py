"""action.yml run step by step as the runner runs it, against the App's GitHub fake."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from action_job import Job
from harness import parse_file_command
from repo_snapshot import ROOT

ACTION = ROOT / "action.yml"
BIN = Path(sys.executable).parent
BAD = 'from infrar import storage\n\nop = getattr(storage, "upload")\n'


def test_action_yml_passes_check_jsonschema() -> None:
    done = subprocess.run([str(BIN / "check-jsonschema"), "--builtin-schema",
                           "vendor.github-actions", str(ACTION)], check=False,
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


def test_action_yml_passes_zizmor() -> None:
    done = subprocess.run([str(BIN / "zizmor"), "--offline", "--persona=pedantic", str(ACTION)],
                          check=False, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "No findings" in done.stdout


def test_documented_workflows_pass_check_jsonschema_and_zizmor(tmp_path: Path) -> None:
    text = (ROOT / "docs" / "github-action.md").read_text()
    folder = tmp_path / ".github" / "workflows"
    folder.mkdir(parents=True)
    blocks = [b for b in re.findall(r"```yaml\n(.*?)```", text, re.DOTALL) if "\njobs:" in b]
    assert len(blocks) == 4
    for i, block in enumerate(blocks):
        (folder / f"example-{i}.yml").write_text(block)
    files = sorted(map(str, folder.iterdir()))
    schema = subprocess.run([str(BIN / "check-jsonschema"), "--builtin-schema",
                             "vendor.github-workflows", *files], check=False,
                            capture_output=True, text=True)
    assert schema.returncode == 0, schema.stdout + schema.stderr
    # The examples name `infrar/infrar` by tag only because no release SHA exists to name.
    config = tmp_path / "zizmor.yml"
    config.write_text('rules:\n  unpinned-uses:\n    config:\n      policies:\n'
                      '        "infrar/*": ref-pin\n        "*": hash-pin\n')
    audit = subprocess.run([str(BIN / "zizmor"), "--offline", "--config", str(config),
                            str(folder)], check=False, capture_output=True, text=True)
    assert audit.returncode == 0, audit.stdout + audit.stderr
    assert "No findings" in audit.stdout


def test_inputs_reach_scripts_only_through_env() -> None:
    action = yaml.safe_load(ACTION.read_text())
    declared = set(action["inputs"])
    passed = set()
    for step in action["runs"]["steps"]:
        assert "${{" not in step["run"]
        for value in (step.get("env") or {}).values():
            passed.update(n for n in declared if f"inputs.{n} " in f"{value} ")
    assert passed == declared


def test_the_action_installs_the_github_extra_whose_modules_need_no_app_server() -> None:
    action = yaml.safe_load(ACTION.read_text())
    install = action["runs"]["steps"][0]["run"]
    assert '"$GITHUB_ACTION_PATH[github]"' in install
    # What the Action imports to talk to GitHub, in a fresh interpreter: none of the App's
    # server (web framework, database, queue) comes with it.
    probe = ("import sys, infrar.app.github.client, infrar.app.github.publish\n"
             "print(' '.join(sorted({m.split('.')[0] for m in sys.modules})))")
    done = subprocess.run([sys.executable, "-c", probe], check=True, capture_output=True,
                          text=True)
    loaded = set(done.stdout.split())
    assert "github" in loaded and "requests" in loaded
    assert not loaded & {"flask", "werkzeug", "sqlalchemy", "huey", "psycopg", "redis",
                         "waitress", "git"}


def test_check_then_rerun_updates_one_comment(job: Job) -> None:
    first = job.runner.run({"command": "check"})
    assert first.ok, first.log
    assert first.outputs["changed"] == "false"
    assert first.outputs["summary"].startswith("Infrar check: every SDK use can be transformed")
    assert "every SDK use can be transformed for local" in first.summary
    [comment] = job.comments()
    assert comment["body"].startswith("<!-- infrar:action:check:default:. -->\n")

    (job.runner.workspace / "src" / "bad.py").write_text(BAD)
    second = job.runner.run({"command": "check"})
    assert not second.ok
    run_step = second.steps[-1]
    assert run_step.returncode == 2
    assert "::error file=src/bad.py,line=3,col=" in run_step.stdout
    assert second.outputs["summary"] == "Infrar check: 1 problem for local"
    assert "src/bad.py:3:" in second.summary
    [updated] = job.comments()
    assert updated["id"] == comment["id"]
    assert "infrar: created the comment on pull request #1" in first.steps[-1].stdout
    assert "infrar: updated the comment on pull request #1" in run_step.stdout
    assert "src/bad.py:3:" in updated["body"]
    methods = [c.method for c in job.fake.calls if "/comments" in c.path]
    assert methods == ["GET", "POST", "GET", "PATCH"]


def test_plan_outputs_summary_and_comment(job: Job, terraform_env: dict[str, str]) -> None:
    job.runner.env.update(terraform_env)
    done = job.runner.run({"command": "plan", "environment": "dev"})
    assert done.ok, done.log
    out = done.outputs
    assert out["changed"] == "true" and out["to-change"] == "0" and out["to-destroy"] == "0"
    assert int(out["to-add"]) >= 1
    assert len(out["plan-digest"]) == 64
    assert out["summary"] == f"Plan: {out['to-add']} to add, 0 to change, 0 to destroy."
    assert "### Infrar plan: local / dev" in done.summary
    assert out["plan-digest"] in done.summary
    report = Path(out["report"]).read_text()
    assert report.startswith("<!-- infrar:action:plan:dev:. -->\n")
    [comment] = job.comments()
    assert comment["body"] == report

    applied = job.runner.run({"command": "apply", "environment": "dev"})
    assert applied.ok, applied.log
    assert applied.outputs["plan-digest"] == out["plan-digest"]
    assert applied.outputs["changed"] == "true"
    # Apply has a comment of its own; the plan's is still there, once.
    assert sorted(c["body"].split("\n", 1)[0] for c in job.comments()) == [
        "<!-- infrar:action:apply:dev:. -->", "<!-- infrar:action:plan:dev:. -->"]


def test_drift_fails_the_step_until_a_reapply(job: Job, terraform_env: dict[str, str]) -> None:
    job.runner.env.update(terraform_env)
    for command in ("plan", "apply"):
        assert job.runner.run({"command": command, "environment": "dev"}).ok
    clean = job.runner.run({"command": "drift", "environment": "dev", "comment": "false"})
    assert clean.ok, clean.log
    assert clean.outputs["changed"] == "false"
    assert clean.outputs["summary"].startswith("No drift in dev")

    folder = job.runner.workspace / ".infrar" / "local" / "demo-dev-photos"
    shutil.rmtree(folder)
    drifted = job.runner.run({"command": "drift", "environment": "dev", "comment": "false"})
    assert not drifted.ok and drifted.steps[-1].returncode == 1
    assert drifted.outputs["changed"] == "true"
    assert drifted.outputs["summary"].startswith("Drift in dev: 1 resource differs")
    assert "### Infrar drift: local / dev" in drifted.summary and "photos" in drifted.summary

    for command in ("plan", "apply"):
        assert job.runner.run({"command": command, "environment": "dev"}).ok
    assert folder.is_dir()
    assert job.runner.run({"command": "drift", "environment": "dev", "comment": "false"}).ok


def test_transform_writes_output_and_reports_changes(job: Job) -> None:
    first = job.runner.run({"command": "transform", "comment": "false"})
    assert first.ok, first.log
    assert first.outputs["changed"] == "true"
    tree = job.runner.workspace / "generated" / "local"
    assert "from infrar_native.storage import" in (tree / "app.py").read_text()
    assert (tree / "infrar_native" / "resources.py").is_file()
    assert "generated/local/app.py" in first.summary
    assert "<code>generated/local/infrar&#95;native/storage.py</code>" in first.summary
    again = job.runner.run({"command": "transform", "comment": "false"})
    assert again.outputs["changed"] == "false"
    # What the source no longer has, the output no longer has either.
    (tree / "old_module.py").write_text("x = 1\n")
    pruned = job.runner.run({"command": "transform", "comment": "false"})
    assert pruned.ok, pruned.log
    assert pruned.outputs["changed"] == "true"
    assert pruned.outputs["summary"] == "Infrar transform: 1 stale file removed"
    assert "| <code>generated/local/old&#95;module.py</code> | removed |" in pruned.summary
    assert not (tree / "old_module.py").exists()
    assert job.comments() == []


def test_transform_marks_code_it_cannot_transform_on_its_line(job: Job) -> None:
    (job.runner.workspace / "src" / "bad.py").write_text(BAD)
    done = job.runner.run({"command": "transform", "comment": "false"})
    assert not done.ok and done.steps[-1].returncode == 2
    assert "::error file=src/bad.py,line=3,col=" in done.steps[-1].stdout
    assert done.outputs["summary"] == "Infrar transform: 1 problem; nothing was written"
    assert "src/bad.py:3:" in done.summary
    assert not (job.runner.workspace / "generated").exists()


def test_a_token_that_may_not_write_only_warns(job: Job) -> None:
    job.fake.tokens.pop(job.token)  # as a read-only token on a fork's pull request is refused
    done = job.runner.run({"command": "check"})
    assert done.ok, done.log
    assert "::warning title=infrar::could not comment on pull request #1" in done.steps[-1].stdout
    assert job.comments() == []


def test_fork_pattern_comment_from_report(job: Job, tmp_path: Path) -> None:
    # Job 1 (pull_request, read-only, no comment): the report is the artifact, failed or not.
    (job.runner.workspace / "src" / "bad.py").write_text(BAD)
    checked = job.runner.run({"command": "check", "comment": "false",
                              "report-file": "infrar-report/report.md"})
    assert not checked.ok
    artifact = job.runner.workspace / "infrar-report" / "report.md"
    assert Path(checked.outputs["report"]) == artifact
    assert "src/bad.py:3:" in artifact.read_text()
    assert job.comments() == []
    # Job 2 (workflow_run): posts it, after checking the number against the run's head.
    event = tmp_path / "workflow_run.json"
    event.write_text(f'{{"action": "completed", "workflow_run": {{"id": 7, "head_sha": '
                     f'"{job.pull.head_sha}", "pull_requests": []}}}}')
    job.runner.github.update(event_name="workflow_run", event_path=str(event))
    posted = job.runner.run({"command": "comment", "comment-file": "infrar-report/report.md",
                             "pull-request": str(job.pull.number)})
    assert posted.ok, posted.log
    [comment] = job.comments()
    marker, _, body = artifact.read_text().partition("\n")
    assert comment["body"].startswith(marker.replace("infrar:action:", "infrar:action:report:"))
    assert body.strip() in comment["body"]
    assert "Posted from the report of workflow run 7 for commit" in comment["body"]

    event.write_text('{"action": "completed", "workflow_run": {"id": 7, "head_sha": "0000"}}')
    refused = job.runner.run({"command": "comment", "comment-file": "infrar-report/report.md",
                              "pull-request": str(job.pull.number)})
    assert not refused.ok
    assert "not the one workflow run 7 was for" in refused.steps[-1].stdout


def test_a_broken_configuration_is_reported_not_a_traceback(job: Job) -> None:
    (job.runner.workspace / ".infrar.yaml").write_text(
        "version: 1\nproject: demo\nprovider: local\npaths: [src/, lib/]\n")
    done = job.runner.run({"command": "plan", "environment": "dev", "comment": "false"})
    assert not done.ok and done.steps[-1].returncode == 1
    assert "paths: lib/ not found" in done.summary
    assert "::error title=infrar::.infrar.yaml: paths: lib/ not found" in done.steps[-1].stdout
    assert "Traceback" not in done.log

    (job.runner.workspace / ".infrar.yaml").write_text("version: 1\nproject: demo\nnaming: 7\n")
    invalid = job.runner.run({"command": "plan", "comment": "false"})
    assert invalid.steps[-1].returncode == 1
    assert re.search(r"\.infrar\.yaml:3: naming: ", invalid.summary), invalid.summary


def test_hostile_inputs_stay_data(job: Job) -> None:
    done = job.runner.run({"command": "check", "provider": '$(touch pwned)"; echo "x',
                           "comment": "false"})
    assert not done.ok
    assert "unknown provider" in done.summary
    assert not list(job.runner.workspace.rglob("pwned"))


@pytest.mark.parametrize("value", ["plain", "two\nlines", "ghadelimiter_x\n<<EOF\n="])
def test_outputs_survive_any_value(tmp_path: Path, value: str) -> None:
    from infrar.cli.action_commands import write_outputs

    path = tmp_path / "output"
    write_outputs({"GITHUB_OUTPUT": str(path)}, {"summary": value, "changed": "true"})
    assert parse_file_command(path.read_text()) == {"summary": value, "changed": "true"}

