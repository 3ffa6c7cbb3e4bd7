"""Assemble the native code a module needs: imports, hoisted blocks and call expressions.

Shared by the transformer (which writes it into user modules) and the SDK runtime (which
executes it), so both run the very same native code.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from infrar.engine.capabilities import Capability, load_capability
from infrar.engine.rules import Block, ImportSpec, RuleSet
from infrar.engine.templates import render

NAME_PREFIX = "_infrar_"


@dataclass
class Assembly:
    """Grows as operations and symbols are required; renders deterministically."""

    rules: dict[str, RuleSet]
    taken: set[str]
    prefix_imports: bool = False
    """Prefix every import binding, for modules whose star imports may bind any public name."""
    names: dict[str, str] = field(default_factory=dict)
    imports: dict[ImportSpec, str] = field(default_factory=dict)
    order: list[tuple[str, Block]] = field(default_factory=list)
    _seen: set[tuple[str, str]] = field(default_factory=set)

    def capability(self, name: str) -> Capability:
        return load_capability(name)

    def require_symbol(self, capability: str, symbol: str) -> str:
        """The module-level name standing for the SDK class `symbol`."""
        block = self.capability(capability).symbol_blocks[symbol]
        self._require_block(capability, block)
        return self.names[symbol]

    def render_call(self, capability: str, operation: str, args: dict[str, str],
                    given: set[str]) -> str:
        op = self.rules[capability].operations[operation]
        context = self._context(capability, op.needs, op.imports)
        context.update(args)
        context["given"] = frozenset(given)
        return render(op.expression, context).strip()

    def requirements(self) -> list[str]:
        used = {cap for cap, _ in self._seen}
        return sorted({req for cap in used for req in self.rules[cap].requirements})

    def import_statements(self) -> list[str]:
        return [spec.statement(bound) for spec, bound in self.imports.items()]

    def block_sources(self, *, skip_symbols: bool = False) -> list[str]:
        out = []
        for capability, block in self.order:
            symbols = self.capability(capability).symbol_blocks
            if skip_symbols and block.defines and all(d in symbols for d in block.defines):
                continue
            context = self._context(capability, (block.name,), block.imports)
            out.append(render(block.code, context).strip() + "\n")
        return out

    def symbol_names(self) -> dict[str, str]:
        """SDK class -> allocated name, for the classes allocated so far."""
        classes = {c for cap, _ in self._seen for c in self.capability(cap).classes}
        return {sym: self.names[sym] for sym in classes if sym in self.names}

    def _context(self, capability: str, needs: tuple[str, ...],
                 imports: tuple[ImportSpec, ...]) -> dict[str, Any]:
        for need in needs:
            self._require_block(capability, need)
        context: dict[str, Any] = dict(self.names)
        context["names"] = dict(self.names)
        errors = dict(self.rules[capability].errors) if capability in self.rules else {}
        context["errors"] = errors
        for spec in imports:
            context[spec.binding] = self.bind_import(spec)
        return context

    def _require_block(self, capability: str, name: str) -> None:
        if (capability, name) in self._seen:
            return
        self._seen.add((capability, name))
        block = self._find_block(capability, name)
        for need in block.needs:
            self._require_block(capability, need)
        for spec in block.imports:
            self.bind_import(spec)
        for define in block.defines:
            self.names.setdefault(define, self._allocate(NAME_PREFIX + define))
        self.order.append((capability, block))

    def _find_block(self, capability: str, name: str) -> Block:
        portable = self.capability(capability).blocks
        if name in portable:
            return portable[name]
        return self.rules[capability].blocks[name]

    def bind_import(self, spec: ImportSpec) -> str:
        if spec not in self.imports:
            wanted = spec.binding
            if wanted in self.taken or self.prefix_imports:
                wanted = NAME_PREFIX + wanted
            self.imports[spec] = self._allocate(wanted)
        return self.imports[spec]

    def _allocate(self, wanted: str) -> str:
        candidate, n = wanted, 1
        while candidate in self.taken:
            n += 1
            candidate = f"{wanted}_{n}"
        self.taken.add(candidate)
        return candidate
