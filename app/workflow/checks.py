"""The check run on the head SHA: started once per job, completed with annotations."""

from __future__ import annotations

from collections.abc import Sequence

from infrar.app.github import publish
from infrar.app.github.forge import Annotation, Forge
from infrar.engine.diagnostics import Diagnostic

CHECK_NAME = "Infrar"


def start(gh: Forge, head_sha: str, *, external_id: str, title: str) -> int:
    return publish.start_check(gh, head_sha, name=CHECK_NAME, external_id=external_id,
                               title=title)


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


def annotations_for_config(problems: Sequence[str], *, config_path: str) -> list[Annotation]:
    """`file:line: path: message` problems from .infrar.yaml, pinned to their lines."""
    out = []
    for problem in problems:
        _, _, rest = problem.partition(":")
        line_text, _, message = rest.partition(":")
        line = int(line_text) if line_text.strip().isdigit() else 1
        out.append(Annotation(path=config_path, start_line=line, end_line=line, level="failure",
                              message=(message.strip() or problem), title="invalid .infrar.yaml"))
    return out
