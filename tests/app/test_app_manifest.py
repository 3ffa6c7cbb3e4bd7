"""The App manifest asks for exactly what the App uses."""

from __future__ import annotations

import json
from importlib import resources

from openapi_routes import DESCRIPTION


def test_manifest_permissions_and_events() -> None:
    manifest = json.loads(resources.files("infrar.app").joinpath("manifest.json").read_text())
    assert manifest["default_permissions"] == {
        "metadata": "read", "contents": "write", "pull_requests": "write", "issues": "write",
        "checks": "write", "members": "read"}
    assert manifest["default_events"] == ["pull_request", "issue_comment"]
    assert manifest["hook_attributes"]["url"].endswith("/webhook")


def test_every_permission_named_exists_in_githubs_description() -> None:
    spec = json.loads(DESCRIPTION.read_text())
    permissions = spec["components"]["schemas"]["app-permissions"]["properties"]
    manifest = json.loads(resources.files("infrar.app").joinpath("manifest.json").read_text())
    for name, level in manifest["default_permissions"].items():
        assert name in permissions, name
        assert level in permissions[name]["enum"], (name, level)
