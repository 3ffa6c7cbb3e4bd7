"""The check run on the head SHA: started once per job, completed with annotations."""

from __future__ import annotations

from collections.abc import Sequence

from infrar.app.github.client import Annotation, CheckOutput, GitHubClient
from infrar.engine.diagnostics import Diagnostic

CHECK_NAME = "Infrar"
SUMMARY_LIMIT = 65535


def start(gh: GitHubClient, head_sha: str, *, external_id: str, title: str) -> int:
    found = gh.find_check_run(head_sha, name=CHECK_NAME, external_id=external_id)
    if found is not None:
        return found
    return gh.start_check_run(head_sha, name=CHECK_NAME, external_id=external_id, title=title)


def complete(gh: GitHubClient, run_id: int, *, ok: bool, title: str, summary: str,
             text: str = "", annotations: Sequence[Annotation] = (),
             conclusion: str | None = None) -> None:
    output = CheckOutput(title=title[:1000], summary=summary[:SUMMARY_LIMIT],
                         text=text[:SUMMARY_LIMIT], annotations=tuple(annotations))
    gh.complete_check_run(run_id, conclusion=conclusion or ("success" if ok else "failure"),
                          output=output)


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
