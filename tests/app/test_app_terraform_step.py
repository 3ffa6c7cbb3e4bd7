"""Planning a generated directory into an archive, with `terraform init` reused: the second
plan of a project whose providers, modules and backend have not changed skips init and plans
exactly as a fresh one would; a kept working directory that does not fit is caught by
Terraform and planned again after a fresh init; hand-written Terraform is always initialised.
Real Terraform 1.0.3 and the null provider through the offline mirror."""

from __future__ import annotations

import io
import shutil
import tarfile
from pathlib import Path

import pytest
from scenario import CONFIG

from infrar.app.workflow.generation import load_generator
from infrar.app.workflow.terraform_step import PlannedArchive, plan_directory
from infrar.engine.config import load_config, resolve_target
from infrar.engine.terraform.init_cache import InitCache

SKIPPED = "terraform init was skipped"
FRESH = "planning again after a fresh terraform init"


def project(tmp_path: Path, name: str, code: str) -> tuple[Path, dict[str, str]]:
    """A generated Terraform directory for `code`, and the environment to plan it with."""
    source = tmp_path / name
    (source / "src").mkdir(parents=True)
    (source / ".infrar.yaml").write_text(CONFIG)
    (source / "src" / "app.py").write_text(code)
    target = resolve_target(load_config(source / ".infrar.yaml"), environment="production")
    out = source / ".infrar" / "terraform" / "production"
    generated = load_generator().generate(source_root=source, target=target, out_dir=out,
                                          cache_root=tmp_path / "data")
    assert not generated.errors
    return out, {**generated.terraform_env, "INFRAR_LOCAL_ROOT": str(tmp_path / "local")}


def uses(*buckets: str) -> str:
    return "from infrar.storage import write\n\n" + "".join(
        f"write({b!r}, 'k', b'v')\n" for b in buckets)


def plan(config: Path, env: dict[str, str], workdir: Path, cache: InitCache | None
         ) -> tuple[PlannedArchive, list[str]]:
    lines: list[str] = []
    planned = plan_directory(config, workdir=workdir, state=None, env=env, secrets=[],
                             on_output=lines.append, init_cache=cache)
    return planned, lines


def archived(planned: PlannedArchive, name: str) -> bytes:
    with tarfile.open(fileobj=io.BytesIO(planned.archive), mode="r:gz") as tar:
        member = tar.extractfile(name)
        assert member is not None
        return member.read()


def addresses(planned: PlannedArchive) -> list[str]:
    return sorted(r.address for r in planned.summary.resources)


@pytest.fixture
def cache(tmp_path: Path) -> InitCache:
    return InitCache(tmp_path / "data" / "terraform-init")


def test_a_second_plan_of_the_same_providers_skips_init_and_plans_the_same(
        tmp_path: Path, cache: InitCache) -> None:
    first_dir, env = project(tmp_path, "first", uses("uploads"))
    second_dir, _ = project(tmp_path, "second", uses("uploads", "thumbnails"))
    fresh, fresh_lines = plan(second_dir, env, tmp_path / "w0", None)
    first, first_lines = plan(first_dir, env, tmp_path / "w1", cache)
    reused, reused_lines = plan(second_dir, env, tmp_path / "w2", cache)

    assert any("Initializing" in line for line in first_lines)
    assert SKIPPED in " ".join(reused_lines)
    assert not any("Initializing" in line for line in reused_lines)
    assert addresses(reused) == addresses(fresh) == [
        'module.storage.null_resource.bucket["thumbnails"]',
        'module.storage.null_resource.bucket["uploads"]']
    assert reused.summary.headline == fresh.summary.headline
    # The reviewed archive holds the lock file a fresh init writes, byte for byte.
    assert archived(reused, ".terraform.lock.hcl") == archived(fresh, ".terraform.lock.hcl")
    assert ".terraform/" not in " ".join(tarfile.open(
        fileobj=io.BytesIO(reused.archive)).getnames())
    assert addresses(first) == ['module.storage.null_resource.bucket["uploads"]']
    assert not any(SKIPPED in line for line in fresh_lines + first_lines)


def test_a_kept_directory_that_does_not_fit_is_refused_by_terraform_and_planned_fresh(
        tmp_path: Path, cache: InitCache) -> None:
    config, env = project(tmp_path, "app", uses("uploads"))
    plan(config, env, tmp_path / "w1", cache)
    (entry,) = [p for p in cache.root.iterdir() if not p.name.startswith(".")]
    # What an init of other modules would have left: the storage module is not installed.
    (entry / ".terraform" / "modules" / "modules.json").write_text(
        '{"Modules":[{"Key":"","Source":"","Dir":"."}]}')

    planned, lines = plan(config, env, tmp_path / "w2", cache)
    text = "\n".join(lines)
    assert SKIPPED in text and "Module not installed" in text
    assert FRESH in text.lower()
    assert addresses(planned) == ['module.storage.null_resource.bucket["uploads"]']
    # The misfit was replaced by what the fresh init prepared.
    _, again = plan(config, env, tmp_path / "w3", cache)
    assert SKIPPED in " ".join(again) and "Module not installed" not in " ".join(again)


def test_hand_written_terraform_is_always_initialised(tmp_path: Path, cache: InitCache) -> None:
    generated, env = project(tmp_path, "app", uses("uploads"))
    hand = tmp_path / "hand"
    shutil.copytree(generated, hand)
    (hand / ".infrar-generated.json").unlink()  # not a directory Infrar generated
    for index in range(2):
        _, lines = plan(hand, env, tmp_path / f"w{index}", cache)
        assert any("Initializing" in line for line in lines)
        assert not any(SKIPPED in line for line in lines)
    assert not cache.root.exists()
