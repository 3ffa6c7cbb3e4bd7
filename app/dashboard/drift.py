"""Drift status, as the App's drift rounds record it (app/state/drift.py): per project and
environment, the schedule, when it was last checked and what was found. Where the App has no
drift tracking (or its table is not there yet), the dashboard says so instead of failing."""

from __future__ import annotations

import datetime as dt
import importlib
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from infrar.app.state.db import Database

COLUMNS = ["project", "environment", "schedule", "last_checked", "outcome"]


def status(db: Database, repo: str) -> dict[str, Any]:
    untracked: dict[str, Any] = {"tracked": False, "columns": COLUMNS, "rows": []}
    try:
        state = importlib.import_module("infrar.app.state.drift")
    except ImportError:
        return untracked
    model = getattr(state, "DriftWatch", None)
    if model is None:
        return untracked
    try:
        with db.session() as s:
            found = list(s.execute(select(model).where(model.repo == repo)
                                   .order_by(model.project, model.environment)).scalars())
    except SQLAlchemyError:
        return untracked
    rows = [{"project": w.project or "—", "environment": w.environment,
             "schedule": w.schedule or "—", "last_checked": _when(w.checked_at),
             "outcome": ("checking now" if w.holder else w.outcome or "not checked yet")}
            for w in found]
    return {"tracked": True, "columns": COLUMNS, "rows": rows}


def _when(moment: float | None) -> str:
    if moment is None:
        return "never"
    stamp = dt.datetime.fromtimestamp(moment, dt.timezone.utc)
    return stamp.strftime("%Y-%m-%d %H:%M UTC")
