"""How `infrar transform` names resources: as `infrar generate` does, when a project is set up."""

from __future__ import annotations

import os
from pathlib import Path

from infrar.cli.commands.common import fail, guard
from infrar.engine.config import load_project_config, resolve_target
from infrar.engine.infra.catalog import load_plugin
from infrar.engine.infra.inventory import build_inventory, scan_paths
from infrar.engine.transform import ResourceNamer


def transform_settings(paths: list[Path], *, provider: str | None, environment: str | None,
                       config_file: Path | None) -> tuple[str, ResourceNamer | None]:
    """The provider, and the namer that gives literal names their physical form. Without a
    configuration or an environment, names stay as written (and no plugin data is needed)."""
    config = guard(lambda: load_project_config(config_file=config_file))
    fallback = os.environ.get("INFRAR_PROVIDER") or "local"
    if config.path is None and environment is None:
        return provider or fallback, None
    target = guard(lambda: resolve_target(config, environment=environment, provider=provider,
                                          fallback_provider=fallback))
    plugin = guard(lambda: load_plugin(target.provider))
    inventory = guard(lambda: build_inventory(scan_paths(paths, root=config.root).uses,
                                              plugin=plugin, naming=target.naming))
    errors = [d for d in inventory.diagnostics if d.severity == "error"]
    if errors:
        fail([*map(str, errors), f"{len(errors)} problem(s); nothing was written"])
    return target.provider, target.naming.namer()
