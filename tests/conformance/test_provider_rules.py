"""The cloud providers' storage rules: loadable, least-privilege permissions, errors from data."""

from __future__ import annotations

import ast
import linecache
import re

import pytest

from infrar.engine.capabilities import load_capability
from infrar.engine.plugins import load_rules
from infrar.engine.runtime import build_runtime

CLOUDS = ("aws", "gcp", "azure")
PERMISSION = {
    "aws": re.compile(r"s3:[A-Z][A-Za-z]+"),
    "gcp": re.compile(r"storage\.objects\.(get|list|create|delete)|iam\.serviceAccounts\.signBlob"),
    "azure": re.compile(
        r"Microsoft\.Storage/storageAccounts/blobServices/"
        r"(containers/blobs/(read|write|delete)|generateUserDelegationKey/action)"),
}
MUTATING = {
    "aws": {"s3:PutObject", "s3:DeleteObject"},
    "gcp": {"storage.objects.create", "storage.objects.delete"},
    "azure": {"Microsoft.Storage/storageAccounts/blobServices/containers/blobs/write",
              "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/delete"},
}
READ_ONLY = ("read", "download", "exists", "list_objects", "get_metadata")
REQUIREMENT = {"aws": "boto3", "gcp": "google-cloud-storage", "azure": "azure-storage-blob"}


@pytest.mark.parametrize("provider", CLOUDS)
def test_rules_cover_the_sdk_with_real_permissions(provider: str) -> None:
    rules = load_rules(provider, "storage")
    assert set(rules.operations) == set(load_capability("storage").functions)
    assert [r.split(">=")[0] for r in rules.requirements] == [REQUIREMENT[provider]]
    for name, operation in rules.operations.items():
        assert operation.permissions, name
        for permission in operation.permissions:
            assert PERMISSION[provider].fullmatch(permission), (name, permission)
        if name in READ_ONLY:
            assert not MUTATING[provider] & set(operation.permissions), name
    assert MUTATING[provider] <= {p for o in rules.operations.values() for p in o.permissions}


@pytest.mark.parametrize("provider", CLOUDS)
def test_runtime_maps_native_errors_from_the_rules_data(provider: str) -> None:
    rules = load_rules(provider, "storage")
    functions = build_runtime("storage", provider)
    assert set(functions) == set(load_capability("storage").functions)
    filename = f"<infrar native code: {provider} storage>"
    source = "".join(linecache.getlines(filename))
    mapped = {key.value: value.id for node in ast.walk(ast.parse(source))
              if isinstance(node, ast.Dict)
              for key, value in zip(node.keys, node.values, strict=True)
              if isinstance(key, ast.Constant) and isinstance(value, ast.Name)}
    for native, sdk_error in rules.errors.items():
        assert mapped.get(str(native)) == sdk_error, native
    sdk_errors = set(rules.errors.values())
    assert {"ObjectNotFoundError", "PermissionDeniedError"} <= sdk_errors
