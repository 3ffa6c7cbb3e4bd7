"""PlanSummary from synthetic `terraform show -json` documents (no Terraform needed)."""

from __future__ import annotations

from typing import Any

from infrar.engine.terraform import render_text, summarize_plan

SECRET = "correct-horse-battery"


def _change(address: str, actions: list[str], **change: Any) -> dict[str, Any]:
    kind = address.split(".")[0]
    return {
        "address": address,
        "type": kind,
        "mode": "managed",
        "change": {"actions": actions, **change},
    }


def test_counts_treat_replace_as_add_and_destroy() -> None:
    plan = {
        "resource_changes": [
            _change("null_resource.new", ["create"], before=None, after={"a": 1}),
            _change("null_resource.edit", ["update"], before={"a": 1}, after={"a": 2}),
            _change("null_resource.gone", ["delete"], before={"a": 1}, after=None),
            _change("null_resource.swap", ["delete", "create"], before={"a": 1}, after={"a": 2}),
            _change("null_resource.same", ["no-op"], before={"a": 1}, after={"a": 1}),
        ]
    }
    summary = summarize_plan(plan)
    assert (summary.add, summary.change, summary.destroy) == (2, 2 - 1, 2)
    assert [r.action for r in summary.resources] == ["create", "update", "delete", "replace"]
    assert summary.resources[1].attributes[0].before == "1"
    assert summary.resources[1].attributes[0].after == "2"
    assert not summary.no_changes
    text = render_text(summary)
    assert "Plan: 2 to add, 1 to change, 2 to destroy." in text
    assert "  -/+ null_resource.swap (replace)" in text


def test_no_changes_and_data_reads() -> None:
    assert summarize_plan({"resource_changes": []}).no_changes
    read = {
        "address": "data.x.y",
        "type": "x",
        "mode": "data",
        "change": {"actions": ["read"], "before": None, "after": {}},
    }
    summary = summarize_plan({"resource_changes": [read]})
    assert (summary.add, summary.change, summary.destroy, summary.no_changes) == (0, 0, 0, False)


def test_nested_sensitive_marks_and_scrubbing_elsewhere() -> None:
    plan = {
        "variables": {"pw": {"value": SECRET}, "region": {"value": "eu-west-1"}},
        "configuration": {"root_module": {"variables": {"pw": {"sensitive": True}, "region": {}}}},
        "resource_changes": [
            _change(
                "null_resource.x",
                ["update"],
                before={"triggers": {"list": ["a", SECRET], "plain": "old"}},
                after={"triggers": {"list": ["a", SECRET + "2"], "plain": f"has {SECRET} inside"}},
                before_sensitive={"triggers": {"list": [False, True]}},
                after_sensitive={"triggers": {"list": [False, True]}},
                after_unknown={},
            )
        ],
        "output_changes": {
            "whole": {
                "actions": ["update"],
                "before": {"k": SECRET},
                "after": {"k": "x"},
                "before_sensitive": True,
                "after_sensitive": True,
            },
        },
    }
    summary = summarize_plan(plan)
    attrs = {a.path: (a.before, a.after) for a in summary.resources[0].attributes}
    # The sensitive list element is unchanged as rendered, so only `plain` shows as a change.
    assert attrs == {"triggers.plain": ('"old"', '"has (sensitive) inside"')}
    assert summary.outputs[0].after == "(sensitive)"
    assert SECRET not in repr(summary) and SECRET not in render_text(summary)


def test_unknown_and_odd_keys_are_rendered_safely() -> None:
    plan = {
        "resource_changes": [
            _change(
                "null_resource.x",
                ["create"],
                before=None,
                after={"triggers": {"we ird\u001b[31m": "v"}},
                after_unknown={"id": True, "triggers": {}},
            )
        ]
    }
    summary = summarize_plan(plan)
    paths = [a.path for a in summary.resources[0].attributes]
    assert paths == ["id", 'triggers["we ird\\u001b[31m"]']
    assert "\x1b" not in render_text(summary)
