"""The projects of a repository, and which of them a change touches.

Every folder with its own `.infrar.yaml` is one project (a monorepo holds several): its `paths`
are relative to that folder, its name is its `project:` key, or its folder when it has none.
A file belongs to the innermost project whose folder holds it. A change touches a project when
it changes a file under the project's paths, its `.infrar.yaml`, or a module of the repository
that one of the project's files imports, directly or through other modules.
"""

from __future__ import annotations

import ast
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from infrar.engine.config import CONFIG_FILE, ConfigError, ProjectConfig, load_config
from infrar.engine.files import SKIPPED_DIRECTORIES
from infrar.engine.tree import SourceTree, TreeFile

MAX_PROJECTS = 200
MAX_FOLDERS = 50_000
"""Folders one discovery walks at most; past that the repository is refused, not half-read."""
MAX_CONFIG_BYTES = 256 * 1024
MAX_IMPORTING_FILE_BYTES = 1024 * 1024
ROOT = PurePosixPath(".")


@dataclass(frozen=True)
class Project:
    name: str
    folder: PurePosixPath
    """Relative to the repository root; `.` for a root `.infrar.yaml`."""
    config: ProjectConfig

    @property
    def at_root(self) -> bool:
        return self.folder == ROOT

    @property
    def key(self) -> str:
        """What the App stores it under: empty for the root project, so a repository that
        grows from one project to several keeps its root project's locks, plans and state."""
        return "" if self.at_root else self.name

    @property
    def config_file(self) -> PurePosixPath:
        return self.folder / CONFIG_FILE if not self.at_root else PurePosixPath(CONFIG_FILE)

    def directory(self, repo_root: Path) -> Path:
        return repo_root / self.folder if not self.at_root else repo_root

    def path_roots(self, repo_root: Path) -> list[Path]:
        """Where its code lives: its `paths`, or its whole folder."""
        folder = self.directory(repo_root)
        return [folder / p for p in self.config.paths] or [folder]

    def relative(self, repo_path: str) -> str:
        """A repository path as the project names it (relative to its folder)."""
        if self.at_root:
            return repo_path
        prefix = self.folder.as_posix() + "/"
        return repo_path[len(prefix):] if repo_path.startswith(prefix) else repo_path


def discover(repo_root: Path) -> list[Project]:
    """Every project of the checkout at `repo_root`, sorted by folder; ConfigError lists every
    invalid `.infrar.yaml` and every name used twice."""
    problems: list[str] = []
    found: list[Project] = []
    for folder in _config_folders(repo_root):
        path = (repo_root / folder / CONFIG_FILE) if folder != ROOT else repo_root / CONFIG_FILE
        try:
            if path.stat().st_size > MAX_CONFIG_BYTES:
                raise ConfigError([f"{path}:1: (document): larger than {MAX_CONFIG_BYTES} bytes"])
            config = load_config(path)
        except ConfigError as exc:
            problems += exc.problems
            continue
        found.append(Project(config.project or folder.as_posix(), folder, config))
    problems += _duplicates(found, repo_root)
    if problems:
        raise ConfigError(problems)
    return found


def _duplicates(projects: list[Project], repo_root: Path) -> list[str]:
    first: dict[str, Project] = {}
    problems = []
    for project in projects:
        earlier = first.setdefault(project.name, project)
        if earlier is not project:
            problems.append(
                f"{repo_root / project.config_file}:1: project: the name {project.name!r} is "
                f"also the name of {earlier.config_file.as_posix()}; each project needs its own")
    return problems


def _config_folders(repo_root: Path) -> list[PurePosixPath]:
    folders: list[PurePosixPath] = []
    walked = 0
    for current, directories, files in os.walk(repo_root):
        walked += 1
        if walked > MAX_FOLDERS:
            raise ConfigError([f"{repo_root / CONFIG_FILE}:1: (document): the repository has "
                               f"more than {MAX_FOLDERS} folders to look for projects in"])
        here = Path(current)
        directories[:] = sorted(d for d in directories if _searched(here / d))
        config = here / CONFIG_FILE
        if CONFIG_FILE in files and config.is_file() and not config.is_symlink():
            folders.append(PurePosixPath(here.relative_to(repo_root).as_posix()))
            if len(folders) > MAX_PROJECTS:
                raise ConfigError([f"{config}:1: (document): more than {MAX_PROJECTS} projects "
                                   "in one repository"])
    return sorted(folders, key=lambda f: f.parts)


