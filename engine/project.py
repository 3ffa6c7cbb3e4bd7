"""Run detection or transformation over the files a user names."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from infrar.engine.detect import Detection, detect_source
from infrar.engine.diagnostics import Diagnostic
from infrar.engine.files import python_files
from infrar.engine.transform import FileResult, ResourceNamer, transform_source

REQUIREMENTS_FILE = "requirements.infrar.txt"


@dataclass
class ProjectTransform:
    files: list[tuple[Path, Path, FileResult]] = field(default_factory=list)

    @property
    def diagnostics(self) -> list[Diagnostic]:
        return sorted(d for _, _, r in self.files for d in r.diagnostics)

    @property
    def ok(self) -> bool:
        return all(r.ok for _, _, r in self.files)

    @property
    def changed(self) -> list[tuple[Path, Path, FileResult]]:
        return [entry for entry in self.files if entry[2].changed]

    @property
    def requirements(self) -> list[str]:
        return sorted({req for _, _, r in self.files for req in r.requirements})


def transform_paths(paths: list[Path], *, provider: str,
                    namer: ResourceNamer | None = None) -> ProjectTransform:
    project = ProjectTransform()
    for file, relative in python_files(paths):
        result = transform_source(file.read_bytes(), path=str(file), provider=provider, namer=namer)
        project.files.append((file, relative, result))
    return project


def detect_paths(paths: list[Path]) -> Detection:
    total = Detection()
    for file, _ in python_files(paths):
        found = detect_source(file.read_bytes(), path=str(file))
        total.uses += found.uses
        total.diagnostics += found.diagnostics
    return total
