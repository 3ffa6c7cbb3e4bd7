"""Build the SDK's backend for one provider from the same rules the transformer uses."""

from __future__ import annotations

import inspect
import linecache
from collections.abc import Callable
from typing import Any

from infrar.engine.assembly import Assembly
from infrar.engine.capabilities import load_capability
from infrar.engine.plugins import load_rules


def build_runtime(capability: str, provider: str) -> dict[str, Callable[..., Any]]:
    """Operation name -> a function running the provider's native code."""
    cap = load_capability(capability)
    rules = load_rules(provider, capability)
    params = {p for op in cap.functions for p in cap.signature(op).parameters}
    assembly = Assembly(rules={capability: rules}, taken=set(params) | set(cap.functions))
    functions = []
    for op in cap.functions:
        signature = _plain_signature(cap.signature(op))
        args = {name: name for name in signature.parameters}
        expression = assembly.render_call(capability, op, args, set(args))
        functions.append(f"def {op}{signature}:\n    return {expression}\n")
    for symbol in cap.symbol_blocks:
        assembly.require_symbol(capability, symbol)
    source = "\n".join(
        [*assembly.import_statements(), "", *assembly.block_sources(skip_symbols=True), *functions]
    )
    filename = f"<infrar native code: {provider} {capability}>"
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    namespace: dict[str, Any] = {"__name__": f"infrar.native.{provider}.{capability}"}
    for symbol, bound in assembly.symbol_names().items():
        namespace[bound] = cap.classes[symbol]
    exec(compile(source, filename, "exec"), namespace)  # noqa: S102 - rules are trusted plugin code
    return {op: namespace[op] for op in cap.functions}


def _plain_signature(signature: inspect.Signature) -> inspect.Signature:
    empty = inspect.Parameter.empty
    params = [p.replace(annotation=empty) for p in signature.parameters.values()]
    return signature.replace(parameters=params, return_annotation=empty)
