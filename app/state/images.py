"""The images a deploy left running: per repository, project and environment, each service's
image reference by digest. They are digests, not secrets, so they are kept plain. The App's
next plan of that environment sets them again, as `infrar plan` keeps
`infrar-images.auto.tfvars.json`: a plan from fresh Terraform would otherwise remove what runs
the services."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import TYPE_CHECKING

from sqlalchemy import Float, String, Text, delete, select
from sqlalchemy.orm import Mapped, mapped_column

from infrar.app.state.models import Base

if TYPE_CHECKING:  # db imports models, which imports this module
    from infrar.app.state.db import Database


class DeployedImage(Base):
    __tablename__ = "deployed_images"
    repo: Mapped[str] = mapped_column(String(300), primary_key=True)
    project: Mapped[str] = mapped_column(String(200), primary_key=True, default="")
    environment: Mapped[str] = mapped_column(String(200), primary_key=True)
    service: Mapped[str] = mapped_column(String(200), primary_key=True)
    reference: Mapped[str] = mapped_column(Text)
    """registry/repository@sha256:<digest>"""
    deployed_at: Mapped[float] = mapped_column(Float)


def record(db: Database, *, repo: str, project: str, environment: str,
           images: Mapping[str, str]) -> None:
    """The environment now runs exactly `images` (service -> reference): what an earlier
    deploy kept for other services is dropped."""
    at = time.time()
    with db.session() as s:
        s.execute(delete(DeployedImage).where(
            DeployedImage.repo == repo, DeployedImage.project == project,
            DeployedImage.environment == environment))
        for service, reference in sorted(images.items()):
            s.add(DeployedImage(repo=repo, project=project, environment=environment,
                                service=service, reference=reference, deployed_at=at))


def deployed(db: Database, *, repo: str, project: str, environment: str) -> dict[str, str]:
    """Service -> the reference its last deploy left running (empty: never deployed)."""
    with db.session() as s:
        rows = s.execute(select(DeployedImage.service, DeployedImage.reference).where(
            DeployedImage.repo == repo, DeployedImage.project == project,
            DeployedImage.environment == environment)).all()
    return {service: reference for service, reference in rows}
