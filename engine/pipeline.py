"""The one engine entry point every face calls: a source tree and its configuration in, the
transformed tree of each provider, what the code uses, and typed diagnostics out.

CLI, pre-commit hook, Action and App all write the trees this returns, so the same input gives
byte-identical output whichever face ran it. Nothing here prints, exits or writes files.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from infrar.engine.config import DEFAULT_PROVIDER, ProjectConfig, Target, resolve_target
from infrar.engine.detect import Use
from infrar.engine.diagnostics import Diagnostic, EngineError
from infrar.engine.infra.catalog import load_plugin
from infrar.engine.infra.inventory import Inventory, Scan, build_inventory
from infrar.engine.native import NameTable, package_files, requirements
from infrar.engine.transform import FileResult, transform_module
from infrar.engine.tree import SourceTree, TreeFile

REQUIREMENTS_FILE = "requirements.infrar.txt"
MAX_FILES = 20_000


@dataclass(frozen=True)
class Build:
    """The transformed tree of one provider: every Python file of the source tree (rewritten
    where it uses the SDK), the generated native package and the requirements it needs."""

    provider: str
    environments: tuple[str, ...]
    files: dict[str, bytes]
    requirements: tuple[str, ...]


@dataclass
class PipelineResult:
    files: dict[str, FileResult] = field(default_factory=dict)
    """Relative POSIX path -> the transformation of each file that mentions the SDK."""
    scan: Scan = field(default_factory=Scan)
    targets: dict[str, Target] = field(default_factory=dict)
    inventories: dict[str, Inventory] = field(default_factory=dict)
    """Environment -> the resources its code uses, named for that environment."""
    builds: dict[str, Build] = field(default_factory=dict)
    diagnostics: list[Diagnostic] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not any(d.severity == "error" for d in self.diagnostics)

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.severity == "error"]

    @property
    def warnings(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.severity == "warning"]

    @property
    def changed(self) -> dict[str, FileResult]:
        return {p: r for p, r in self.files.items() if r.changed}


def deployment_targets(config: ProjectConfig, *, provider: str | None = None,
                       environment: str | None = None,
                       fallback_provider: str | None = None) -> dict[str, Target]:
    """Environment -> target, for every environment the configuration deploys (or just
    `environment`). `provider` overrides every environment's provider."""
    fallback = fallback_provider or os.environ.get("INFRAR_PROVIDER") or DEFAULT_PROVIDER
    names: list[str | None] = [environment] if environment else [*config.environments] or [None]
    targets = [resolve_target(config, environment=n, provider=provider,
                              fallback_provider=fallback) for n in names]
    return {t.environment: t for t in targets}


def run_pipeline(roots: list[Path], *, config: ProjectConfig, targets: dict[str, Target],
                 workspace: Path | None = None, exclude: Path | None = None,
                 build: bool = True) -> PipelineResult:
    """Transform and inventory the Python files under `roots` for every target; with `build`,
    assemble each provider's tree (a check needs only the diagnostics).

    `workspace`: files that are symlinks or resolve outside it are left out, so a repository
    cannot make Infrar read (and publish) files from elsewhere. `exclude`: a folder left out
    (where the face writes); `output:` of the configuration is always left out too, so what a
    face committed there is never read as source by another."""
    tree = SourceTree(roots, base=config.root)
    if workspace is None and config.path is not None:
        workspace = config.root
    configured = config.root / config.output if config.output else None
    kept = [f for f in tree.files
            if _in_scope(f, workspace, exclude) and _in_scope(f, None, configured)]
    result = PipelineResult(targets=targets)
    problems = _workspace_problems(roots, tree, kept, workspace, config)
    result.scan.diagnostics += problems
    if any(p.severity == "error" for p in problems):
        result.diagnostics = problems
        return result
    base = config.root.resolve()
    for file, detection in tree.detect(kept):
        relative = _scan_path(file, base)
        result.scan.uses += [(use, relative) for use in detection.uses]
        result.scan.diagnostics += detection.diagnostics
        transformed = transform_module(tree.parsed(file), tree.data(file),
                                       path=tree.shown(file))
        if transformed.diagnostics or transformed.capabilities or transformed.changed:
            result.files[file.relative.as_posix()] = transformed
    diagnostics = set(result.scan.diagnostics)
    diagnostics.update(d for r in result.files.values() for d in r.diagnostics)
    for name, target in targets.items():
        inventory = _inventory(result.scan.uses, target, diagnostics)
        if inventory is not None:
            result.inventories[name] = inventory
    result.diagnostics = sorted(diagnostics)
    if result.ok and build:
        result.builds = _builds(tree, kept, result)
    return result


