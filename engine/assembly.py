"""Assemble the native code of one capability for one provider: imports, blocks, expressions.

Shared by the generated native module (which a transformed tree carries) and the SDK runtime
(which executes the same source), so both run the very same native code.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from infrar.engine.capabilities import Capability
from infrar.engine.rules import Block, ImportSpec, RuleSet
from infrar.engine.templates import render

HELPER_PREFIX = "_"


@dataclass
class Assembly:
    """Grows as operations and symbols are required; renders deterministically.

    The SDK's public classes keep their own names; every other name a block defines is
    private to the module (`_s3_client`), so it can never collide with a public name."""

    capability: Capability
    rules: RuleSet
    taken: set[str]
    names: dict[str, str] = field(default_factory=dict)
    imports: dict[ImportSpec, str] = field(default_factory=dict)
    order: list[Block] = field(default_factory=list)
    _seen: set[str] = field(default_factory=set)

    def require_symbol(self, symbol: str) -> str:
        """The module-level name standing for the SDK class `symbol`."""
        self._require_block(self.capability.symbol_blocks[symbol])
        return self.names[symbol]

    def render_call(self, operation: str, args: dict[str, str], given: set[str]) -> str:
        op = self.rules.operations[operation]
        context = self._context(op.needs, op.imports)
        context.update(args)
        context["given"] = frozenset(given)
        return render(op.expression, context).strip()

    def import_statements(self) -> list[str]:
        return [spec.statement(bound) for spec, bound in self.imports.items()]

    def symbol_blocks(self) -> list[Block]:
        """The blocks that define the SDK's public classes."""
        public = set(self.capability.classes)
        return [b for b in self.order if b.defines and set(b.defines) <= public]

    def render_block(self, block: Block) -> str:
        context = self._context((block.name,), block.imports)
        return render(block.code, context).strip() + "\n"

    def _context(self, needs: tuple[str, ...], imports: tuple[ImportSpec, ...]) -> dict[str, Any]:
        for need in needs:
            self._require_block(need)
        context: dict[str, Any] = dict(self.names)
        context["names"] = dict(self.names)
        context["errors"] = dict(self.rules.errors)
        for spec in imports:
            context[spec.binding] = self.bind_import(spec)
        return context

    def _require_block(self, name: str) -> None:
        if name in self._seen:
            return
        self._seen.add(name)
        block = self._find_block(name)
        for need in block.needs:
            self._require_block(need)
        for spec in block.imports:
            self.bind_import(spec)
        for define in block.defines:
            if define in self.capability.classes:
                self.names.setdefault(define, define)
            else:
                self.names.setdefault(define, self._allocate(HELPER_PREFIX + define))
        self.order.append(block)

    def _find_block(self, name: str) -> Block:
        portable = self.capability.blocks
        return portable[name] if name in portable else self.rules.blocks[name]

    def bind_import(self, spec: ImportSpec) -> str:
        if spec not in self.imports:
            self.imports[spec] = self._allocate(spec.binding)
        return self.imports[spec]

    def _allocate(self, wanted: str) -> str:
        candidate, n = wanted, 1
        while candidate in self.taken:
            n += 1
            candidate = f"{wanted}_{n}"
        self.taken.add(candidate)
        return candidate
