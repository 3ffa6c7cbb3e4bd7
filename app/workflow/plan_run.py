"""Plan a pull request: check out, find the projects (every folder with its own .infrar.yaml),
choose the ones to plan (those the pull request touches, or the ones asked for), transform and
generate each, commit to the bot branch, push, plan every project and environment in parallel
(bounded by INFRAR_PLAN_WORKERS), check each plan's policies, post one review, complete the
check runs.

Used by the pull_request events (autoplan) and by `/infrar plan`. `key` (the delivery id) makes
every post idempotent, so a job retried after a crash neither repeats nor loses anything. A
repository whose only project is its root `.infrar.yaml` is planned, reviewed and checked as
before projects existed.
"""

from __future__ import annotations

import contextvars
import dataclasses
import logging
import shutil
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from infrar.app.github.client import Annotation, GitHubClient, PullInfo
from infrar.app.github.publish import publish_comment, publish_review
from infrar.app.logs import scrub
from infrar.app.state import credentials, images, job_output, locks, plans, tfstate
from infrar.app.workflow import checks, deployed_images, gitops, render
from infrar.app.workflow.generation import Generated, GenerationUnavailable, load_generator
from infrar.app.workflow.inline import inline_comments
from infrar.app.workflow.router import Context
from infrar.app.workflow.safety import (
    configured_outside,
    fresh_dir,
    repository_relative,
    symlinks_outside,
)
from infrar.app.workflow.terraform_step import PlannedArchive, plan_directory, scratch
from infrar.app.workflow.transform_step import BUILD_DIR, TreeTransform, transform_tree
from infrar.engine import policy, projects
from infrar.engine.config import (
    CONFIG_FILE,
    ConfigError,
    Target,
    load_config,
    resolve_target,
)
from infrar.engine.diagnostics import Diagnostic, EngineError
from infrar.engine.files import write_tree
from infrar.engine.infra.compute import with_deployed
from infrar.engine.pipeline import build_files
from infrar.engine.projects import Project

log = logging.getLogger(__name__)

GENERATED_DIR = ".infrar/terraform"
CHECKOUT_DIR = "src"
MAX_CONFIG_BYTES = projects.MAX_CONFIG_BYTES
MAX_LISTED_FILES = 3000
"""GitHub lists at most this many files of a pull request; past it every project is planned."""
PROJECT_CHECK_PREFIX = "infrar/"


@dataclass(frozen=True)
class Request:
    pr: PullInfo
    key: str
    environments: tuple[str, ...] = ()  # empty: every environment
    requested_by: str = ""
    projects: tuple[str, ...] = ()  # empty: the projects the pull request touches


@dataclass
class ProjectRun:
    """One project's part of a plan job."""

    project: Project
    directory: Path
    single: bool
    """The repository's only project, at its root: reviewed and checked as before projects."""
    providers: str = ""
    tree: TreeTransform = field(default_factory=TreeTransform)
    outcomes: dict[str, render.EnvironmentOutcome] = field(default_factory=dict)
    generated: dict[str, Generated] = field(default_factory=dict)
    check: int | None = None

    @property
    def name(self) -> str:
        return "" if self.single else self.project.name

    @property
    def prefix(self) -> str:
        """Its folder as a repository path prefix (`""` at the root)."""
        return "" if self.project.at_root else self.project.folder.as_posix() + "/"

    @property
    def generated_ok(self) -> bool:
        return (self.tree.ok and len(self.generated) == len(self.outcomes)
                and not any(g.errors for g in self.generated.values()))


def run_plan(ctx: Context, request: Request) -> bool:
    gh, pr = ctx.github, request.pr
    check = checks.start(gh, pr.head_sha, external_id=f"plan:{request.key}",
                         title="Planning")
    root = scratch(ctx.work_dir, "plan-")
    try:
        return _plan(ctx, gh, request, check, root)
    except Exception as exc:
        # Shown until the retry (which reuses this check run) completes it again.
        shown = repository_relative(f"{type(exc).__name__}: {exc}", root / CHECKOUT_DIR, root)
        checks.complete(gh, check, ok=False, title="Infrar hit an error; retrying",
                        summary=scrub(shown)[:2000])
        raise
    finally:
        shutil.rmtree(root, ignore_errors=True)


