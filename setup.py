"""The `infrar` package is laid out from five folders (PACKAGE_DIR); every folder below them is
one of its packages, found here rather than listed, so a new module folder or a folder of data
files (templates, schemas, Terraform) ships without an edit. Its data files ship when their
suffix is in pyproject.toml's package-data; everything else about the package is there too."""

from __future__ import annotations

import warnings
from pathlib import Path

from setuptools import find_namespace_packages, setup

ROOT = Path(__file__).resolve().parent
PACKAGE_DIR = {
    "infrar": "sdk",
    "infrar.engine": "engine",
    "infrar.cli": "cli",
    "infrar.providers": "providers",
    "infrar.app": "app",
}


def packages() -> list[str]:
    """Each mapped package and every folder under it, except caches."""
    found: list[str] = []
    for name, folder in PACKAGE_DIR.items():
        found.append(name)
        below = find_namespace_packages(str(ROOT / folder), exclude=["*__pycache__*"])
        found.extend(f"{name}.{package}" for package in below)
    return sorted(found)


if __name__ == "__main__":
    # An editable install maps `infrar.*` onto the folders above with an import hook, and
    # setuptools says so with a caution about a folder named like the package in the working
    # directory; there is none (the package has no folder of its own name), so it is not shown.
    warnings.filterwarnings("ignore", message="Editable installation", category=UserWarning)
    setup(package_dir=PACKAGE_DIR, packages=packages())
