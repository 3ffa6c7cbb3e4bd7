"""Bring a database an earlier Infrar made up to the models, at start, keeping its rows.

What the models add is added: tables (`create_all`), columns (filled with their default in the
rows already there), and primary-key columns (the table is rebuilt with its rows, as SQLite
cannot change a key in place). All of it in one transaction, so a failure leaves the database
as it was. Nothing is dropped, renamed or retyped here: such a change needs a migration of its
own, and until one is written the App refuses to start, naming the table and column.
"""

from __future__ import annotations

import logging

from sqlalchemy import Column, MetaData, Table, inspect, literal, text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError

log = logging.getLogger(__name__)

_UPGRADE_LOCK = 0x696E66726172  # PostgreSQL advisory lock: one process upgrades at a time


class SchemaUpgradeError(RuntimeError):
    pass


def upgrade(engine: Engine, metadata: MetaData) -> list[str]:
    """Upgrade in place; what was done, one line per change (none for an up-to-date or new
    database). Two processes starting at once: one upgrades, the other finds it done."""
    for attempt in (1, 2):
        try:
            with engine.begin() as connection:
                if connection.dialect.name == "postgresql":
                    connection.execute(text("SELECT pg_advisory_xact_lock(:key)"),
                                       {"key": _UPGRADE_LOCK})
                elif connection.dialect.name == "sqlite":
                    # Python's sqlite3 runs DDL outside any transaction unless one is open:
                    # open it, taking the write lock before looking, as PostgreSQL's lock does.
                    connection.exec_driver_sql("BEGIN IMMEDIATE")
                done = _upgrade(connection, metadata)
                metadata.create_all(connection)
        except DBAPIError:
            if attempt == 2:
                raise
            continue  # another process changed the schema as this one looked; look again
        for line in done:
            log.info("database upgraded: %s", line)
        return done
    return []


def _upgrade(connection: Connection, metadata: MetaData) -> list[str]:
    inspector = inspect(connection)
    existing = set(inspector.get_table_names())
    done: list[str] = []
    for table in metadata.sorted_tables:
        if table.name not in existing:
            continue  # create_all makes it whole
        columns = {c["name"] for c in inspector.get_columns(table.name)}
        key = set(inspector.get_pk_constraint(table.name)["constrained_columns"] or ())
        _refuse_removed(table, columns)
        missing = [c for c in table.columns if c.name not in columns]
        if {c.name for c in table.primary_key.columns} != key:
            _rebuild(connection, table, sorted(columns))
            done.append(f"{table.name}: rebuilt with the primary key "
                        f"({', '.join(c.name for c in table.primary_key.columns)})")
        else:
            for column in missing:
                _add_column(connection, table, column)
                done.append(f"{table.name}: column {column.name} added")
    return done


def _refuse_removed(table: Table, columns: set[str]) -> None:
    gone = sorted(columns - {c.name for c in table.columns})
    if gone:
        raise SchemaUpgradeError(
            f"the database's table {table.name} has column(s) {', '.join(gone)} that this "
            "version of Infrar no longer has; it cannot drop them by itself (see "
            "docs/github-app.md#upgrading)")


def _add_column(connection: Connection, table: Table, column: Column[object]) -> None:
    dialect = connection.dialect
    quote = dialect.identifier_preparer.quote
    definition = f"{quote(column.name)} {column.type.compile(dialect=dialect)}"
    default = _default_sql(connection, column)
    if default is not None:
        definition += f" DEFAULT {default}"
    if not column.nullable:
        if default is None:
            raise SchemaUpgradeError(
                f"column {table.name}.{column.name} is required and has no default, so rows "
                "already in the table cannot be given one; it needs a migration of its own")
        definition += " NOT NULL"
    connection.execute(text(f"ALTER TABLE {quote(table.name)} ADD COLUMN {definition}"))


def _rebuild(connection: Connection, table: Table, kept: list[str]) -> None:
    """The table made anew from the model, its rows copied over (new columns get their
    defaults), through a plain copy of the old one, so index names never collide."""
    quote = connection.dialect.identifier_preparer.quote
    name, copy = quote(table.name), quote(f"{table.name}_before_upgrade")
    connection.execute(text(f"CREATE TABLE {copy} AS SELECT * FROM {name}"))
    connection.execute(text(f"DROP TABLE {name}"))
    table.create(connection)
    added = [c for c in table.columns if c.name not in kept]
    targets = [quote(c) for c in kept] + [quote(c.name) for c in added]
    values = [quote(c) for c in kept] + [_default_sql(connection, c) or "NULL" for c in added]
    connection.execute(text(f"INSERT INTO {name} ({', '.join(targets)}) "
                            f"SELECT {', '.join(values)} FROM {copy}"))
    connection.execute(text(f"DROP TABLE {copy}"))


def _default_sql(connection: Connection, column: Column[object]) -> str | None:
    """The column's scalar default as an SQL literal, or None when it has none."""
    default = column.default
    if default is None or not getattr(default, "is_scalar", False):
        return None
    value = getattr(default, "arg", None)
    compiled = literal(value, type_=column.type).compile(
        dialect=connection.dialect, compile_kwargs={"literal_binds": True})
    return str(compiled)