def _searched(folder: Path) -> bool:
    name = folder.name
    return not (name.startswith(".") or name in SKIPPED_DIRECTORIES or folder.is_symlink()
                or (folder / "pyvenv.cfg").exists())


def owner(projects: Iterable[Project], repo_path: str) -> Project | None:
    """The innermost project whose folder holds `repo_path`."""
    path = PurePosixPath(repo_path)
    holders = [p for p in projects if p.at_root or p.folder in path.parents]
    return max(holders, key=lambda p: len(p.folder.parts) if not p.at_root else 0, default=None)


def by_name(projects: Iterable[Project], name: str) -> Project | None:
    return next((p for p in projects if p.name == name), None)


def touched(projects: list[Project], changed_files: Iterable[str], repo_root: Path
            ) -> list[Project]:
    """The projects a change of `changed_files` (repository paths) touches, in order."""
    changed = {PurePosixPath(f).as_posix() for f in changed_files}
    affected = changed | _importers(projects, changed, repo_root)
    return [p for p in projects
            if p.config_file.as_posix() in changed
            or any(_covers(p, projects, f, repo_root) for f in affected)]


def _covers(project: Project, projects: list[Project], repo_path: str, repo_root: Path) -> bool:
    """`repo_path` is under the project's paths, and no project nested in it holds it."""
    path = PurePosixPath(repo_path)
    roots = [PurePosixPath(os.path.normpath(r.relative_to(repo_root).as_posix()))
             for r in project.path_roots(repo_root)]
    if not any(r == ROOT or r == path or r in path.parents for r in roots):
        return False
    inner = owner(projects, repo_path)
    return inner is project or inner is None or not _nested_in(inner, project)


def _nested_in(inner: Project, outer: Project) -> bool:
    return inner is not outer and (outer.at_root or outer.folder in inner.folder.parents)


def _importers(projects: list[Project], changed: set[str], repo_root: Path) -> set[str]:
    """Repository files that import one of `changed`, directly or through other modules: the
    reverse closure of the import graph, with modules named as the engine names them (from the
    repository root, and from each project's paths)."""
    trees = [SourceTree([repo_root])]
    trees += [SourceTree(p.path_roots(repo_root)) for p in projects
              if p.path_roots(repo_root) != [repo_root]]
    imported_by: dict[str, set[str]] = {}
    parsed: dict[str, list[tuple[str | None, int, tuple[str, ...]]]] = {}
    for tree in trees:
        for file in tree.files:
            importer = _repo_path(file.path, repo_root)
            if importer is None:
                continue
            if importer not in parsed:
                parsed[importer] = _imports(file.path)
            for target in _resolved(tree, file, parsed[importer]):
                path = _repo_path(target.path, repo_root)
                if path is not None and path != importer:
                    imported_by.setdefault(path, set()).add(importer)
    found: set[str] = set()
    queue = [c for c in changed if c in imported_by]
    while queue:
        for importer in imported_by.get(queue.pop(), ()):
            if importer not in found and importer not in changed:
                found.add(importer)
                queue.append(importer)
    return found


def _repo_path(path: Path, repo_root: Path) -> str | None:
    try:
        return path.relative_to(repo_root).as_posix()
    except ValueError:
        return None


def _resolved(tree: SourceTree, file: TreeFile,
              imports: list[tuple[str | None, int, tuple[str, ...]]]) -> list[TreeFile]:
    out = []
    for module, level, names in imports:
        candidates: list[tuple[str | None, int]] = [(module, level)]
        if module and not level:
            parts = module.split(".")
            candidates += [(".".join(parts[:i]), 0) for i in range(1, len(parts))]
        base = f"{module}." if module else ""
        candidates += [(f"{base}{n}", level) for n in names if n != "*"]
        for name, dots in candidates:
            target = tree.resolve(file, name, dots)
            if target is not None:
                out.append(target)
    return out


def _imports(path: Path) -> list[tuple[str | None, int, tuple[str, ...]]]:
    """(module, level, imported names) of every import statement of a Python file."""
    try:
        if path.stat().st_size > MAX_IMPORTING_FILE_BYTES:
            return []
        module = ast.parse(path.read_bytes())
    except (OSError, SyntaxError, ValueError, RecursionError, MemoryError):
        return []
    found: list[tuple[str | None, int, tuple[str, ...]]] = []
    for node in ast.walk(module):
        if isinstance(node, ast.Import):
            found += [(alias.name, 0, ()) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            found.append((node.module, node.level, tuple(a.name for a in node.names)))
    return found