def _plan(ctx: Context, gh: GitHubClient, request: Request, check: int, root: Path) -> bool:
    pr = request.pr
    # The base branch comes in the same fetch, for its configuration (`_base_settings`).
    work = gitops.checkout(url=ctx.payload["repository"]["clone_url"], sha=pr.head_sha,
                           dest=root / CHECKOUT_DIR, token=ctx.token(), branch=pr.base_ref)
    found = _config(ctx, gh, request, check, work.root)
    if found is None:
        return False
    if any(p.config.policy.checkov or p.config.policy.custom for p in found):
        policy.warm_server()  # checkov's start-up overlaps transform, generation and Terraform
    single = len(found) == 1 and found[0].at_root
    escapes = symlinks_outside(work.root)
    for project in found:
        escapes += configured_outside(
            project.directory(work.root), project.config,
            shown=project.config_file.as_posix(),
            where="the repository" if project.at_root else "the project's folder")
    if escapes:
        message = ("Infrar reads only what is inside the repository, and these lead outside it:"
                   "\n\n" + render.problems_block(escapes))
        publish_comment(gh, pr.number, key=f"config:{request.key}", body=message)
        checks.complete(gh, check, ok=False, title="Paths outside the repository",
                        summary=message)
        return False
    chosen = _chosen(ctx, gh, request, check, found, work.root)
    if chosen is None:
        return False
    runs = _environments(ctx, gh, request, check,
                         [ProjectRun(p, p.directory(work.root), single) for p in chosen])
    if runs is None:
        return False
    if not runs:
        names = ", ".join(f"`{p.name}`" for p in found)
        checks.complete(gh, check, ok=True, conclusion="neutral", title="No project touched",
                        summary=f"This pull request touches none of the projects ({names}); "
                                "nothing was planned. Plan one with `/infrar plan -p NAME`.")
        return True
    for run in runs:
        _transform_and_generate(ctx, request, work, run, root)
        if single and not run.tree.ok:
            return _refuse_transform(ctx, gh, request, check, run.tree, run.providers,
                                     work.root)
    branch = f"{ctx.runtime.settings.bot_branch_prefix}{pr.number}"
    commit = None
    ready = [r for r in runs if r.generated_ok]
    if ready and (not single or len(ready) == len(runs)):
        commit = gitops.commit_all(work, message=f"infrar: native code and Terraform for "
                                                 f"{render.short(pr.head_sha)}",
                                   generated=tuple(f"{r.prefix}{d}" for r in runs if r.tree.ok
                                                   for d in (BUILD_DIR, GENERATED_DIR)))
        _push_while_planning(ctx, request, work, branch, ready, root)
    for run in runs:
        for outcome in run.outcomes.values():
            # Generators and Terraform name files by where they ran: the reader knows the
            # repository.
            outcome.problems = [repository_relative(p, work.root, root) for p in outcome.problems]
            outcome.warnings = [repository_relative(w, work.root, root) for w in outcome.warnings]
            if outcome.policy_error is not None:
                outcome.policy_error = repository_relative(outcome.policy_error, work.root, root)
    if single:
        run = runs[0]
        return _report(ctx, gh, request, check, run.tree, run.providers, branch, commit,
                       list(run.outcomes.values()), _generation_annotations(run))
    skipped = [p.name for p in found if p not in chosen]
    return _report_projects(ctx, gh, request, check, runs, branch, commit, skipped, work.root)


def _config(ctx: Context, gh: GitHubClient, request: Request, check: int,
            root: Path) -> list[Project] | None:
    """The repository's projects; None (with the check completed) when there is none, or a
    configuration is invalid."""
    try:
        found = projects.discover(root)
        if found:
            return found
        checks.complete(gh, check, ok=True, conclusion="neutral", title="No .infrar.yaml",
                        summary=f"This repository has no `{CONFIG_FILE}`; Infrar has nothing "
                                "to do. See the configuration reference to enable it.")
        return None
    except ConfigError as exc:
        problems = [repository_relative(p, root) for p in exc.problems]
        details = [dataclasses.replace(p, path=repository_relative(p.path, root))
                   for p in exc.details]
    body = (f"`{CONFIG_FILE}` is invalid, so nothing was transformed, committed or planned:\n\n"
            + render.problems_block(problems))
    publish_comment(gh, request.pr.number, key=f"config:{request.key}", body=body)
    checks.complete(gh, check, ok=False, title=f"Invalid {CONFIG_FILE}", summary=body,
                    annotations=checks.annotations_for_config(details))
    return None


