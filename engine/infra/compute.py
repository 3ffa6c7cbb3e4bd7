"""The Terraform of a project's services: the provider's compute module (an identity per
service and what runs it), each service's image variable, and each capability module's
`service_grants`: exactly the permissions of the operations that service's code performs."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from infrar.engine.config import ServiceConfig, Target
from infrar.engine.diagnostics import EngineError
from infrar.engine.infra import hcl
from infrar.engine.infra.catalog import Compute, ProviderPlugin, Service
from infrar.engine.infra.inventory import Inventory, build_inventory
from infrar.engine.naming import Naming
from infrar.engine.services import ServiceUses

MODULE = "compute"
RUNS_LOCALLY = "runs locally (`infrar run`)"
DIGEST = r"^[^@\s]+@sha256:[0-9a-f]{64}$"


@dataclass(frozen=True)
class ServiceRights:
    """One service, and the resources it uses with the permissions its operations need."""

    config: ServiceConfig
    inventory: Inventory


def service_rights(services: dict[str, ServiceUses], *, plugin: ProviderPlugin,
                   naming: Naming) -> dict[str, ServiceRights]:
    return {name: ServiceRights(found.service, build_inventory(found.uses, plugin=plugin,
                                                               naming=naming))
            for name, found in sorted(services.items())}


def image_variable(name: str) -> str:
    return f"{name}_image"


def image_variables(rights: dict[str, ServiceRights]) -> list[dict[str, Any]]:
    """`<service>_image`: the digest reference deploys set; empty until the first push, when
    only the service's identity and repository exist."""
    found = []
    for name in rights:
        ref = f"var.{image_variable(name)}"
        found.append({
            "name": image_variable(name), "type": "string", "has_default": True, "default": "",
            "description": (f"The image of the {name} service, by digest "
                            "(registry/repository@sha256:...); empty: not deployed yet."),
            "sensitive": False,
            "validation": {"condition": f'{ref} == "" || can(regex({hcl.string(DIGEST)}, {ref}))',
                           "message": "The image must be a digest reference: "
                                      "registry/repository@sha256:<64 hex digits>."},
        })
    return found


def compute_variables(compute: Compute) -> list[tuple[str, Any, str, str]]:
    """(root variable, default, type, description) of the module's settings."""
    return [(f"{MODULE}_{v.name}", v.value, v.type, v.description)
            for v in compute.defaults.values()]


def compute_block(plugin: ProviderPlugin, rights: dict[str, ServiceRights],
                  services: list[Service]) -> str:
    compute = _compute(plugin)
    entries = {name: {
        "kind": r.config.kind,
        "image": hcl.Expr(f"var.{image_variable(name)}"),
        "port": r.config.port,
        "health": r.config.health,
        "public": r.config.kind == "http" and r.config.public,
        "schedule": _schedule(name, r.config, compute.schedule_format),
    } for name, r in rights.items()}
    environment = {variable: hcl.Expr(f"module.{s.capability}.{output}")
                   for s in services for variable, output in sorted(s.environment.items())}
    inputs = [(name, hcl.Expr(f"var.{source}")) for name, source in sorted(compute.inputs.items())]
    inputs += [(name, hcl.Expr(f"var.{MODULE}_{name}")) for name in sorted(compute.defaults)]
    return hcl.block(f'module "{MODULE}"', [
        [("source", f"./modules/{compute.module_name}")],
        [("services", entries)],
        [("environment_variables", dict(sorted(environment.items())) or hcl.Expr("{}"))],
        inputs,
    ])


def grants(plugin: ProviderPlugin, service: Service, rights: dict[str, ServiceRights]
           ) -> dict[str, Any]:
    """`service_grants` of one capability module: each service that uses the capability, its
    identity and, per resource it touches, the permissions of what it does there."""
    compute = _compute(plugin)
    found: dict[str, Any] = {}
    for name, r in rights.items():
        resources = {res.key: list(res.permissions) for res in r.inventory.resources
                     if res.capability == service.capability}
        if resources:
            found[name] = {
                "principal": hcl.Expr(f'module.{MODULE}.{compute.principal}["{name}"]'),
                "resources": resources,
            }
    return found


def compute_outputs(plugin: ProviderPlugin) -> str:
    compute = _compute(plugin)
    blocks = [
        hcl.block(f'output "services_{name}"', [[
            ("description", description),
            ("value", hcl.Expr(f"module.{MODULE}.{name}")),
        ]])
        for name, description in sorted(compute.outputs.items())
    ]
    return "\n".join(blocks)


def _schedule(name: str, service: ServiceConfig, style: str) -> str:
    if not service.schedule:
        return ""
    try:
        return schedule_expression(service.schedule, style)
    except EngineError as exc:
        raise EngineError(f"services.{name}.schedule: {exc}") from None


