"""Drift: what is deployed no longer matches what the code's Terraform describes.

A drift check is a plan against the stored state, like the one before an apply: Terraform
refreshes each resource, and every change it would make is a difference between the code and
what runs (a resource changed or removed by hand, or code merged but not applied). The plan is
made into a file of its own and removed, so a reviewed `infrar plan` is never replaced.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from infrar.engine.infra.generate import Generation, write_generated
from infrar.engine.terraform import PlanSummary, init, plan, show_json, summarize_plan
from infrar.engine.terraform.markdown import code, escape_html, render_markdown
from infrar.engine.terraform.redaction import redact
from infrar.engine.terraform.runner import digest_path
from infrar.engine.terraform.summary import AttributeChange, attribute_text

DRIFT_PLAN_FILE = "infrar-drift.tfplan"
EXIT_NO_DRIFT = 0
EXIT_DRIFT = 2


@dataclass(frozen=True)
class DriftedResource:
    address: str
    type: str
    action: str
    """What applying the code would do to it: create, update, delete, replace."""
    outside_terraform: bool
    """Terraform saw, on refresh, that it was changed outside Terraform."""
    changes: tuple[AttributeChange, ...]


@dataclass(frozen=True)
class DriftReport:
    environment: str
    resources: tuple[DriftedResource, ...]
    summary: PlanSummary

    @property
    def drifted(self) -> bool:
        return bool(self.resources)

    @property
    def exit_code(self) -> int:
        return EXIT_DRIFT if self.drifted else EXIT_NO_DRIFT

    @property
    def headline(self) -> str:
        if not self.drifted:
            return f"No drift in {self.environment}: what is deployed matches the code."
        count = len(self.resources)
        noun = "resource differs" if count == 1 else "resources differ"
        return f"Drift in {self.environment}: {count} {noun} from the code. {self.summary.headline}"

    @property
    def fingerprint(self) -> str:
        """Equal for two reports that list the same differences (to tell a new drift)."""
        listed = [dataclasses.asdict(r) for r in self.resources]
        return hashlib.sha256(json.dumps(listed, sort_keys=True).encode()).hexdigest()

    def text(self, secrets: Iterable[str] = ()) -> str:
        lines = [self.headline]
        for resource in self.resources:
            outside = " (changed outside Terraform)" if resource.outside_terraform else ""
            lines.append(f"  {resource.action} {resource.address}{outside}")
            lines += [f"      {attribute_text(change)}" for change in resource.changes]
        return redact("\n".join(lines) + "\n", tuple(secrets))

    def markdown(self, title: str, secrets: Iterable[str] = ()) -> str:
        """For an issue or a job summary: what differs, and the plan that would undo it."""
        if not self.drifted:
            text = f"### {escape_html(title)}\n\n{escape_html(self.headline)}\n"
            return redact(text, tuple(secrets))
        outside = [r for r in self.resources if r.outside_terraform]
        lines = [escape_html(self.headline), ""]
        if outside:
            lines.append("Changed outside Terraform: "
                         + ", ".join(code(r.address) for r in outside) + ".")
            lines.append("")
        body = render_markdown(self.summary, title=title)
        heading, _, rest = body.partition("\n")
        return redact("\n".join([heading, "", *lines]) + rest, tuple(secrets))

    def as_json(self, secrets: Iterable[str] = ()) -> dict[str, Any]:
        data = {
            "environment": self.environment,
            "drifted": self.drifted,
            "headline": self.headline,
            "resources": [{"address": r.address, "type": r.type, "action": r.action,
                           "outside_terraform": r.outside_terraform,
                           "changes": [dataclasses.asdict(c) for c in r.changes]}
                          for r in self.resources],
            "summary": {"add": self.summary.add, "change": self.summary.change,
                        "destroy": self.summary.destroy},
            "fingerprint": self.fingerprint,
        }
        scrubbed: dict[str, Any] = json.loads(redact(json.dumps(data), tuple(
            json.dumps(s)[1:-1] for s in secrets)))
        return scrubbed


def drift_report(shown: Mapping[str, Any], *, environment: str) -> DriftReport:
    """The drift a plan (`terraform show -json` of a plan against the stored state) shows."""
    summary = summarize_plan(shown)
    outside = {str(d.get("address")) for d in shown.get("resource_drift") or ()
               if (d.get("change") or {}).get("actions") not in (None, ["no-op"])}
    resources = tuple(
        DriftedResource(r.address, r.type, r.action, r.address in outside, r.attributes)
        for r in summary.resources if r.mode == "managed")
    return DriftReport(environment, resources, summary)


def detect_drift(generation: Generation, *, workdir: Path, env: Mapping[str, str],
                 environment: str, secrets: tuple[str, ...] = ()) -> DriftReport:
    """Write the generated Terraform into `workdir` (where the state of its applies is), plan
    against that state into a plan of its own, and report what differs."""
    write_generated(workdir, generation.files)
    init(workdir, env=env, secrets=secrets)
    plan_file = Path(workdir) / DRIFT_PLAN_FILE
    try:
        plan(workdir, plan_file=plan_file, env=env, secrets=secrets)
        shown = show_json(plan_file, workdir=workdir, env=env)
    finally:
        # A drift plan is for reading, never for applying.
        plan_file.unlink(missing_ok=True)
        digest_path(plan_file).unlink(missing_ok=True)
    return drift_report(shown, environment=environment)
