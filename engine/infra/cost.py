"""Estimate the monthly cost of a plan from the provider's pricing-metadata.yaml.

Only fixed monthly prices are counted; usage (storage per GB, requests) depends on traffic the
plan cannot know, so each priced type carries notes saying what is billed on top.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from infrar.engine.infra.catalog import Pricing

_EXISTS_AFTER = {"create", "update", "no-op", "read"}
_EXISTS_BEFORE = {"update", "no-op", "delete", "read"}


@dataclass(frozen=True)
class CostLine:
    type: str
    count: int
    monthly_each: float
    notes: str

    @property
    def monthly(self) -> float:
        return self.count * self.monthly_each


@dataclass(frozen=True)
class CostEstimate:
    currency: str
    as_of: str
    lines: tuple[CostLine, ...]
    before: float
    after: float
    unpriced: tuple[str, ...]

    @property
    def delta(self) -> float:
        return self.after - self.before

    @property
    def headline(self) -> str:
        """The estimate under its own label: "Estimated monthly cost: 2.00 USD; ..."."""
        return f"Estimated monthly cost: {self._amount()}{self._basis()}"

    @property
    def brief(self) -> str:
        """The estimate without a label, for a report that labels it ("Estimated cost: ...")."""
        return f"{self._amount(' a month')}{self._basis()}"

    def _amount(self, period: str = "") -> str:
        text = _money(self.after, self.currency) + period
        if self.delta:
            sign = "+" if self.delta > 0 else "-"
            text += f" ({sign}{_money(abs(self.delta), self.currency)} with this plan)"
        return text

    def _basis(self) -> str:
        text = f"; fixed prices as of {self.as_of}, usage billed on top"
        if self.unpriced:
            text += f"; no price data for {', '.join(self.unpriced)}"
        return text


def cost_json(cost: CostEstimate) -> dict[str, Any]:
    """The estimate as `infrar plan --json` reports it; amounts are per month."""
    return {
        "text": cost.headline, "currency": cost.currency, "prices_as_of": cost.as_of,
        "monthly": float(cost.after), "monthly_before": float(cost.before),
        "delta": round(cost.delta, 2),
        "lines": [{"type": line.type, "count": line.count, "monthly_each": line.monthly_each,
                   "monthly": round(line.monthly, 2), "notes": line.notes}
                  for line in cost.lines],
        "unpriced": list(cost.unpriced),
    }


def estimate(plan: Mapping[str, Any], pricing: Pricing) -> CostEstimate:
    """Cost of the managed resources that exist before and after the plan."""
    before: Counter[str] = Counter()
    after: Counter[str] = Counter()
    for change in plan.get("resource_changes") or ():
        if change.get("mode", "managed") != "managed":
            continue
        actions = set((change.get("change") or {}).get("actions") or ("no-op",))
        resource_type = str(change.get("type", "?"))
        # A replacement (delete + create) counts on both sides.
        if actions & _EXISTS_BEFORE:
            before[resource_type] += 1
        if actions & _EXISTS_AFTER:
            after[resource_type] += 1
    lines = tuple(
        CostLine(t, n, pricing.resources[t].monthly, pricing.resources[t].notes)
        for t, n in sorted(after.items()) if t in pricing.resources
    )
    unpriced = tuple(sorted(t for t in after.keys() | before.keys() if t not in pricing.resources))
    return CostEstimate(
        currency=pricing.currency, as_of=pricing.as_of, lines=lines,
        before=_total(before, pricing), after=_total(after, pricing), unpriced=unpriced,
    )


def _total(counts: Counter[str], pricing: Pricing) -> float:
    return round(sum(pricing.resources[t].monthly * n for t, n in counts.items()
                     if t in pricing.resources), 2)


def _money(amount: float, currency: str) -> str:
    return f"{amount:,.2f} {currency}"


def render_cost(cost: CostEstimate) -> str:
    lines = [cost.headline]
    for line in cost.lines:
        notes = f" ({line.notes})" if line.notes else ""
        lines.append(f"  {line.count} x {line.type} at {_money(line.monthly_each, cost.currency)}"
                     f" = {_money(line.monthly, cost.currency)}{notes}")
    return "\n".join(lines) + "\n"