def schedule_expression(cron: str, style: str) -> str:
    """A five-field cron expression (UTC) as the provider's scheduler wants it."""
    if style == "cron":
        return cron
    minute, hour, day, month, weekday = cron.split()
    if day != "*" and weekday != "*":
        raise EngineError(f"schedule {cron!r}: EventBridge cannot run on both a day of the month "
                          "and a day of the week; give one of them as *")
    if weekday == "*":
        return f"{minute} {hour} {day} {month} ? *"
    return f"{minute} {hour} ? {month} {_aws_weekdays(weekday)} *"


def _aws_weekdays(field: str) -> str:
    """cron numbers Sunday 0 (or 7) to Saturday 6; EventBridge numbers them 1 to 7."""
    def day(text: str) -> str:
        return str(int(text) % 7 + 1) if text.isdigit() else text

    parts = []
    for item in field.split(","):
        step = ""
        if "/" in item:
            item, step = item.split("/", 1)
            step = f"/{step}"
        if "-" in item:
            low, high = item.split("-", 1)
            if high == "7" and not step:  # up to Sunday: Saturday is 7 there, Sunday 1
                parts.append(f"{day(low)}-7,1" if low != "0" else "*")
            else:
                parts.append(f"{day(low)}-{day(high)}{step}")
        else:
            parts.append(f"{day(item) if item != '*' else '*'}{step}")
    return ",".join(parts)


def _compute(plugin: ProviderPlugin) -> Compute:
    if plugin.compute is None:
        raise EngineError(f"provider {plugin.name!r} runs no services (it has no compute/)")
    return plugin.compute


def rights_markdown(rights: dict[str, ServiceRights],
                    images: Mapping[str, str] | None = None) -> str:
    """The services and what each one is granted, as a Markdown table for a review; with
    `images` (service -> what it runs), an Image column too."""
    image = "| Image " if images is not None else ""
    lines = [f"| Service | Runs as {image}| Resource | Operations | Permissions |",
             "| --- | --- " + ("| --- " if images is not None else "") + "| --- | --- | --- |"]
    for name, r in rights.items():
        kind = r.config.kind + (", public" if r.config.kind == "http" and r.config.public else "")
        if r.config.schedule:
            kind += f", `{r.config.schedule}`"
        lead = f"| {_cell(name)} | {_cell(kind)} |"
        if images is not None:
            lead += f" {_cell(images.get(name, ''))} |"
        resources = r.inventory.resources
        if not resources:
            lines.append(f"{lead} nothing | | |")
        for res in resources:
            permissions = ", ".join(f"`{p}`" for p in res.permissions) or "none"
            lines.append(f"{lead} {_cell(res.kind)} `{_cell(res.key)}` | "
                         f"{_cell(', '.join(res.operations))} | {_cell(permissions)} |")
    return "\n".join(lines) + "\n"


def services_review(rights: dict[str, ServiceRights], *, provider: str, deployed: bool) -> str:
    """The review's services section: each service, its image and what it is granted.
    `deployed`: the provider runs the services (a cloud); otherwise `infrar run` does."""
    if not rights:
        return ""
    image = built_at_apply(provider) if deployed else RUNS_LOCALLY
    note = ("Each service runs as its own identity holding exactly these permissions."
            if deployed else "On `local` the services are local processes: the operations "
            "come from each service's code, as on a cloud, but no identity restricts them.")
    return ("#### Services\n\n" + rights_markdown(rights, {n: image for n in rights})
            + "\n" + note + "\n")


def built_at_apply(provider: str) -> str:
    """The Image cell of a service not deployed yet."""
    return f"built at apply from the {provider} tree, deployed by digest"


def with_deployed(review: str, *, provider: str, images: Mapping[str, str]) -> str:
    """The services section with the image each deployed service runs (service -> reference
    by digest) in place of what its next apply builds."""
    built = f" | {built_at_apply(provider)} |"
    lines = review.splitlines(keepends=True)
    for index, line in enumerate(lines):
        for name, reference in images.items():
            if line.startswith(f"| {_cell(name)} |") and built in line:
                lines[index] = line.replace(built, f" | `{_cell(reference)}` |", 1)
    return "".join(lines)


def rights_from_code(paths: list[Path], target: Target) -> dict[str, ServiceRights]:
    """Each service's resources and operations, found in its own code, on any provider (the
    generation holds them only where the provider runs services)."""
    from infrar.engine.infra.catalog import load_plugin
    from infrar.engine.pipeline import run_pipeline
    from infrar.engine.services import service_uses

    if not target.config.services:
        return {}
    found = run_pipeline(paths, config=target.config, targets={}, build=False)
    return service_rights(service_uses(target.config, found.scan, roots=paths),
                          plugin=load_plugin(target.provider), naming=target.naming)


def _cell(text: str) -> str:
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")
