"""The repository and pull request the end-to-end tests work on."""

from __future__ import annotations

REPO = "acme/photos"

CONFIG = """\
version: 1
project: photos
provider: local
environments:
  production:
    provider: local
    apply_on_merge: true
    apply_requirements: [approved, mergeable]
"""

BASE_FILES = {
    ".infrar.yaml": CONFIG,
    "README.md": "# photos\n",
    "src/helpers.py": "def greet(name):\n    return f'hello {name}'\n",
}

APP_PY = '''\
"""Photo uploads."""

from infrar.storage import read, write


def save(key, data):
    write("uploads", key, data)


def load(key):
    return read("uploads", key)
'''
