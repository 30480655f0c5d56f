"""Photos of a matter: decoded and written again, stored once by their SHA-256, shown only
to those who may see the matter."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from fengqiao.core import clock, images
from fengqiao.core.errors import Forbidden, Invalid, NotFound
from fengqiao.core.permissions import Principal
from fengqiao.matters.enums import PhotoStage
from fengqiao.matters.lifecycle import MATTER
from fengqiao.matters.models import Attachment, Matter
from fengqiao.matters.queries import read_matter, scoped_matters

STAGES = tuple(s.value for s in PhotoStage)


def add_attachment(
    session: Session,
    principal: Principal,
    matter_id: int,
    stage: str,
    content: bytes,
    files_dir: Path,
    max_bytes: int,
) -> Attachment:
    """Store a photo, decoded and written again, once by its SHA-256 and link it to the
    matter."""
    matter = read_matter(session, principal, matter_id)
    if not MATTER.actors_of(principal, matter):
        raise Forbidden()
    if stage not in STAGES:
        raise Invalid("附件阶段应为 {s}", "Stage must be one of {s}", s=", ".join(STAGES))
    if len(content) > max_bytes:
        raise Invalid(
            "图片过大（上限 {m} MB）",
            "Photo too large (limit {m} MB)",
            m=max_bytes // (1024 * 1024),
        )
    content, kind = images.reencode(content)  # a file that only starts like one fails
    digest = hashlib.sha256(content).hexdigest()
    path = attachment_path(files_dir, digest)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".part")
        tmp.write_bytes(content)
        os.replace(tmp, path)  # atomic: a reader never sees half a file
    row = Attachment(
        matter_id=matter.id,
        sha256=digest,
        content_type=kind,
        size=len(content),
        stage=stage,
        uploaded_by=principal.user_id,
        created_at=clock.now(),
    )
    session.add(row)
    session.commit()
    return row


def attachment_path(files_dir: Path, digest: str) -> Path:
    return files_dir / digest[:2] / digest[2:4] / digest


def read_attachment(session: Session, principal: Principal, attachment_id: int) -> Attachment:
    row = session.scalar(
        select(Attachment).where(
            Attachment.id == attachment_id,
            Attachment.matter_id.in_(scoped_matters(principal).with_only_columns(Matter.id)),
        )
    )
    if row is None:
        raise NotFound("附件", "attachment")
    return row


def attachments_of(session: Session, matter: Matter) -> list[Attachment]:
    return list(
        session.scalars(
            select(Attachment).where(Attachment.matter_id == matter.id).order_by(Attachment.id)
        )
    )