def _chosen(ctx: Context, gh: GitHubClient, request: Request, check: int,
            found: list[Project], root: Path) -> list[Project] | None:
    """The projects to plan: the ones asked for, else those the pull request touches (a
    repository's only project is always planned)."""
    if request.projects:
        unknown = [n for n in request.projects if projects.by_name(found, n) is None]
        if unknown:
            message = (f"Unknown project {', '.join(f'`{n}`' for n in unknown)}; this "
                       f"repository has {', '.join(f'`{p.name}`' for p in found)}.")
            publish_comment(gh, request.pr.number, key=f"plan:{request.key}", body=message)
            checks.complete(gh, check, ok=False, title="Unknown project", summary=message)
            return None
        return [p for p in found if p.name in request.projects]
    if len(found) == 1:
        return found
    files = gh.pull_files(request.pr.number)
    if len(files) >= MAX_LISTED_FILES:
        return found
    touched = projects.touched(found, [f.filename for f in files], root)
    log.info("%s#%d touches %d of %d project(s)", ctx.repo, request.pr.number, len(touched),
             len(found))
    return touched


def _environments(ctx: Context, gh: GitHubClient, request: Request, check: int,
                  runs: list[ProjectRun]) -> list[ProjectRun] | None:
    """Each run with the environments to plan (the ones asked for that it has); None, with a
    comment, when no project has an environment asked for."""
    kept = []
    for run in runs:
        names = list(run.project.config.environments) or ["default"]
        chosen = [n for n in names if not request.environments or n in request.environments]
        if chosen:
            run.outcomes = {n: render.EnvironmentOutcome(name=n, provider="") for n in chosen}
            kept.append(run)
    if runs and not kept:
        defined = "; ".join(
            f"{'`' + r.project.name + '`: ' if not r.single else ''}"
            + ", ".join(list(r.project.config.environments) or ["default"]) for r in runs)
        message = (f"Unknown environment {', '.join(request.environments)}; `.infrar.yaml` "
                   f"defines {defined}.")
        publish_comment(gh, request.pr.number, key=f"plan:{request.key}", body=message)
        checks.complete(gh, check, ok=False, title="Unknown environment", summary=message)
        return None
    return kept


def _transform_and_generate(ctx: Context, request: Request, work: gitops.Checkout,
                            run: ProjectRun, root: Path) -> None:
    config = run.project.config
    names = list(config.environments) or ["default"]
    every = {n: resolve_target(config, environment=n if config.environments else None)
             for n in names}
    run.providers = ", ".join(sorted({t.provider for t in every.values()}))
    if not run.single:
        run.check = _start_project_check(ctx.github, run, request)
    run.tree = transform_tree(run.directory, config=config, targets=every)
    log.info("transform of %s#%d (%s): %d SDK file(s)", ctx.repo, request.pr.number,
             run.project.name, len(run.tree.result.files))
    if not run.tree.ok:
        return
    targets = {n: every[n] for n in run.outcomes}
    run.outcomes, run.generated = _generate(ctx, run.directory, targets, prefix=run.prefix)
    strict = _base_settings(ctx, work, request.pr.base_ref, root, run.project)
    for name, outcome in run.outcomes.items():
        outcome.project = run.name
        requirements, owners = strict.get(name, ((), None))
        outcome.requirements = tuple(sorted({*outcome.requirements, *requirements}))
        env = config.environments.get(name)
        outcome.policy_owners = owners if owners is not None else (
            tuple(env.policy_owners) if env else ())
    # Only generated files may stand there: anything committed under it is replaced.
    write_tree(fresh_dir(run.directory, BUILD_DIR), build_files(run.tree.builds))


def _start_project_check(gh: GitHubClient, run: ProjectRun, request: Request) -> int:
    """The project's own check run (`infrar/<project>`), found again when a job is retried."""
    name = PROJECT_CHECK_PREFIX + run.project.name
    external_id = f"plan:{request.key}:{run.project.name}"
    head = request.pr.head_sha
    found = gh.find_check_run(head, name=name, external_id=external_id)
    if found is not None:
        return found
    return gh.start_check_run(head, name=name, external_id=external_id, title="Planning")


