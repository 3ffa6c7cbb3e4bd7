"""What `terraform init` prepared, kept and given back: keys tell apart what init read and which
Terraform ran it, a reuse links provider binaries rather than copying them, the most recently
used entries are kept, and an entry removed meanwhile is a miss, not an error. Real Terraform
1.0.3 and the null provider; the reuse in a plan, with its fallback, is tested with the App's
plan step (tests/app/test_app_terraform_step.py)."""

from __future__ import annotations

import os
import shutil
import zipfile
from pathlib import Path

import pytest
from tf_test_helpers import write_config

from infrar.engine import terraform as tf
from infrar.engine.terraform import init_cache as init_cache_module
from infrar.engine.terraform.init_cache import InitCache, key_of

CONFIG = {"main.tf": 'resource "null_resource" "x" {}\n'}


def packed_mirror(tmp_path: Path, env: dict[str, str]) -> dict[str, str]:
    """`env` with the null provider served as a zip (a packed mirror, as a registry serves it):
    init then unpacks a real binary into `.terraform/` rather than linking to the mirror."""
    (binary,) = Path(env["TF_CLI_CONFIG_FILE"]).parent.rglob("terraform-provider-null_*")
    folder = tmp_path / "packed" / "registry.terraform.io" / "hashicorp" / "null"
    folder.mkdir(parents=True)
    with zipfile.ZipFile(folder / f"terraform-provider-null_2.1.2_{binary.parent.name}.zip",
                         "w") as archive:
        archive.write(binary, binary.name)
    config = tmp_path / "packed.tfrc"
    config.write_text('provider_installation {\n  filesystem_mirror {\n'
                      f'    path    = "{tmp_path / "packed"}"\n'
                      '    include = ["registry.terraform.io/hashicorp/null"]\n  }\n'
                      '  direct {\n    exclude = ["registry.terraform.io/hashicorp/null"]\n'
                      '  }\n}\n')
    return {**env, "TF_CLI_CONFIG_FILE": str(config)}


def initialised(folder: Path, env: dict[str, str]) -> Path:
    write_config(folder, CONFIG)
    tf.init(folder, env=env)
    return folder


def test_keys_differ_by_what_init_read_and_where_providers_come_from(
        tf_env: dict[str, str], tmp_path: Path) -> None:
    inputs = {"providers.tf": b"terraform {}\n", "modules/a/main.tf": b""}
    same = key_of(dict(inputs), env=tf_env)
    assert key_of(inputs, env=tf_env) == same
    assert key_of({**inputs, "backend.tf": b"x"}, env=tf_env) != same
    assert key_of({**inputs, "providers.tf": b"other"}, env=tf_env) != same
    assert key_of(inputs, env={**tf_env, "TF_CLI_CONFIG_FILE": str(tmp_path / "x")}) != same
    copy = tmp_path / "terraform"
    shutil.copy2(tf_env["INFRAR_TF_BINARY"], copy)
    assert key_of(inputs, env={**tf_env, "INFRAR_TF_BINARY": str(copy)}) != same


def test_a_reuse_links_the_provider_binaries_rather_than_copying_them(
        tf_env: dict[str, str], tmp_path: Path) -> None:
    env = packed_mirror(tmp_path, tf_env)
    cache = InitCache(tmp_path / "cache")
    cache.keep("k", initialised(tmp_path / "first", env))
    later = write_config(tmp_path / "later", CONFIG)
    assert cache.restore("k", later)
    kept = sorted((cache.root / "k" / ".terraform").rglob("terraform-provider-*"))
    used = sorted((later / ".terraform").rglob("terraform-provider-*"))
    assert kept and len(kept) == len(used)
    for one, other in zip(kept, used, strict=True):
        assert one.is_file() and not one.is_symlink() and os.path.samefile(one, other)
    assert (later / ".terraform.lock.hcl").read_bytes() == (
        tmp_path / "first" / ".terraform.lock.hcl").read_bytes()
    tf.plan(later, plan_file=later / "p.tfplan", env=env)  # usable as it is


def test_the_most_recently_used_entries_are_kept(
        tf_env: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(init_cache_module, "MAX_ENTRIES", 2)
    cache = InitCache(tmp_path / "cache")
    folder = initialised(tmp_path / "first", tf_env)
    cache.keep("a", folder)
    cache.keep("b", folder)
    os.utime(cache.root / "a", (1, 1))
    os.utime(cache.root / "b", (2, 2))
    assert cache.restore("a", write_config(tmp_path / "w", CONFIG))  # a used: now the newest
    cache.keep("c", folder)
    assert sorted(p.name for p in cache.root.iterdir()) == ["a", "c"]


def test_an_entry_gone_is_a_miss(tf_env: dict[str, str], tmp_path: Path) -> None:
    cache = InitCache(tmp_path / "cache")
    cache.keep("k", initialised(tmp_path / "first", tf_env))
    cache.forget("k")
    later = write_config(tmp_path / "later", CONFIG)
    assert not cache.restore("k", later)
    assert not (later / ".terraform").exists() and not (later / ".terraform.lock.hcl").exists()
    assert not cache.restore("never-kept", later)
