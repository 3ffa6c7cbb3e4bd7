"""Transform every SDK-using file under the configured paths of a checkout, through the cache."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from infrar.app.workflow.rules_version import rules_version
from infrar.app.workflow.transform_cache import TransformCache
from infrar.engine.config import Target
from infrar.engine.diagnostics import Diagnostic, EngineError
from infrar.engine.files import python_files
from infrar.engine.source import MARKER
from infrar.engine.transform import FileResult, transform_source


@dataclass
class TreeTransform:
    files: dict[str, FileResult] = field(default_factory=dict)
    """Repository-relative POSIX path -> result, for files that mention the SDK."""
    errors: list[str] = field(default_factory=list)

    @property
    def diagnostics(self) -> list[Diagnostic]:
        return sorted(d for r in self.files.values() for d in r.diagnostics)

    @property
    def ok(self) -> bool:
        return not self.errors and all(r.ok for r in self.files.values())

    @property
    def changed(self) -> dict[str, FileResult]:
        return {p: r for p, r in self.files.items() if r.changed}

    @property
    def requirements(self) -> list[str]:
        return sorted({req for r in self.files.values() for req in r.requirements})


def transform_tree(root: Path, *, target: Target, cache: TransformCache) -> TreeTransform:
    out = TreeTransform()
    roots = [root / p for p in target.config.paths] or [root]
    missing = [str(p.relative_to(root)) for p in roots if not p.exists()]
    if missing:
        out.errors.append(f".infrar.yaml: paths: {', '.join(missing)} not found in the repository")
        return out
    try:
        rules = rules_version(target.provider)
    except EngineError as exc:
        out.errors.append(str(exc))
        return out
    naming = f"{target.naming.pattern}\0{target.naming.project}\0{target.naming.environment}"
    real_root = root.resolve()
    for file, _ in python_files(roots):
        # A repository's symlink must not make the App read (and commit) files of the server.
        if file.is_symlink() or not file.resolve().is_relative_to(real_root):
            continue
        data = file.read_bytes()
        if MARKER not in data:
            continue
        relative = file.relative_to(root).as_posix()
        key = cache.key(data=data, path=relative, provider=target.provider, naming=naming,
                        rules=rules)
        result = cache.get(key, data)
        if result is None:
            result = transform_source(data, path=relative, provider=target.provider,
                                      namer=target.naming.namer())
            cache.put(key, result)
        out.files[relative] = result
    return out