def _refuse_transform(ctx: Context, gh: GitHubClient, request: Request, check: int,
                      tree: TreeTransform, provider: str, checkout: Path) -> bool:
    problems = [repository_relative(e, checkout) for e in tree.errors]
    problems += render.diagnostics_lines(tree.diagnostics)
    body = render.review_body(head_sha=request.pr.head_sha, branch="", branch_url="",
                              commit_sha=None, rewritten=0, provider=provider, outcomes=[],
                              diagnostics=problems)
    publish_review(gh, request.pr.number, key=request.key, head_sha=request.pr.head_sha,
                   body=body, comments=[])
    checks.complete(gh, check, ok=False, title="Code cannot be transformed",
                    summary=f"{len(problems)} problem(s); nothing was committed or planned.",
                    text=body, annotations=checks.annotations_for(tree.diagnostics))
    return False


def _generate(ctx: Context, root: Path, targets: dict[str, Target], *, prefix: str
              ) -> tuple[dict[str, render.EnvironmentOutcome], dict[str, Generated]]:
    outcomes: dict[str, render.EnvironmentOutcome] = {}
    generated: dict[str, Generated] = {}
    # Only generated files may be planned: anything committed there is dropped, not run.
    fresh_dir(root, GENERATED_DIR)
    for name, target in targets.items():
        env = target.config.environments.get(name)
        outcome = render.EnvironmentOutcome(
            name=name, provider=target.provider,
            apply_on_merge=bool(env and env.apply_on_merge),
            requirements=tuple(env.apply_requirements) if env else ())
        out_dir = root / GENERATED_DIR / name
        try:
            generated[name] = load_generator().generate(
                source_root=root, target=target, out_dir=out_dir,
                cache_root=ctx.runtime.settings.data_dir)
            for diagnostic in generated[name].diagnostics:
                shown = str(_in_repository(diagnostic, prefix))
                (outcome.problems if diagnostic.severity == "error" else outcome.warnings
                 ).append(shown)
            outcome.services = generated[name].services
        except (GenerationUnavailable, EngineError) as exc:
            outcome.problems.append(str(exc))
        outcomes[name] = outcome
    return outcomes, generated


def _in_repository(diagnostic: Diagnostic, prefix: str) -> Diagnostic:
    """A generation diagnostic (its path relative to the project) with its repository path."""
    if Path(diagnostic.path).is_absolute():
        return diagnostic
    return dataclasses.replace(diagnostic, path=prefix + diagnostic.path)


def _generation_annotations(run: ProjectRun) -> list[Annotation]:
    """Generation's diagnostics on their lines, once however many environments found them."""
    found = dict.fromkeys(_in_repository(d, run.prefix) for g in run.generated.values()
                          for d in g.diagnostics)
    return checks.annotations_for([d for d in found if not Path(d.path).is_absolute()])


def _push_while_planning(ctx: Context, request: Request, work: gitops.Checkout, branch: str,
                         runs: list[ProjectRun], root: Path) -> None:
    """Push the bot branch while Terraform plans (the plans need nothing from the push); the
    review waits for both, and a failed push fails the job as it did when it came first."""
    token = ctx.token()
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="push") as pusher:
        pushed = pusher.submit(contextvars.copy_context().run, gitops.push_branch, work,
                               branch=branch, token=token)
        _plan_all(ctx, request, runs, root)
    pushed.result()


def _plan_all(ctx: Context, request: Request, runs: list[ProjectRun], root: Path) -> None:
    """Plan every environment of every run, at most INFRAR_PLAN_WORKERS at once."""
    tasks = [(run, outcome) for run in runs for outcome in run.outcomes.values()]
    workers = max(1, min(ctx.runtime.settings.plan_workers, len(tasks)))
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="plan") as pool:
        futures = [pool.submit(contextvars.copy_context().run, _plan_environment, ctx,
                               request, run, outcome, root)
                   for run, outcome in tasks]
        for future in futures:
            future.result()


