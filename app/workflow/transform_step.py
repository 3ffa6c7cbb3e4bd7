"""Run the engine pipeline over a checkout: every project environment's tree, one per provider."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from infrar.engine.config import ProjectConfig, Target
from infrar.engine.diagnostics import Diagnostic, EngineError
from infrar.engine.pipeline import Build, PipelineResult, run_pipeline
from infrar.engine.transform import FileResult

BUILD_DIR = ".infrar/build"
"""Where the bot branch carries the transformed tree of each provider (`<dir>/<provider>/`)."""


@dataclass
class TreeTransform:
    result: PipelineResult = field(default_factory=PipelineResult)
    errors: list[str] = field(default_factory=list)

    @property
    def diagnostics(self) -> list[Diagnostic]:
        return self.result.diagnostics

    @property
    def ok(self) -> bool:
        return not self.errors and self.result.ok

    @property
    def changed(self) -> dict[str, FileResult]:
        """Repository path -> each file whose SDK imports were rewritten. (The pipeline keys
        files by where they land in a build, relative to the configured path they were found
        under: `app.py` for `src/app.py` with `paths: [src]`; reviews need the repository's.)"""
        return {r.path: r for r in self.result.changed.values()}

    @property
    def builds(self) -> dict[str, Build]:
        return self.result.builds


def transform_tree(root: Path, *, config: ProjectConfig, targets: dict[str, Target]
                   ) -> TreeTransform:
    out = TreeTransform()
    roots = [root / p for p in config.paths] or [root]
    missing = [str(p.relative_to(root)) for p in roots if not p.exists()]
    if missing:
        out.errors.append(f".infrar.yaml: paths: {', '.join(missing)} not found in the repository")
        return out
    try:
        # A repository's symlink must not make the App read (and commit) files of the server.
        out.result = run_pipeline(roots, config=config, targets=targets, workspace=root)
    except EngineError as exc:
        out.errors.append(str(exc))
    return out
