"""Summarise `terraform show -json` plan output, with sensitive values redacted."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any

SENSITIVE = "(sensitive)"
UNKNOWN = "(known after apply)"
MIN_SCRUB_LENGTH = 4

SYMBOLS = {"create": "+", "delete": "-", "update": "~", "replace": "-/+", "read": "<="}
# C0/C1 controls (ANSI escapes, carriage returns) and bidi overrides that can disguise text.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")


@dataclass(frozen=True)
class AttributeChange:
    path: str
    before: str | None  # rendered value; None when absent on that side
    after: str | None


@dataclass(frozen=True)
class ResourceChange:
    address: str
    type: str
    mode: str
    actions: tuple[str, ...]  # Terraform's own, e.g. ("delete", "create")
    action: str  # create, update, delete, replace, read
    attributes: tuple[AttributeChange, ...]


@dataclass(frozen=True)
class OutputChange:
    name: str
    action: str
    before: str | None
    after: str | None
    sensitive: bool


@dataclass(frozen=True)
class PlanSummary:
    add: int
    change: int
    destroy: int
    no_changes: bool
    resources: tuple[ResourceChange, ...]
    outputs: tuple[OutputChange, ...]
    terraform_version: str | None = None

    @property
    def headline(self) -> str:
        if self.no_changes:
            return "No changes."
        return f"Plan: {self.add} to add, {self.change} to change, {self.destroy} to destroy."


def normalize_actions(actions: Iterable[str]) -> str:
    actions = tuple(actions)
    if set(actions) == {"delete", "create"}:
        return "replace"
    return "-".join(actions) or "no-op"


def summarize_plan(plan: Mapping[str, Any]) -> PlanSummary:
    """Build a PlanSummary; no sensitive value survives into any of its strings."""
    resources = [_resource(rc) for rc in plan.get("resource_changes") or ()]
    changed = [r for r in resources if r.action != "no-op"]
    outputs = [_output(name, oc) for name, oc in sorted((plan.get("output_changes") or {}).items())]
    outputs = [o for o in outputs if o.action != "no-op"]
    managed = [r for r in changed if r.mode == "managed"]
    summary = PlanSummary(
        add=sum(r.action in ("create", "replace") for r in managed),
        change=sum(r.action == "update" for r in managed),
        destroy=sum(r.action in ("delete", "replace") for r in managed),
        no_changes=not changed and not outputs,
        resources=tuple(changed),
        outputs=tuple(outputs),
        terraform_version=plan.get("terraform_version"),
    )
    return _scrub_summary(summary, sensitive_strings(plan))


def _resource(rc: Mapping[str, Any]) -> ResourceChange:
    change = rc.get("change") or {}
    actions = tuple(change.get("actions") or ("no-op",))
    action = normalize_actions(actions)
    marks = _merge_marks(change.get("before_sensitive"), change.get("after_sensitive"))
    before = _leaves(change.get("before"), marks, False) if change.get("before") is not None else {}
    after = (
        _leaves(change.get("after"), marks, change.get("after_unknown"))
        if action != "delete"
        else {}
    )
    return ResourceChange(
        address=rc.get("address", "?"),
        type=rc.get("type", "?"),
        mode=rc.get("mode", "managed"),
        actions=actions,
        action=action,
        attributes=_attribute_changes(action, before, after),
    )


def _attribute_changes(
    action: str, before: dict[str, str], after: dict[str, str]
) -> tuple[AttributeChange, ...]:
    pairs: list[tuple[str, str | None, str | None]]
    if action in ("create", "read"):
        pairs = [(p, None, v) for p, v in after.items() if v != "null"]
    elif action == "delete":
        pairs = [(p, v, None) for p, v in before.items() if v != "null"]
    else:
        paths = sorted(before.keys() | after.keys())
        pairs = [(p, before.get(p), after.get(p)) for p in paths if before.get(p) != after.get(p)]
    return tuple(AttributeChange(*pair) for pair in sorted(pairs, key=lambda pair: pair[0]))


def _output(name: str, oc: Mapping[str, Any]) -> OutputChange:
    action = normalize_actions(oc.get("actions") or ("no-op",))
    sensitive = bool(oc.get("before_sensitive") or oc.get("after_sensitive") or oc.get("sensitive"))
    before = None if action == "create" else _render_value(oc.get("before"), sensitive, False)
    after = (
        None
        if action == "delete"
        else _render_value(oc.get("after"), sensitive, oc.get("after_unknown"))
    )
    return OutputChange(name, action, before, after, sensitive)


def _render_value(value: Any, sensitive: bool, unknown: Any) -> str:
    if sensitive:
        return SENSITIVE
    if unknown is True:
        return UNKNOWN
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def _leaves(value: Any, sensitive: Any, unknown: Any, path: str = "") -> dict[str, str]:
    """Flatten a value to {attribute path: rendered leaf}, honouring sensitive/unknown marks."""
    if sensitive is True:
        return {path: SENSITIVE}
    if unknown is True:
        return {path: UNKNOWN}
    if isinstance(value, dict) or (value is None and isinstance(unknown, dict)):
        value = value or {}
        keys = sorted(value.keys() | (unknown.keys() if isinstance(unknown, dict) else set()))
        if not keys:
            return {path: "{}"}
        out: dict[str, str] = {}
        for key in keys:
            child = _join_key(path, key)
            out |= _leaves(value.get(key), _sub(sensitive, key), _sub(unknown, key), child)
        return out
    if isinstance(value, list):
        if not value and not isinstance(unknown, list):
            return {path: "[]"}
        size = max(len(value), len(unknown) if isinstance(unknown, list) else 0)
        out = {}
        for i in range(size):
            item = value[i] if i < len(value) else None
            out |= _leaves(item, _sub(sensitive, i), _sub(unknown, i), f"{path}[{i}]")
        return out
    return {path: json.dumps(value, ensure_ascii=False)}


def _join_key(path: str, key: str) -> str:
    if _IDENTIFIER.match(key):
        return f"{path}.{key}" if path else key
    return f"{path}[{json.dumps(key, ensure_ascii=False)}]"


def _sub(mark: Any, key: str | int) -> Any:
    if isinstance(mark, dict) and isinstance(key, str):
        return mark.get(key, False)
    if isinstance(mark, list) and isinstance(key, int) and key < len(mark):
        return mark[key]
    return False


def _merge_marks(a: Any, b: Any) -> Any:
    # A value sensitive on either side is treated as sensitive on both.
    if a is True or b is True:
        return True
    if isinstance(a, dict) and isinstance(b, dict):
        return {k: _merge_marks(a.get(k), b.get(k)) for k in a.keys() | b.keys()}
    if isinstance(a, list) and isinstance(b, list):
        return [_merge_marks(x, y) for x, y in zip(a, b, strict=False)] + (
            a[len(b) :] or b[len(a) :]
        )
    return a if isinstance(a, (dict, list)) else b


def sensitive_strings(plan: Mapping[str, Any]) -> set[str]:
    """Every string that Terraform flags as sensitive anywhere in the plan, for scrubbing."""
    found: set[str] = set()
    for rc in plan.get("resource_changes") or ():
        change = rc.get("change") or {}
        marks = _merge_marks(change.get("before_sensitive"), change.get("after_sensitive"))
        _collect(change.get("before"), marks, found)
        _collect(change.get("after"), marks, found)
    for oc in (plan.get("output_changes") or {}).values():
        if oc.get("before_sensitive") or oc.get("after_sensitive") or oc.get("sensitive"):
            _collect(oc.get("before"), True, found)
            _collect(oc.get("after"), True, found)
    for output in ((plan.get("planned_values") or {}).get("outputs") or {}).values():
        if output.get("sensitive"):
            _collect(output.get("value"), True, found)
    declared = ((plan.get("configuration") or {}).get("root_module") or {}).get("variables") or {}
    for name, var in (plan.get("variables") or {}).items():
        if (declared.get(name) or {}).get("sensitive"):
            _collect(var.get("value"), True, found)
    return {s for s in found if len(s) >= MIN_SCRUB_LENGTH}


def _collect(value: Any, sensitive: Any, found: set[str]) -> None:
    if isinstance(value, dict):
        for key, item in value.items():
            _collect(item, True if sensitive is True else _sub(sensitive, key), found)
    elif isinstance(value, list):
        for i, item in enumerate(value):
            _collect(item, True if sensitive is True else _sub(sensitive, i), found)
    elif sensitive is True and value is not None and not isinstance(value, bool):
        text = value if isinstance(value, str) else json.dumps(value)
        found.add(text)
        found.add(json.dumps(text, ensure_ascii=False)[1:-1])  # as it reads once rendered


def scrub(text: str, secrets: Iterable[str]) -> str:
    for secret in sorted(secrets, key=len, reverse=True):
        text = text.replace(secret, SENSITIVE)
    return text


def _scrub_summary(summary: PlanSummary, secrets: set[str]) -> PlanSummary:
    if not secrets:
        return summary

    def s(text: str | None) -> str | None:
        return None if text is None else scrub(text, secrets)

    resources = tuple(
        replace(
            r,
            address=scrub(r.address, secrets),
            attributes=tuple(
                AttributeChange(scrub(a.path, secrets), s(a.before), s(a.after))
                for a in r.attributes
            ),
        )
        for r in summary.resources
    )
    outputs = tuple(replace(o, before=s(o.before), after=s(o.after)) for o in summary.outputs)
    return replace(summary, resources=resources, outputs=outputs)


def clean(text: str) -> str:
    """Drop control characters (ANSI escapes and the like) that user values could smuggle in."""
    return _CONTROL.sub("", text)


def shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def attribute_text(attr: AttributeChange, *, value_limit: int = 500) -> str:
    before = shorten(attr.before, value_limit) if attr.before is not None else None
    after = shorten(attr.after, value_limit) if attr.after is not None else None
    path = attr.path or "(value)"
    if before is None:
        return f"{path} = {after}"
    if after is None:
        return f"{path} = {before}"
    return f"{path} = {before} -> {after}"


def output_text(output: OutputChange, *, value_limit: int = 500) -> str:
    attr = AttributeChange(output.name, output.before, output.after)
    return attribute_text(attr, value_limit=value_limit)


def render_text(summary: PlanSummary, *, value_limit: int = 500) -> str:
    """The plan summary for a terminal."""
    lines = [summary.headline]
    if summary.resources:
        lines.append("")
    for r in summary.resources:
        lines.append(f"  {SYMBOLS.get(r.action, '?')} {r.address} ({r.action})")
        lines += [f"      {attribute_text(a, value_limit=value_limit)}" for a in r.attributes]
    if summary.outputs:
        lines += ["", "Changes to Outputs:"]
        lines += [
            f"  {SYMBOLS.get(o.action, '?')} {output_text(o, value_limit=value_limit)}"
            for o in summary.outputs
        ]
    return clean("\n".join(lines)) + "\n"
