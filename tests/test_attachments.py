from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from fengqiao.core.config import Settings
from fengqiao.events.models import Attachment
from tests.world import World, png


def test_photos_are_stored_once_and_shown_only_within_jurisdiction(
    client: TestClient, world: World, session: Session, settings: Settings
) -> None:
    mine = world.login(client, "worker_a")
    photo = png(40, 30)
    url = f"/api/events/{world.events['a']}/attachments"
    first = client.post(
        url,
        headers=mine,
        files={"file": ("scene.png", photo, "image/png")},
        data={"stage": "report"},
    )
    assert first.status_code == 201, first.text
    again = client.post(url, headers=mine, files={"file": ("same.png", photo, "image/png")})
    assert again.status_code == 201 and again.json()["sha256"] == first.json()["sha256"]
    stored = list((settings.data_dir / "files").rglob(first.json()["sha256"]))
    assert len(stored) == 1 and stored[0].read_bytes() == photo
    got = client.get(first.json()["url"], headers=mine)
    assert got.status_code == 200 and got.content == photo
    assert got.headers["content-type"] == "image/png"
    assert (
        client.get(first.json()["url"], headers=world.login(client, "worker_b")).status_code == 404
    )
    detail = client.get(f"/api/events/{world.events['a']}", headers=mine).json()
    assert len(detail["attachments"]) == 3  # the world's own photo and these two


def test_bad_uploads_are_refused_and_store_nothing(
    client: TestClient, world: World, session: Session, settings: Settings
) -> None:
    mine = world.login(client, "worker_a")
    url = f"/api/events/{world.events['a']}/attachments"
    before = session.scalar(select(func.count()).select_from(Attachment))
    files_before = sorted(Path(settings.data_dir).rglob("*"))
    cases = [
        (b"GIF89a this is not allowed" + b"\x00" * 64, "只接受"),  # a GIF
        (b"<html>not an image</html>" + b" " * 64, "只接受"),
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * (70 * 1024), "图片过大"),
    ]
    for content, message in cases:
        resp = client.post(url, headers=mine, files={"file": ("x.jpg", content, "image/jpeg")})
        assert resp.status_code == 422 and message in resp.json()["error"]["message"]
    resp = client.post(
        url,
        headers=mine,
        files={"file": ("x.png", png(4, 4), "image/png")},
        data={"stage": "party"},
    )
    assert resp.status_code == 422
    other = f"/api/events/{world.events['b']}/attachments"
    resp = client.post(other, headers=mine, files={"file": ("x.png", png(4, 4), "image/png")})
    assert resp.status_code == 404
    session.expire_all()
    assert session.scalar(select(func.count()).select_from(Attachment)) == before
    assert sorted(Path(settings.data_dir).rglob("*")) == files_before