def _plan_environment(ctx: Context, request: Request, run: ProjectRun,
                      outcome: render.EnvironmentOutcome, root: Path) -> None:
    rt, pr, key = ctx.runtime, request.pr, run.project.key
    generated = run.generated[outcome.name]
    holder = locks.acquire(rt.db, repo=ctx.repo, project=key, environment=outcome.name,
                           pr=pr.number, holder=request.requested_by or pr.author,
                           url=pr.html_url)
    if holder is not None:
        outcome.locked_by = holder
        return
    if not rt.vault.can_seal:
        outcome.problems.append("the App has no encryption key (INFRAR_ENCRYPTION_KEY), so it "
                                "cannot store plans or Terraform state; ask its operator")
        return
    secrets = credentials.environment_for(rt.db, rt.vault, repo=ctx.repo,
                                          environment=outcome.name)
    scope = plans.state_environment(key, outcome.name)
    generated_dir = run.directory / GENERATED_DIR / outcome.name
    running = deployed_images.keep(generated_dir, images.deployed(
        rt.db, repo=ctx.repo, project=key, environment=outcome.name))
    outcome.services = with_deployed(outcome.services, provider=outcome.provider, images=running)
    try:
        planned = plan_directory(
            generated_dir,
            workdir=root / "tf" / (f"{key}/{outcome.name}" if key else outcome.name),
            state=tfstate.load(rt.db, rt.vault, repo=ctx.repo, environment=scope),
            env={**generated.terraform_env, **secrets}, secrets=list(secrets.values()),
            cost_of=generated.cost_of,
            on_output=job_output.recorder(rt.db, rt.vault, job_id=ctx.job.id, stream=scope),
            init_cache=rt.init_cache)
    except Exception as exc:  # noqa: BLE001 - Terraform's own (redacted) words go to the PR
        outcome.problems.append(str(exc))
        return
    outcome.summary, outcome.cost = planned.summary, planned.cost
    _check_policies(run, outcome, planned)
    outcome.plan_id = plans.save(
        rt.db, rt.vault, repo=ctx.repo, pr=pr.number, project=key,
        project_name=run.project.name, environment=outcome.name,
        provider=outcome.provider, head_sha=pr.head_sha, digest=planned.digest,
        archive=planned.archive, headline=planned.summary.headline,
        has_changes=planned.has_changes, delivery_id=ctx.job.id,
        requirements=outcome.requirements, apply_on_merge=outcome.apply_on_merge,
        policy_failures=outcome.policy_failures, policy_owners=outcome.policy_owners,
        cost=outcome.cost or "")


def _check_policies(run: ProjectRun, outcome: render.EnvironmentOutcome,
                    planned: PlannedArchive) -> None:
    """A plan that changes nothing has nothing to check; any other is checked, and one whose
    policies cannot be checked counts as failing them."""
    if not planned.has_changes:
        return
    try:
        outcome.policy = policy.check_plan(planned.shown, config=run.project.config,
                                           project_root=run.directory)
    except policy.PolicyError as exc:
        outcome.policy_error = str(exc)


def _base_settings(ctx: Context, work: gitops.Checkout, base_ref: str, root: Path,
                   project: Project) -> dict[str, tuple[tuple[str, ...], tuple[str, ...]]]:
    """Apply requirements and policy owners of the base branch's configuration: a pull request
    can add requirements but never drop the ones already merged, nor name its own policy
    owners where the base branch names them."""
    path = project.config_file.as_posix()
    data = gitops.file_at_branch(work, branch=base_ref, path=path)
    if data is None or len(data) > MAX_CONFIG_BYTES:
        return {}
    copy = root / "base" / (project.key or "root") / CONFIG_FILE
    copy.parent.mkdir(parents=True, exist_ok=True)
    copy.write_bytes(data)
    try:
        base = load_config(copy)
    except ConfigError:
        return {}
    return {name: (tuple(env.apply_requirements), tuple(env.policy_owners))
            for name, env in base.environments.items()}


