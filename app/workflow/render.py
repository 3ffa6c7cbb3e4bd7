"""Markdown for reviews, comments and check runs. No secrets reach here: plan summaries are
already redacted by the engine, and nothing else carries credentials."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from infrar.app.state.locks import Holder
from infrar.engine.diagnostics import Diagnostic
from infrar.engine.terraform import PlanSummary, render_markdown
from infrar.engine.terraform.markdown import code, escape_html, fence
from infrar.engine.transform import Rewrite

HELP = """\
**Infrar commands** (comment on the pull request):

| command | what it does |
| --- | --- |
| `/infrar plan [-e ENV]` | transform, generate and plan again (all environments, or ENV) |
| `/infrar apply [-e ENV]` | apply the plan reviewed for the current head |
| `/infrar unlock [-e ENV]` | release this pull request's locks |
| `/infrar help` | this message |

`-e`/`--environment` picks an environment from `.infrar.yaml`. Planning and applying need \
write access to the repository; applying also needs the environment's `apply_requirements`.
"""


@dataclass
class EnvironmentOutcome:
    name: str
    provider: str
    summary: PlanSummary | None = None
    cost: str | None = None
    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    locked_by: Holder | None = None
    apply_on_merge: bool = False
    requirements: tuple[str, ...] = ()
    plan_id: int | None = None

    @property
    def ok(self) -> bool:
        return self.summary is not None and not self.problems and self.locked_by is None


def short(sha: str) -> str:
    return sha[:7]


def environment_section(outcome: EnvironmentOutcome) -> str:
    title = f"{outcome.name} ({outcome.provider})"
    if outcome.locked_by is not None:
        holder = outcome.locked_by
        return (f"### {escape_html(title)}\n\n:lock: Locked by [#{holder.pr}]({holder.url}) "
                f"({code(holder.holder)}). It is released when that pull request is merged or "
                "closed, or with `/infrar unlock` there.\n")
    if outcome.summary is None:
        return (f"### {escape_html(title)}\n\nNo plan.\n\n"
                + problems_block([*outcome.problems, *outcome.warnings]))
    text = render_markdown(outcome.summary, title=title, cost=outcome.cost,
                           diagnostics=[*outcome.problems, *outcome.warnings])
    how = ("It is applied when this pull request is merged, or with "
           if outcome.apply_on_merge else "Apply it with ")
    needs = (f" Apply requirements: {', '.join(outcome.requirements)}."
             if outcome.requirements else "")
    return text + f"\n{how}`/infrar apply -e {outcome.name}`.{needs}\n"


def problems_block(problems: Sequence[str]) -> str:
    if not problems:
        return ""
    return "\n".join(["**Problems**", "", *fence([p for p in problems], info="text")]) + "\n"


def diagnostics_lines(diagnostics: Sequence[Diagnostic]) -> list[str]:
    return [str(d) for d in diagnostics]


def rewrite_comment(rewrite: Rewrite, provider: str) -> str:
    return "\n".join([f"Infrar points this {rewrite.operation} at the generated native package "
                      f"(**{escape_html(provider)}**):", "",
                      *fence(rewrite.after.splitlines() or [""], info="python")])


def rewrites_list(entries: Sequence[tuple[str, Rewrite]], provider: str) -> str:
    if not entries:
        return ""
    lines = [f"<details><summary>Other rewritten imports ({len(entries)})</summary>", ""]
    for path, rewrite in entries:
        lines += [f"{code(f'{path}:{rewrite.line}')} {code(rewrite.operation)} on {provider}:",
                  "", *fence(rewrite.after.splitlines() or [""], info="python"), ""]
    return "\n".join(lines + ["</details>"]) + "\n"


def review_body(*, head_sha: str, branch: str, branch_url: str, commit_sha: str | None,
                rewritten: int, provider: str, outcomes: Sequence[EnvironmentOutcome],
                extra: str = "", diagnostics: Sequence[str] = ()) -> str:
    lines = [f"## Infrar plan for {code(short(head_sha))}", ""]
    if commit_sha:
        lines.append(f"Bot branch [{code(branch)}]({branch_url}) at {code(short(commit_sha))}: "
                     f"{rewritten} file(s) rewritten, the native tree of each provider "
                     f"(**{escape_html(provider)}**) under {code('.infrar/build/')}, "
                     "plus the generated Terraform.")
    else:
        lines.append("Nothing was committed or planned.")
    body = "\n".join(lines) + "\n\n"
    if diagnostics:
        body += "**Diagnostics**\n\n" + "\n".join(fence(list(diagnostics), info="text")) + "\n\n"
    body += "\n".join(environment_section(o) for o in outcomes)
    return body + ("\n" + extra if extra else "")


def check_summary(outcomes: Sequence[EnvironmentOutcome], diagnostics: Sequence[str]) -> str:
    lines = []
    for o in outcomes:
        if o.locked_by is not None:
            state = f"locked by #{o.locked_by.pr}"
        elif o.summary is not None:
            state = o.summary.headline
        else:
            state = "not planned"
        lines.append(f"- **{escape_html(o.name)}**: {escape_html(state)}")
    if diagnostics:
        lines.append(f"- {len(diagnostics)} diagnostic(s)")
    return "\n".join(lines) or "Nothing to plan."
