"""The deployed images in a generated Terraform directory, as `infrar apply` keeps them for
`infrar plan`: the same file and format (engine/deploy.py), with only the services the
Terraform still declares an image variable for (a removed service keeps no stale one)."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from pathlib import Path

from infrar.engine.deploy import IMAGES_FILE
from infrar.engine.infra.compute import image_variable

_VARIABLE = re.compile(r'^\s*variable\s+"([^"]+)"', re.MULTILINE)


def declared_variables(directory: Path) -> set[str]:
    """The root module's variables, as its `.tf` files declare them."""
    found: set[str] = set()
    for path in sorted(directory.glob("*.tf")):
        found.update(_VARIABLE.findall(path.read_text(encoding="utf-8", errors="replace")))
    return found


def keep(directory: Path, references: Mapping[str, str]) -> dict[str, str]:
    """Write into `directory` the references (service -> image by digest) of the services its
    Terraform declares; returns those written (none: no file)."""
    declared = declared_variables(directory)
    kept = {name: ref for name, ref in sorted(references.items())
            if image_variable(name) in declared}
    target = directory / IMAGES_FILE
    if not kept:
        target.unlink(missing_ok=True)
        return {}
    variables = {image_variable(name): ref for name, ref in kept.items()}
    target.write_text(json.dumps(variables, indent=2) + "\n", encoding="utf-8")
    return kept