def _report(ctx: Context, gh: GitHubClient, request: Request, check: int, tree: TreeTransform,
            provider: str, branch: str, commit: str | None,
            outcomes: list[render.EnvironmentOutcome],
            generation: list[Annotation]) -> bool:
    pr = request.pr
    comments, leftover = inline_comments(gh, pr.number, [("", tree, provider)])
    repo_url = ctx.payload["repository"].get("html_url", "")
    body = render.review_body(
        head_sha=pr.head_sha, branch=branch, branch_url=f"{repo_url}/tree/{branch}",
        commit_sha=commit, rewritten=len(tree.changed), provider=provider, outcomes=outcomes,
        extra=render.rewrites_list(leftover, provider))
    publish_review(gh, pr.number, key=request.key, head_sha=pr.head_sha, body=body,
                   comments=comments)
    plans.mark_reviewed(ctx.runtime.db, [o.plan_id for o in outcomes if o.plan_id is not None])
    ok = bool(outcomes) and all(o.ok for o in outcomes)
    checks.complete(gh, check, ok=ok, title="Plan ready" if ok else "Plan incomplete",
                    summary=render.check_summary(outcomes, []), text=body,
                    annotations=[*checks.annotations_for(tree.diagnostics), *generation,
                                 *_policy_annotations("", outcomes)])
    return ok


def _report_projects(ctx: Context, gh: GitHubClient, request: Request, check: int,
                     runs: list[ProjectRun], branch: str, commit: str | None,
                     skipped: list[str], checkout: Path) -> bool:
    pr = request.pr
    comments, leftover = inline_comments(gh, pr.number,
                                         [(r.prefix, r.tree, r.providers) for r in runs])
    repo_url = ctx.payload["repository"].get("html_url", "")
    sections = [_project_section(r, checkout) for r in runs]
    body = render.projects_review_body(
        head_sha=pr.head_sha, branch=branch, branch_url=f"{repo_url}/tree/{branch}",
        commit_sha=commit, sections=sections, skipped=skipped,
        extra=render.rewrites_list(leftover, ", ".join(sorted({r.providers for r in runs}))))
    publish_review(gh, pr.number, key=request.key, head_sha=pr.head_sha, body=body,
                   comments=comments)
    outcomes = [o for r in runs for o in r.outcomes.values()]
    plans.mark_reviewed(ctx.runtime.db, [o.plan_id for o in outcomes if o.plan_id is not None])
    every_ok = True
    for run, section in zip(runs, sections, strict=True):
        ok = run.tree.ok and bool(run.outcomes) and all(o.ok for o in run.outcomes.values())
        every_ok = every_ok and ok
        if run.check is not None:
            checks.complete(gh, run.check, ok=ok, title="Plan ready" if ok else "Plan incomplete",
                            summary=render.check_summary(list(run.outcomes.values()), []),
                            text=section, annotations=_project_annotations(run))
    checks.complete(gh, check, ok=every_ok, title="Plan ready" if every_ok else "Plan incomplete",
                    summary=render.check_summary(outcomes, []), text=body)
    return every_ok


def _project_section(run: ProjectRun, checkout: Path) -> str:
    heading = render.project_heading(run.project.name, run.project.folder.as_posix())
    if not run.tree.ok:
        problems = [repository_relative(e, checkout) for e in run.tree.errors]
        problems += render.diagnostics_lines(run.tree.diagnostics)
        return (heading + "Its code cannot be transformed, so it was not planned.\n\n"
                + render.problems_block(problems))
    rewritten = (f"{len(run.tree.changed)} file(s) rewritten; the native tree of each provider "
                 f"(**{run.providers}**) under `{run.prefix}{BUILD_DIR}/`.\n\n")
    return heading + rewritten + "\n".join(render.environment_section(o)
                                           for o in run.outcomes.values())


def _project_annotations(run: ProjectRun) -> list[Annotation]:
    found = [dataclasses.replace(a, path=run.prefix + a.path)
             for a in checks.annotations_for(run.tree.diagnostics)]
    return (found + _generation_annotations(run)
            + _policy_annotations(run.prefix, list(run.outcomes.values())))


def _policy_annotations(prefix: str, outcomes: list[render.EnvironmentOutcome]
                        ) -> list[Annotation]:
    found = []
    for outcome in outcomes:
        if outcome.policy is None:
            continue
        for raw in outcome.policy.annotations(prefix):
            found.append(Annotation(
                path=str(raw["path"]), start_line=int(raw["start_line"]),
                end_line=int(raw["end_line"]), level=str(raw["annotation_level"]),
                message=f"{outcome.flags}: {raw['message']}", title=str(raw["title"])))
    return found

