"""The check run on the head SHA: started once per job, completed with annotations."""

from __future__ import annotations

from collections.abc import Sequence

from infrar.app.github import publish
from infrar.app.github.forge import Annotation, Forge
from infrar.engine.config import CONFIG_FILE
from infrar.engine.diagnostics import Diagnostic, Problem

CHECK_NAME = "Infrar"
DEPLOY_CHECK_NAME = "Infrar deploy"


def start(gh: Forge, head_sha: str, *, external_id: str, title: str) -> int:
    return publish.start_check(gh, head_sha, name=CHECK_NAME, external_id=external_id,
                               title=title)


def start_deploy(gh: Forge, head_sha: str, *, external_id: str, title: str) -> int:
    """The check run of a deploy (apply, images, health), apart from the plan's."""
    return publish.start_check(gh, head_sha, name=DEPLOY_CHECK_NAME, external_id=external_id,
                               title=title)


def progress(gh: Forge, run_id: int, *, title: str, summary: str, text: str = "") -> None:
    publish.update_check(gh, run_id, title=title, summary=summary, text=text)


def complete(gh: Forge, run_id: int, *, ok: bool, title: str, summary: str,
             text: str = "", annotations: Sequence[Annotation] = (),
             conclusion: str | None = None) -> None:
    publish.complete_check(gh, run_id, conclusion=conclusion or ("success" if ok else "failure"),
                           title=title, summary=summary, text=text, annotations=annotations)


def annotations_for(diagnostics: Sequence[Diagnostic]) -> list[Annotation]:
    return [Annotation(path=d.path, start_line=max(d.line, 1), end_line=max(d.line, 1),
                       level="failure" if d.severity == "error" else "warning",
                       message=f"{d.message} [{d.code}]", title=f"infrar: {d.code}")
            for d in diagnostics]


def annotations_for_config(problems: Sequence[Problem]) -> list[Annotation]:
    """Problems of `.infrar.yaml` files, pinned to their lines; a problem of no such file goes
    on the repository's root one."""
    return [Annotation(path=p.path if p.path.endswith(CONFIG_FILE) else CONFIG_FILE,
                       start_line=max(p.line, 1), end_line=max(p.line, 1), level="failure",
                       message=p.detail or str(p), title=f"invalid {CONFIG_FILE}")
            for p in problems]
