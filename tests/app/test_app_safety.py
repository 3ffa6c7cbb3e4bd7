"""A repository cannot make the App read outside its checkout, nor redirect what it writes;
what the App shows names repository files, not the worker's folders."""

from __future__ import annotations

from pathlib import Path

from infrar.app.workflow.safety import fresh_dir, outside_paths, repository_relative
from infrar.engine.config import ProjectConfig


def test_paths_and_symlinks_leading_outside_are_named(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    (root / "src").mkdir(parents=True)
    (root / "src" / "inside.py").symlink_to(root / "src" / "x.py")
    (root / "src" / "secret").symlink_to("/etc")
    (root / "key.py").symlink_to(tmp_path / "server-key.py")
    found = outside_paths(root, ProjectConfig(paths=("src", "../elsewhere", "/etc")))
    assert sorted(found) == [
        ".infrar.yaml: paths: '../elsewhere' is outside the repository",
        ".infrar.yaml: paths: '/etc' is outside the repository",
        "key.py: symlink to outside the repository",
        "src/secret: symlink to outside the repository",
    ]
    assert outside_paths(root / "src", ProjectConfig(paths=("inside.py",))) == [
        "secret: symlink to outside the repository"]


def test_output_folders_are_made_fresh_whatever_the_checkout_has_there(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    (root / "elsewhere").mkdir(parents=True)
    (root / "elsewhere" / "extra.tf").write_text('resource "null_resource" "x" {}\n')
    (root / ".infrar").symlink_to("elsewhere")
    made = fresh_dir(root, ".infrar/terraform")
    assert made == root / ".infrar" / "terraform" and list(made.iterdir()) == []
    assert not (root / ".infrar").is_symlink()
    assert (root / "elsewhere" / "extra.tf").is_file()  # the link is dropped, not followed
    (made / "production").write_text("a file where a folder goes\n")
    (made / "staging").mkdir()
    (made / "staging" / "main.tf").write_text("# committed, not generated\n")
    assert list(fresh_dir(root, ".infrar/terraform/production").iterdir()) == []
    assert list(fresh_dir(root, ".infrar/terraform/staging").iterdir()) == []


def test_worker_folders_are_left_out_of_what_the_app_shows(tmp_path: Path) -> None:
    scratch = tmp_path / "plan-1"
    checkout = scratch / "src"
    checkout.mkdir(parents=True)
    via_link = tmp_path / "link"
    via_link.symlink_to(scratch)
    text = (f"{checkout}/src/app.py:3:1: warning [x]\n{checkout.resolve()}/README.md\n"
            f"{scratch}/tf/production/main.tf\n{via_link / 'src'}/a.py\nin {checkout}\n")
    shown = repository_relative(text, via_link / "src", scratch)
    assert shown == ("src/app.py:3:1: warning [x]\nREADME.md\ntf/production/main.tf\na.py\n"
                     "in .\n")
