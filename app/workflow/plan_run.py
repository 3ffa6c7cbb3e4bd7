"""Plan a pull request: check out, read .infrar.yaml, transform, generate, commit to the bot
branch, push, plan each environment, post the review, complete the check run.

Used by the pull_request events (autoplan) and by `/infrar plan`. `key` (the delivery id) makes
every post idempotent, so a job retried after a crash neither repeats nor loses anything.
"""

from __future__ import annotations

import logging
import shutil
from dataclasses import dataclass
from pathlib import Path

from infrar.app.github.client import GitHubClient, PullInfo
from infrar.app.logs import scrub
from infrar.app.state import credentials, job_output, locks, plans, tfstate
from infrar.app.workflow import checks, gitops, render
from infrar.app.workflow.generation import Generated, GenerationUnavailable, load_generator
from infrar.app.workflow.inline import inline_comments
from infrar.app.workflow.publish import publish_comment, publish_review
from infrar.app.workflow.router import Context
from infrar.app.workflow.safety import fresh_dir, outside_paths, repository_relative
from infrar.app.workflow.terraform_step import plan_directory, scratch
from infrar.app.workflow.transform_step import BUILD_DIR, TreeTransform, transform_tree
from infrar.engine.config import (
    CONFIG_FILE,
    ConfigError,
    ProjectConfig,
    Target,
    load_config,
    resolve_target,
)
from infrar.engine.diagnostics import EngineError
from infrar.engine.files import write_tree
from infrar.engine.pipeline import build_files

log = logging.getLogger(__name__)

GENERATED_DIR = ".infrar/terraform"
CHECKOUT_DIR = "src"
MAX_CONFIG_BYTES = 256 * 1024


@dataclass(frozen=True)
class Request:
    pr: PullInfo
    key: str
    environments: tuple[str, ...] = ()  # empty: every environment
    requested_by: str = ""


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
    work = gitops.checkout(url=ctx.payload["repository"]["clone_url"], sha=pr.head_sha,
                           dest=root / CHECKOUT_DIR, token=ctx.token())
    config = _config(ctx, gh, request, check, work.root)
    if config is None:
        return False
    escapes = outside_paths(work.root, config)
    if escapes:
        message = ("Infrar reads only what is inside the repository, and these lead outside it:"
                   "\n\n" + render.problems_block(escapes))
        publish_comment(gh, pr.number, key=f"config:{request.key}", body=message)
        checks.complete(gh, check, ok=False, title="Paths outside the repository",
                        summary=message)
        return False
    names = list(config.environments) or ["default"]
    unknown = [e for e in request.environments if e not in names]
    if unknown:
        message = (f"Unknown environment {', '.join(unknown)}; `.infrar.yaml` defines "
                   f"{', '.join(names)}.")
        publish_comment(gh, pr.number, key=f"plan:{request.key}", body=message)
        checks.complete(gh, check, ok=False, title="Unknown environment", summary=message)
        return False
    chosen = [n for n in names if not request.environments or n in request.environments]
    targets = {n: resolve_target(config, environment=n if config.environments else None)
               for n in chosen}
    every = {n: resolve_target(config, environment=n if config.environments else None)
             for n in names}
    providers = ", ".join(sorted({t.provider for t in every.values()}))
    tree = transform_tree(work.root, config=config, targets=every)
    log.info("transform of %s#%d: %d SDK file(s)", ctx.repo, pr.number, len(tree.result.files))
    if not tree.ok:
        return _refuse_transform(ctx, gh, request, check, tree, providers, work.root)
    outcomes, generated = _generate(ctx, work.root, targets)
    strict = _base_requirements(ctx, work, pr.base_ref, root)
    for name, outcome in outcomes.items():
        outcome.requirements = tuple(sorted({*outcome.requirements, *strict.get(name, ())}))
    # Only generated files may stand there: anything committed under it is replaced.
    write_tree(fresh_dir(work.root, BUILD_DIR), build_files(tree.builds))
    branch = f"{ctx.runtime.settings.bot_branch_prefix}{pr.number}"
    commit = None
    if len(generated) == len(outcomes) and not any(g.errors for g in generated.values()):
        commit = gitops.commit_all(work, message=f"infrar: native code and Terraform for "
                                                 f"{render.short(pr.head_sha)}",
                                   generated=(BUILD_DIR, GENERATED_DIR))
        gitops.push_branch(work, branch=branch, token=ctx.token())
        for name, outcome in outcomes.items():
            _plan_environment(ctx, request, outcome, generated[name],
                              work.root / GENERATED_DIR / name, root)
    for outcome in outcomes.values():
        # Generators and Terraform name files by where they ran: the reader knows the repository.
        outcome.problems = [repository_relative(p, work.root, root) for p in outcome.problems]
        outcome.warnings = [repository_relative(w, work.root, root) for w in outcome.warnings]
    return _report(ctx, gh, request, check, tree, providers, branch, commit,
                   list(outcomes.values()))


