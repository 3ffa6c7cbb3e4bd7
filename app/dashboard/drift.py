"""Drift status, where the App records it (a `drift*` table with a `repo` column); when no
such table exists, the dashboard says drift is not tracked instead of failing."""

from __future__ import annotations

from typing import Any

from sqlalchemy import MetaData, Table, inspect, select

from infrar.app.state.db import Database

MAX_ROWS = 50
# Columns never shown, whatever the table holds.
_HIDDEN = ("sealed", "archive", "secret", "token", "password", "key", "output", "plan", "state")


def status(db: Database, repo: str) -> dict[str, Any]:
    table = _table(db)
    if table is None:
        return {"tracked": False, "rows": []}
    shown = [c for c in table.columns if _visible(c.name) and c.name != "repo"
             and c.type.python_type in (str, int, float, bool)]
    query = select(*shown).where(table.c.repo == repo).limit(MAX_ROWS)
    with db.session() as s:
        rows = [dict(r._mapping) for r in s.execute(query)]
    return {"tracked": True, "columns": [c.name for c in shown], "rows": rows}


def _visible(name: str) -> bool:
    lowered = name.lower()
    return lowered == "state_of" or not any(word in lowered for word in _HIDDEN)


def _table(db: Database) -> Table | None:
    names = sorted(n for n in inspect(db.engine).get_table_names() if n.startswith("drift"))
    for name in names:
        table = Table(name, MetaData(), autoload_with=db.engine)
        if "repo" in table.c:
            return table
    return None
