from __future__ import annotations

import io
from pathlib import Path

from fastapi.testclient import TestClient
from PIL import Image
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from fengqiao.core.config import Settings
from fengqiao.matters.models import Attachment
from tests.world import World, jpeg, png


def test_photos_are_stored_once_and_shown_only_within_jurisdiction(
    client: TestClient, world: World, session: Session, settings: Settings
) -> None:
    mine = world.login(client, "worker_a")
    photo = png(40, 30)
    url = f"/api/matters/{world.matters['a']}/attachments"
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
    # Stored as Pillow wrote it again: the same pixels, nothing else.
    assert len(stored) == 1 and same_pixels(stored[0].read_bytes(), photo)
    got = client.get(first.json()["url"], headers=mine)
    assert got.status_code == 200 and got.content == stored[0].read_bytes()
    assert got.headers["content-type"] == "image/png"
    assert (
        client.get(first.json()["url"], headers=world.login(client, "worker_b")).status_code == 404
    )
    detail = client.get(f"/api/matters/{world.matters['a']}", headers=mine).json()
    assert len(detail["attachments"]) == 3  # the world's own photo and these two


def same_pixels(a: bytes, b: bytes) -> bool:
    with Image.open(io.BytesIO(a)) as one, Image.open(io.BytesIO(b)) as other:
        return one.size == other.size and one.tobytes() == other.tobytes()


def test_bad_uploads_are_refused_and_store_nothing(
    client: TestClient, world: World, session: Session, settings: Settings
) -> None:
    mine = world.login(client, "worker_a")
    url = f"/api/matters/{world.matters['a']}/attachments"
    before = session.scalar(select(func.count()).select_from(Attachment))
    files_before = sorted(Path(settings.data_dir).rglob("*"))
    cases = [
        (b"GIF89a this is not allowed" + b"\x00" * 64, "只接受"),  # a GIF
        (b"<html>not an image</html>" + b" " * 64, "只接受"),
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * (70 * 1024), "图片过大"),
        # Files that only start like images: a PNG header before a script, a cut JPEG.
        (b"\x89PNG\r\n\x1a\n<script>alert(1)</script>" + b" " * 64, "只接受"),
        (png(30, 30)[:45], "只接受"),
        (jpeg(40, 40)[: len(jpeg(40, 40)) // 2], "只接受"),
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
    other = f"/api/matters/{world.matters['b']}/attachments"
    resp = client.post(other, headers=mine, files={"file": ("x.png", png(4, 4), "image/png")})
    assert resp.status_code == 404
    session.expire_all()
    assert session.scalar(select(func.count()).select_from(Attachment)) == before
    assert sorted(Path(settings.data_dir).rglob("*")) == files_before


def test_photos_are_written_again_without_metadata_and_served_inert(
    client: TestClient, world: World
) -> None:
    """A phone's JPEG loses its EXIF (the GPS trail of the reporter); an iPhone's HEIC is
    stored as JPEG, which every browser shows; a photo opened on its own runs nothing."""
    mine = world.login(client, "worker_a")
    url = f"/api/matters/{world.matters['a']}/attachments"
    exif = Image.Exif()
    exif[0x0110] = "Phone X"  # the camera model
    exif[0x8825] = {1: "N", 2: (30.0, 5.0, 0.0)}  # a GPS block
    photo = jpeg(64, 48, exif=exif.tobytes())
    with Image.open(io.BytesIO(photo)) as original:
        assert original.getexif()  # the upload carries it
    resp = client.post(url, headers=mine, files={"file": ("p.jpg", photo, "image/jpeg")})
    assert resp.status_code == 201, resp.text
    got = client.get(resp.json()["url"], headers=mine)
    with Image.open(io.BytesIO(got.content)) as stored:
        assert stored.format == "JPEG" and stored.size == (64, 48)
        assert not stored.getexif()
    assert got.headers["x-content-type-options"] == "nosniff"
    assert got.headers["content-disposition"].startswith("inline; filename=")
    assert "sandbox" in got.headers["content-security-policy"]

    heic = io.BytesIO()
    Image.new("RGB", (32, 32), (200, 10, 10)).save(heic, format="HEIF")
    resp = client.post(url, headers=mine, files={"file": ("p.heic", heic.getvalue(), "image/heic")})
    assert resp.status_code == 201, resp.text
    assert resp.json()["content_type"] == "image/jpeg"


def test_a_cut_photo_is_refused_after_a_document_was_rendered(
    client: TestClient, world: World
) -> None:
    """Rendering a PDF loads WeasyPrint, which tells Pillow to pad cut images for the whole
    process: an upload cut in half must still be refused."""
    from fengqiao.mediation.documents import pdf_of

    assert pdf_of("<p>调解</p>").startswith(b"%PDF-")
    mine = world.login(client, "worker_a")
    cut = png(30, 30)[:45]  # what Pillow pads into a whole picture when told to
    resp = client.post(
        f"/api/matters/{world.matters['a']}/attachments",
        headers=mine,
        files={"file": ("x.png", cut, "image/png")},
    )
    assert resp.status_code == 422, resp.text