def _config(ctx: Context, gh: GitHubClient, request: Request, check: int,
            root: Path) -> ProjectConfig | None:
    path = root / CONFIG_FILE
    if not path.is_file() or path.is_symlink():
        checks.complete(gh, check, ok=True, conclusion="neutral", title="No .infrar.yaml",
                        summary=f"This repository has no `{CONFIG_FILE}`; Infrar has nothing "
                                "to do. See the configuration reference to enable it.")
        return None
    try:
        if path.stat().st_size > MAX_CONFIG_BYTES:
            raise ConfigError([f"{path}:1: (document): larger than {MAX_CONFIG_BYTES} bytes"])
        return load_config(path)
    except ConfigError as exc:
        problems = [repository_relative(p, root) for p in exc.problems]
    body = (f"`{CONFIG_FILE}` is invalid, so nothing was transformed, committed or planned:\n\n"
            + render.problems_block(problems))
    publish_comment(gh, request.pr.number, key=f"config:{request.key}", body=body)
    checks.complete(gh, check, ok=False, title=f"Invalid {CONFIG_FILE}", summary=body,
                    annotations=checks.annotations_for_config(problems, config_path=CONFIG_FILE))
    return None


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


def _generate(ctx: Context, root: Path, targets: dict[str, Target]
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
            outcome.problems += generated[name].errors
            outcome.warnings += generated[name].warnings
        except (GenerationUnavailable, EngineError) as exc:
            outcome.problems.append(str(exc))
        outcomes[name] = outcome
    return outcomes, generated


def _plan_environment(ctx: Context, request: Request, outcome: render.EnvironmentOutcome,
                      generated: Generated, config_dir: Path, root: Path) -> None:
    rt, pr = ctx.runtime, request.pr
    holder = locks.acquire(rt.db, repo=ctx.repo, environment=outcome.name, pr=pr.number,
                           holder=request.requested_by or pr.author, url=pr.html_url)
    if holder is not None:
        outcome.locked_by = holder
        return
    if not rt.vault.can_seal:
        outcome.problems.append("the App has no encryption key (INFRAR_ENCRYPTION_KEY), so it "
                                "cannot store plans or Terraform state; ask its operator")
        return
    secrets = credentials.environment_for(rt.db, rt.vault, repo=ctx.repo,
                                          environment=outcome.name)
    try:
        planned = plan_directory(
            config_dir, workdir=root / "tf" / outcome.name,
            state=tfstate.load(rt.db, rt.vault, repo=ctx.repo, environment=outcome.name),
            env={**generated.terraform_env, **secrets}, secrets=list(secrets.values()),
            cost_of=generated.cost_of,
            on_output=job_output.recorder(rt.db, job_id=ctx.job.id, stream=outcome.name))
    except Exception as exc:  # noqa: BLE001 - Terraform's own (redacted) words go to the PR
        outcome.problems.append(str(exc))
        return
    outcome.summary, outcome.cost = planned.summary, planned.cost
    outcome.plan_id = plans.save(
        rt.db, rt.vault, repo=ctx.repo, pr=pr.number, environment=outcome.name,
        provider=outcome.provider, head_sha=pr.head_sha, digest=planned.digest,
        archive=planned.archive, headline=planned.summary.headline,
        has_changes=planned.has_changes, delivery_id=ctx.job.id,
        requirements=outcome.requirements, apply_on_merge=outcome.apply_on_merge)


def _base_requirements(ctx: Context, work: gitops.Checkout, base_ref: str, root: Path
                       ) -> dict[str, tuple[str, ...]]:
    """Apply requirements of the base branch's configuration: a pull request can add
    requirements but never drop the ones already merged."""
    data = gitops.file_at_branch(work, branch=base_ref, path=CONFIG_FILE, token=ctx.token())
    if data is None or len(data) > MAX_CONFIG_BYTES:
        return {}
    copy = root / "base" / CONFIG_FILE
    copy.parent.mkdir(parents=True, exist_ok=True)
    copy.write_bytes(data)
    try:
        base = load_config(copy)
    except ConfigError:
        return {}
    return {name: tuple(env.apply_requirements) for name, env in base.environments.items()}


def _report(ctx: Context, gh: GitHubClient, request: Request, check: int, tree: TreeTransform,
            provider: str, branch: str, commit: str | None,
            outcomes: list[render.EnvironmentOutcome]) -> bool:
    pr = request.pr
    comments, leftover = inline_comments(gh, pr.number, tree, provider)
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
                    annotations=checks.annotations_for(tree.diagnostics))
    return ok
