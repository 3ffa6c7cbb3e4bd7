"""One pipeline, proven: the same repository through every face, `infrar transform --out`, the
`infrar-generate` pre-commit hook, the Action's `transform` command and the App's bot branch,
gives the same provider trees, byte for byte."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import time
from pathlib import Path

import payloads
import pytest
import yaml
from faces_support import CONFIGS, SOURCES, Deliver, read_git_tree, read_tree, write_files
from fake_github import FakeGitHub, Pull
from harness import Runner, base_environment
from precommit_repos import HookRepo, UserRepo

REPO = "acme/photos"
BOT_BRANCH = "refs/heads/infrar/pr-1"
APP_BUILD = ".infrar/build"  # where the App's bot branch carries the trees
OUTPUT = "generated"  # `output:` of every configuration in CONFIGS
PROVIDERS = {"one-provider": ["local"], "two-providers": ["aws", "local"]}
SERVED = {"one-provider": {"local": ["production", "staging"]},
          "two-providers": {"local": ["staging"], "aws": ["production"]}}


def _clean_env(base: dict[str, str]) -> dict[str, str]:
    """No INFRAR_* or TF_* setting of this test run reaches a face."""
    return {k: v for k, v in base.items() if not k.startswith(("INFRAR_", "TF_"))}


def cli_face(root: Path, files: dict[str, str]) -> dict[str, bytes]:
    write_files(root, files)
    (root / ".git").mkdir()  # where the search for .infrar.yaml stops
    infrar = Path(sys.executable).with_name("infrar")
    done = subprocess.run([str(infrar), "transform", "--out", "cli-out"], cwd=root,
                          env=_clean_env(dict(os.environ)), capture_output=True, text=True,
                          check=False)
    assert done.returncode == 0, done.stderr
    return read_tree(root / "cli-out")


def hook_face(root: Path, files: dict[str, str], hook_repo: HookRepo) -> dict[str, bytes]:
    repo = UserRepo(root, _clean_env(dict(hook_repo.env)))
    root.mkdir()
    repo.git("init", "-q")
    config = {"repos": [{"repo": str(hook_repo.path), "rev": hook_repo.rev,
                         "hooks": [{"id": "infrar-generate"}]}]}
    repo.write(".pre-commit-config.yaml", yaml.safe_dump(config, sort_keys=False))
    write_files(root, files)
    repo.stage(".pre-commit-config.yaml", *files)
    done = repo.pre_commit("run", "infrar-generate")
    # Exit 1: the output was missing, so it was written (as a formatter does); then it is
    # up to date.
    assert done.returncode == 1 and "now regenerated" in done.stdout, done.stdout + done.stderr
    repo.stage(OUTPUT)
    again = repo.pre_commit("run", "infrar-generate")
    assert again.returncode == 0, again.stdout + again.stderr
    return read_tree(root / OUTPUT)


def action_face(workspace: Path, files: dict[str, str], checkout: Path, runner_temp: Path,
                fake: FakeGitHub, pull: Pull, event_file: Path) -> dict[str, bytes]:
    """`output-directory: action-out`, so the Action writes a tree of its own even where the
    repository carries the committed output."""
    write_files(workspace, files)
    token = "ghs_" + secrets.token_hex(18)
    fake.tokens[token] = time.time() + 3600
    github = {"token": token, "repository": REPO, "event_name": "pull_request",
              "event_path": str(event_file), "api_url": fake.api_url, "server_url": fake.url,
              "run_id": "4242", "sha": pull.head_sha, "workspace": str(workspace),
              "action_path": str(checkout)}
    runner = Runner(checkout, workspace, runner_temp, github, _clean_env(base_environment()))
    done = runner.run({"command": "transform", "comment": "false",
                       "output-directory": "action-out"})
    assert done.ok, done.log
    assert done.outputs["changed"] == "true"
    return read_tree(workspace / "action-out")


def app_face(fake: FakeGitHub, deliver: Deliver, pull: Pull) -> dict[str, bytes]:
    deliver("pull_request", payloads.pull_request(fake, REPO, pull, "opened"))
    assert fake.git.ref_exists(REPO, BOT_BRANCH), "the App pushed no bot branch"
    return read_git_tree(fake.git.bare(REPO), BOT_BRANCH, APP_BUILD)


@pytest.mark.parametrize("layout", sorted(CONFIGS))
def test_every_face_writes_the_same_provider_trees(
        layout: str, tmp_path: Path, hook_repo: HookRepo, action_checkout: Path,
        runner_temp: Path, fake: FakeGitHub, deliver: Deliver) -> None:
    files = {".infrar.yaml": CONFIGS[layout], **SOURCES}
    trees = {"infrar-generate hook": hook_face(tmp_path / "hook", files, hook_repo)}
    # The other faces get the repository as the hook leaves it: with its output committed,
    # which none of them may read as source.
    committed = {f"{OUTPUT}/{path}": data.decode()
                 for path, data in trees["infrar-generate hook"].items()}
    files |= committed
    fake.create_repo(REPO, {"README.md": files["README.md"]})
    pull = fake.open_pull(REPO, "feature", {k: v for k, v in files.items() if k != "README.md"})
    event = tmp_path / "event.json"
    event.write_text(json.dumps(payloads.pull_request(fake, REPO, pull, "opened")))
    trees["infrar transform --out"] = cli_face(tmp_path / "cli", files)
    trees["Action transform"] = action_face(tmp_path / "workspace", files, action_checkout,
                                            runner_temp, fake, pull, event)
    trees["App bot branch"] = app_face(fake, deliver, pull)

    reference = trees["infrar transform --out"]
    assert sorted({path.split("/", 1)[0] for path in reference}) == PROVIDERS[layout]
    assert len(reference) == 10 * len(PROVIDERS[layout])  # 6 modules, 3 native, requirements
    for face, tree in trees.items():
        assert sorted(tree) == sorted(reference), f"{face} wrote other files"
        differing = sorted(p for p in reference if tree[p] != reference[p])
        assert differing == [], f"{face} differs from `infrar transform --out` in {differing}"

    # And the shared tree is the one this layout asks for.
    prefix = "" if "paths:" in CONFIGS[layout] else "src/"
    for provider, environments in SERVED[layout].items():
        assert reference[f"{provider}/{prefix}util.py"] == files["src/util.py"].encode()
        store = files["src/photos/store.py"].replace("from infrar.storage import",
                                                     "from infrar_native.storage import")
        assert reference[f"{provider}/{prefix}photos/store.py"] == store.encode()
        names = reference[f"{provider}/infrar_native/resources.py"].decode()
        for environment in environments:
            for bucket in ("uploads", "thumbs", "reports"):
                assert f'"{bucket}": "photos-{environment}-{bucket}"' in names
