"""Markdown for reviews, comments and check runs. No secrets reach here: plan summaries are
already redacted by the engine, and nothing else carries credentials."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from infrar.app.state.locks import Holder
from infrar.engine.diagnostics import Diagnostic
from infrar.engine.policy import PolicyResult
from infrar.engine.terraform import PlanSummary, render_markdown
from infrar.engine.terraform.markdown import code, escape_html, fence
from infrar.engine.transform import Rewrite

HELP = """\
**Infrar commands** (comment on the pull request):

| command | what it does |
| --- | --- |
| `/infrar plan [-p PROJECT] [-e ENV]` | transform, generate and plan again (the touched \
projects and all their environments, or PROJECT and ENV) |
| `/infrar apply [-p PROJECT] [-e ENV]` | apply the plan reviewed for the current head |
| `/infrar approve-policies [-p PROJECT] [-e ENV]` | accept the failed policy checks of the \
current plan (policy owners only) |
| `/infrar unlock [-p PROJECT] [-e ENV]` | release this pull request's locks |
| `/infrar help` | this message |

`-p`/`--project` picks a project (a folder with its own `.infrar.yaml`) by its name, \
`-e`/`--environment` an environment of it. Planning and applying need write access to the \
repository; applying also needs the environment's `apply_requirements`, and a plan that fails \
a policy check needs the approval of one of the environment's `policy_owners`.
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
    project: str = ""
    """The project's name where the repository has several (empty: the only, root project)."""
    policy: PolicyResult | None = None
    policy_error: str | None = None
    """Why the policies could not be checked (which then counts as a failure)."""
    policy_owners: tuple[str, ...] = ()
    services: str = ""
    """Markdown: the services, their images and the rights each one gets (empty: none)."""

    @property
    def ok(self) -> bool:
        return self.summary is not None and not self.problems and self.locked_by is None

    @property
    def policy_failures(self) -> int:
        if self.policy_error is not None:
            return 1
        return len(self.policy.failures) if self.policy is not None else 0

    @property
    def flags(self) -> str:
        """The command options that name this environment: `-p P -e E` or `-e E`."""
        return (f"-p {self.project} " if self.project else "") + f"-e {self.name}"


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
    services = "\n" + outcome.services if outcome.services else ""
    return (text + services + policy_section(outcome)
            + f"\n{how}`/infrar apply {outcome.flags}`.{needs}\n")


def policy_section(outcome: EnvironmentOutcome) -> str:
    if outcome.policy_error is not None:
        text = ("#### :x: Policy checks\n\nThe policies could not be checked, so this plan "
                "counts as failing them:\n\n" + "\n".join(
                    fence(outcome.policy_error.splitlines()[-20:], info="text")) + "\n")
    elif outcome.policy is not None:
        text = outcome.policy.markdown()
    else:
        return ""
    if outcome.policy_failures:
        owners = ", ".join(code(o) for o in outcome.policy_owners) or (
            "nobody: the environment has no `policy_owners`")
        text += (f"\nApply waits until a policy owner ({owners}) comments "
                 f"`/infrar approve-policies {outcome.flags}`.\n")
    return "\n" + text


def project_heading(name: str, folder: str) -> str:
    return f"## Project {code(name)} ({code(folder + '/')})\n\n"


def projects_review_body(*, head_sha: str, branch: str, branch_url: str,
                         commit_sha: str | None, sections: Sequence[str],
                         skipped: Sequence[str] = (), extra: str = "") -> str:
    """The review of a repository with several projects: a section per project (each with one
    per environment), and the projects this pull request does not touch."""
    lines = [f"## Infrar plan for {code(short(head_sha))}", ""]
    if commit_sha:
        lines.append(f"Bot branch [{code(branch)}]({branch_url}) at {code(short(commit_sha))}: "
                     "each project's native trees under its `.infrar/build/`, its generated "
                     "Terraform under its `.infrar/terraform/`.")
    else:
        lines.append("Nothing was committed or planned.")
    if skipped:
        lines.append("")
        lines.append("Not touched by this pull request, so not planned: "
                     + ", ".join(code(s) for s in skipped)
                     + " (plan one anyway with `/infrar plan -p NAME`).")
    body = "\n".join(lines) + "\n\n" + "\n".join(sections)
    return body + ("\n" + extra if extra else "")


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
            if o.policy_failures:
                state += f" Policies: {o.policy_failures} failed."
        else:
            state = "not planned"
        label = f"{o.project}/{o.name}" if o.project else o.name
        lines.append(f"- **{escape_html(label)}**: {escape_html(state)}")
    if diagnostics:
        lines.append(f"- {len(diagnostics)} diagnostic(s)")
    return "\n".join(lines) or "Nothing to plan."
