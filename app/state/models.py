"""Tables. Times are UNIX seconds (floats), the same on SQLite and PostgreSQL."""

from __future__ import annotations

from sqlalchemy import BigInteger, Boolean, Float, Integer, LargeBinary, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


class Delivery(Base):
    """One accepted webhook delivery; its row is the durable record the queue works from."""

    __tablename__ = "deliveries"
    id: Mapped[str] = mapped_column(String(100), primary_key=True)
    event: Mapped[str] = mapped_column(String(100))
    action: Mapped[str | None] = mapped_column(String(100))
    subject: Mapped[str | None] = mapped_column(String(300), index=True)
    payload: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20), index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    received_at: Mapped[float] = mapped_column(Float)
    enqueued_at: Mapped[float | None] = mapped_column(Float)
    heartbeat_at: Mapped[float | None] = mapped_column(Float)
    finished_at: Mapped[float | None] = mapped_column(Float)
    error: Mapped[str | None] = mapped_column(Text)


class JobLease(Base):
    """At most one job at a time per subject (a pull request), so steps never interleave."""

    __tablename__ = "job_leases"
    subject: Mapped[str] = mapped_column(String(300), primary_key=True)
    delivery_id: Mapped[str] = mapped_column(String(100))
    heartbeat_at: Mapped[float] = mapped_column(Float)


class Installation(Base):
    __tablename__ = "installations"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    account: Mapped[str] = mapped_column(String(200))
    account_type: Mapped[str] = mapped_column(String(50))
    suspended: Mapped[bool] = mapped_column(Boolean, default=False)
    updated_at: Mapped[float] = mapped_column(Float)


class InstallationRepo(Base):
    __tablename__ = "installation_repos"
    installation_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    full_name: Mapped[str] = mapped_column(String(300), primary_key=True)


class Plan(Base):
    """A saved plan: the Terraform directory and plan file, archived, plus its digest."""

    __tablename__ = "plans"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    repo: Mapped[str] = mapped_column(String(300), index=True)
    pr: Mapped[int] = mapped_column(Integer)
    project: Mapped[str] = mapped_column(String(200), default="")
    """The project's key: empty for a repository's root `.infrar.yaml`."""
    project_name: Mapped[str] = mapped_column(String(200), default="")
    """The project's name, as `-p` takes it (the root project's may differ from its key)."""
    environment: Mapped[str] = mapped_column(String(200))
    provider: Mapped[str] = mapped_column(String(100))
    head_sha: Mapped[str] = mapped_column(String(64))
    digest: Mapped[str] = mapped_column(String(64))
    archive: Mapped[bytes] = mapped_column(LargeBinary)
    headline: Mapped[str] = mapped_column(Text)
    has_changes: Mapped[bool] = mapped_column(Boolean)
    status: Mapped[str] = mapped_column(String(20))
    delivery_id: Mapped[str] = mapped_column(String(100))
    reviewed: Mapped[bool] = mapped_column(Boolean, default=False)
    requirements: Mapped[str] = mapped_column(Text, default="")
    """Apply requirements (comma-separated), the stricter of the base and head configuration."""
    apply_on_merge: Mapped[bool] = mapped_column(Boolean, default=False)
    policy_failures: Mapped[int] = mapped_column(Integer, default=0)
    """Failed policy checks of this plan; above zero, apply waits for a policy owner."""
    policy_owners: Mapped[str] = mapped_column(Text, default="")
    """Who may approve failed policies (comma-separated logins and `org/team`s)."""
    cost: Mapped[str] = mapped_column(Text, default="")
    """The plan's estimated monthly cost as the review shows it; empty when unknown."""
    created_at: Mapped[float] = mapped_column(Float)
    applied_at: Mapped[float | None] = mapped_column(Float)


class Lock(Base):
    __tablename__ = "locks"
    repo: Mapped[str] = mapped_column(String(300), primary_key=True)
    project: Mapped[str] = mapped_column(String(200), primary_key=True, default="")
    environment: Mapped[str] = mapped_column(String(200), primary_key=True)
    pr: Mapped[int] = mapped_column(Integer)
    holder: Mapped[str] = mapped_column(String(200))
    url: Mapped[str] = mapped_column(Text)
    acquired_at: Mapped[float] = mapped_column(Float)


class PolicyApproval(Base):
    """A policy owner's approval of one plan's failed policies, bound to the plan's digest."""

    __tablename__ = "policy_approvals"
    plan_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    digest: Mapped[str] = mapped_column(String(64), primary_key=True)
    login: Mapped[str] = mapped_column(String(200))
    approved_at: Mapped[float] = mapped_column(Float)


class Credential(Base):
    __tablename__ = "credentials"
    repo: Mapped[str] = mapped_column(String(300), primary_key=True)
    environment: Mapped[str] = mapped_column(String(200), primary_key=True)
    name: Mapped[str] = mapped_column(String(200), primary_key=True)
    sealed: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[float] = mapped_column(Float)


class TerraformState(Base):
    """Local-backend state kept between runs (remote backends keep their own)."""

    __tablename__ = "terraform_states"
    repo: Mapped[str] = mapped_column(String(300), primary_key=True)
    environment: Mapped[str] = mapped_column(String(200), primary_key=True)
    state: Mapped[bytes] = mapped_column(LargeBinary)
    updated_at: Mapped[float] = mapped_column(Float)

# Tables of their own modules, registered here so that create_schema makes them everywhere.
from infrar.app.state import audit, drift, images, job_output  # noqa: E402, F401
