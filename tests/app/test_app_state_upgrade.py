"""A database made by the first App release (before projects, policies and costs) is brought up
to date when the App starts, on SQLite and on PostgreSQL: its plans keep their rows and get the
new columns' defaults, its locks table is rebuilt with `project` in its key and keeps the locks
held, its sealed plans still open, new tables appear, and the App reads and writes all of it.
A second start changes nothing; a change the upgrade cannot make refuses to start and alters
nothing, and the App's commands say why in one line."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from sqlalchemy import (
    Boolean,
    Column,
    Float,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    create_engine,
    inspect,
    text,
)

from infrar.app.crypto import Vault
from infrar.app.state import locks, plans
from infrar.app.state.db import Database, normalise_url
from infrar.app.state.models import Base
from infrar.app.state.upgrade import SchemaUpgradeError, upgrade


def first_release_schema() -> MetaData:
    """`plans` and `locks` as the first App release made them (its other tables are unchanged)."""
    metadata = MetaData()
    Table("plans", metadata,
          Column("id", Integer, primary_key=True, autoincrement=True),
          Column("repo", String(300), index=True, nullable=False),
          Column("pr", Integer, nullable=False),
          Column("environment", String(200), nullable=False),
          Column("provider", String(100), nullable=False),
          Column("head_sha", String(64), nullable=False),
          Column("digest", String(64), nullable=False),
          Column("archive", LargeBinary, nullable=False),
          Column("headline", Text, nullable=False),
          Column("has_changes", Boolean, nullable=False),
          Column("status", String(20), nullable=False),
          Column("delivery_id", String(100), nullable=False),
          Column("reviewed", Boolean, nullable=False),
          Column("requirements", Text, nullable=False),
          Column("apply_on_merge", Boolean, nullable=False),
          Column("created_at", Float, nullable=False),
          Column("applied_at", Float))
    Table("locks", metadata,
          Column("repo", String(300), primary_key=True),
          Column("environment", String(200), primary_key=True),
          Column("pr", Integer, nullable=False),
          Column("holder", String(200), nullable=False),
          Column("url", Text, nullable=False),
          Column("acquired_at", Float, nullable=False))
    return metadata


VAULT = Vault((b"k" * 32,))
ARCHIVE = b"the plan archive the first release sealed"
# How the first release bound a plan's archive to its record (repo, pr, environment, head,
# digest): a plan it made must still open, so that its pull request can still be applied.
FIRST_RELEASE_CONTEXT = "infrar-plan\0acme/photos\x007\0production\0abc\0d1"


def old_database(url: str) -> None:
    engine = create_engine(normalise_url(url))
    first_release_schema().create_all(engine)
    with engine.begin() as connection:
        connection.execute(text(
            "INSERT INTO plans (repo, pr, environment, provider, head_sha, digest, archive, "
            "headline, has_changes, status, delivery_id, reviewed, requirements, "
            "apply_on_merge, created_at) VALUES ('acme/photos', 7, 'production', 'local', "
            "'abc', 'd1', :archive, 'Plan: 1 to add', true, 'planned', 'del-1', true, "
            "'approved', true, 1.5)"),
            {"archive": VAULT.seal_bytes(ARCHIVE, context=FIRST_RELEASE_CONTEXT)})
        connection.execute(text(
            "INSERT INTO locks (repo, environment, pr, holder, url, acquired_at) VALUES "
            "('acme/photos', 'production', 7, 'octocat', 'https://github.com/x/7', 2.5)"))
    engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'infrar.db'}"
    return str(request.getfixturevalue("postgres_url"))


def test_a_first_release_database_is_upgraded_keeping_its_rows(database_url: str) -> None:
    old_database(database_url)
    db = Database(database_url)
    done = upgrade(db.engine, Base.metadata)

    assert "plans: column project added" in done and "plans: column cost added" in done
    assert any(line.startswith("locks: rebuilt with the primary key (repo, project, "
                               "environment)") for line in done)
    inspector = inspect(db.engine)
    assert {"policy_approvals", "audit_log", "deployed_images"} <= set(inspector.get_table_names())
    assert not any(name.endswith("_before_upgrade") for name in inspector.get_table_names())
    with db.engine.connect() as connection:
        plan = connection.execute(text(
            "SELECT repo, pr, project, project_name, policy_failures, policy_owners, cost, "
            "requirements FROM plans")).one()
        lock = connection.execute(text("SELECT repo, project, environment, pr, holder "
                                       "FROM locks")).one()
    assert tuple(plan) == ("acme/photos", 7, "", "", 0, "", "", "approved")
    assert tuple(lock) == ("acme/photos", "", "production", 7, "octocat")
    stored = plans.latest(db, repo="acme/photos", pr=7, environment="production")
    assert stored is not None and plans.archive_of(VAULT, stored) == ARCHIVE

    # The App reads the lock as its own, and the new key takes a project's lock beside it.
    held = locks.acquire(db, repo="acme/photos", project="", environment="production", pr=8,
                         holder="someone", url="u")
    assert held is not None and held.pr == 7
    assert locks.acquire(db, repo="acme/photos", project="api", environment="production",
                         pr=8, holder="someone", url="u") is None
    assert upgrade(db.engine, Base.metadata) == []  # the second start has nothing to do
    db.dispose()


def test_two_processes_starting_at_once_upgrade_once(database_url: str) -> None:
    old_database(database_url)
    results: list[list[str]] = []
    errors: list[BaseException] = []

    def start() -> None:
        db = Database(database_url)
        try:
            results.append(upgrade(db.engine, Base.metadata))
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            db.dispose()

    threads = [threading.Thread(target=start) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert sorted(len(r) > 0 for r in results) == [False, True]


def test_a_change_it_cannot_make_refuses_and_alters_nothing(database_url: str) -> None:
    old_database(database_url)
    engine = create_engine(normalise_url(database_url))
    with engine.begin() as connection:
        connection.execute(text("ALTER TABLE plans ADD COLUMN retired TEXT"))
    engine.dispose()
    db = Database(database_url)
    with pytest.raises(SchemaUpgradeError, match=r"plans has column\(s\) retired"):
        db.create_schema()
    columns = {c["name"] for c in inspect(db.engine).get_columns("plans")}
    assert "retired" in columns and "project" not in columns
    assert "policy_approvals" not in inspect(db.engine).get_table_names()
    # Tables looked at before the refusal were changed in the same transaction, rolled back.
    key = inspect(db.engine).get_pk_constraint("locks")["constrained_columns"]
    assert sorted(key) == ["environment", "repo"]
    with db.engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM locks")).scalar() == 1
    db.dispose()


def test_the_apps_commands_refuse_such_a_database_in_one_line(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'infrar.db'}"
    old_database(url)
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(text("ALTER TABLE plans ADD COLUMN retired TEXT"))
    engine.dispose()
    env = {**os.environ, "INFRAR_DATABASE_URL": url, "INFRAR_DATA_DIR": str(tmp_path / "data"),
           "INFRAR_WEBHOOK_SECRET": "s", "INFRAR_ENCRYPTION_KEY": "a2" * 21 + "s="}
    done = subprocess.run([sys.executable, "-c", "from infrar.cli.main import main; main()",
                           "app", "drift-check"], env=env, capture_output=True, text=True,
                          timeout=120, check=False)
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr
    assert ("Error: the App's database cannot be used: the database's table plans has "
            "column(s) retired") in done.stderr