def _workspace_problems(roots: list[Path], tree: SourceTree, kept: list[TreeFile],
                        workspace: Path | None, config: ProjectConfig) -> list[Diagnostic]:
    """One rule for every face: nothing outside the project is read, symlinks included, and
    no two files may land on one path of the transformed tree."""
    shown = str(config.path.name) if config.path else "."
    problems = []
    if workspace is not None:
        inside = workspace.resolve()
        for root in roots:
            if not root.resolve().is_relative_to(inside):
                named = os.path.relpath(root.absolute(), config.root.absolute())
                problems.append(Diagnostic(shown, 1, 1, "outside-project",
                                           f"{named!r} leads outside the project folder; "
                                           "Infrar reads only what is inside it"))
        for file in tree.files:
            if file not in kept and file.path.is_symlink():
                problems.append(Diagnostic(tree.shown(file), 1, 1, "symlink",
                                           "a symbolic link: left out of the transformed tree",
                                           "warning"))
    if len(kept) > MAX_FILES:
        problems.append(Diagnostic(shown, 1, 1, "too-many-files",
                                   f"{len(kept):,} Python files under the paths; at most "
                                   f"{MAX_FILES:,} are transformed in one tree"))
    seen: dict[str, TreeFile] = {}
    for file in kept:
        first = seen.setdefault(file.relative.as_posix(), file)
        if first is not file:
            problems.append(Diagnostic(
                tree.shown(file), 1, 1, "path-collision",
                f"lands on {file.relative.as_posix()} in the transformed tree, as "
                f"{tree.shown(first)} does; point the paths at their common folder"))
    return problems


def _in_scope(file: TreeFile, workspace: Path | None, exclude: Path | None) -> bool:
    resolved = file.path.resolve()
    if exclude is not None and resolved.is_relative_to(exclude.resolve()):
        return False
    if workspace is None:
        return True
    return not file.path.is_symlink() and resolved.is_relative_to(workspace.resolve())


def _scan_path(file: TreeFile, base: Path) -> str:
    """Where names derived from a file's path (Terraform variables) come from: the path
    relative to the project folder, whichever paths were named."""
    resolved = file.path.resolve()
    return resolved.relative_to(base).as_posix() if resolved.is_relative_to(base) \
        else file.relative.as_posix()


def _inventory(uses: list[tuple[Use, str]], target: Target,
               diagnostics: set[Diagnostic]) -> Inventory | None:
    try:
        plugin = load_plugin(target.provider)
    except EngineError as exc:
        diagnostics.add(Diagnostic(".infrar.yaml", 1, 1, "provider", str(exc)))
        return None
    inventory = build_inventory(uses, plugin=plugin, naming=target.naming)
    diagnostics.update(inventory.diagnostics)
    return inventory


def _builds(tree: SourceTree, kept: list[TreeFile], result: PipelineResult) -> dict[str, Build]:
    by_provider: dict[str, list[str]] = {}
    for name, target in result.targets.items():
        by_provider.setdefault(target.provider, []).append(name)
    capabilities = sorted({c for r in result.files.values() for c in r.capabilities})
    builds = {}
    for provider, environments in sorted(by_provider.items()):
        files = {f.relative.as_posix(): _output(tree, f, result) for f in kept}
        needed: list[str] = []
        if capabilities:
            table = _names(result, environments)
            files.update(package_files(provider, capabilities, table))
            needed = requirements(provider, capabilities)
        files[REQUIREMENTS_FILE] = "".join(f"{r}\n" for r in needed).encode()
        builds[provider] = Build(provider, tuple(environments), dict(sorted(files.items())),
                                 tuple(needed))
    return builds


def _output(tree: SourceTree, file: TreeFile, result: PipelineResult) -> bytes:
    transformed = result.files.get(file.relative.as_posix())
    if transformed is not None and transformed.output is not None:
        return transformed.output
    return tree.data(file)


def _names(result: PipelineResult, environments: list[str]) -> NameTable:
    table: dict[str, dict[str, dict[str, str]]] = {}
    for name in environments:
        kinds: dict[str, dict[str, str]] = {}
        inventory = result.inventories.get(name)
        for resource in inventory.resources if inventory else []:
            if resource.physical is not None:
                kinds.setdefault(resource.kind, {})[resource.key] = resource.physical
        table[name] = kinds
    return table


def build_files(builds: dict[str, Build]) -> dict[Path, bytes]:
    """The files of a build folder, relative to it: one folder per provider (`aws/app.py`,
    `aws/infrar_native/storage.py`), the same layout for every face."""
    return {Path(b.provider) / path: data
            for b in builds.values() for path, data in b.files.items()}
