"""A case's documents as real PDFs: the agreement carries every statutory element with the
case's own values (read back by pdftotext), renders with no missing glyph (pdftoppm, the
font's coverage, no fallback font), and the verification page tells the sealed copy from
one changed by a single byte."""

from __future__ import annotations

import subprocess
from datetime import timedelta
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from fontTools.ttLib import TTCollection
from sqlalchemy import select
from sqlalchemy.orm import Session

from fengqiao.demo.build import DEMO_PASSWORD
from fengqiao.mediation import documents
from fengqiao.mediation.enums import DocumentKind
from fengqiao.mediation.models import Agreement, Case, Committee, Document, Mediator, Party, Term
from fengqiao.people.models import User
from tests.mediationkit import Desk, today
from tests.test_demo import demo_client, demo_session  # noqa: F401
from tests.world import World

FONT = Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc")


def signed_case(desk: Desk, world: World) -> dict[str, Any]:
    case = desk.open(
        "resident",
        applicant={
            "role": "applicant",
            "name": "张秀英",
            "gender": "female",
            "id_number": "33030519750505002X",
            "phone": "13800005555",
            "address": "甲街道码头路 1 号",
        },
    )
    number = case["number"]
    desk.respondent_signs_in(case)
    desk.walk_to_mediating(number, world.mediators["a_chair"])
    desk.agree(number, desk.party(case, "respondent"), days=10)
    for who in ("resident", "resident_b", "mediator_a"):
        case = desk.act(who, number, "sign")
    assert case["state"] == "effective"
    return case


def text_of(pdf: Path) -> str:
    return subprocess.run(
        ["pdftotext", str(pdf), "-"], check=True, capture_output=True, text=True
    ).stdout


def test_the_agreement_carries_every_statutory_element(
    client: TestClient, world: World, tmp_path: Path
) -> None:
    desk = Desk(client, world)
    case = signed_case(desk, world)
    pdf = tmp_path / "agreement.pdf"
    pdf.write_bytes(
        desk.get("resident", f"/api/mediation/cases/{case['number']}/documents/agreement").content
    )
    text = text_of(pdf)
    flat = "".join(text.split())
    due = today() + timedelta(days=10)
    for element in (
        "人民调解协议书",
        case["number"],
        "甲街道人民调解委员会",
        # the parties' basic facts
        "张秀英",
        "女",
        "33030519750505002X",
        "甲街道码头路1号",
        "13800005555",
        "李四",
        "330305198001010011",
        # the facts, the matters in dispute and each party's responsibility
        "被申请人卫生间防水层老化漏水，致申请人天花板受损",
        "维修责任与赔偿数额",
        "被申请人承担全部维修责任",
        # the terms: what, how, where, by when
        "被申请人修复防水层",
        "被申请人赔偿申请人装修损失人民币三千元",
        "银行转账",
        "申请人账户",
        f"{due.year}年{due.month}月{due.day}日前",
        # the signatures of the parties and the mediator, and the committee's seal
        "在线签署",
        "人民调解员（签名）：林素珍",
        "（印章）",
    ):
        assert "".join(element.split()) in flat, element
    # Every character is the font's own: nothing fell back to another face or to a box.
    fonts = subprocess.run(["pdffonts", str(pdf)], check=True, capture_output=True, text=True)
    faces = [line.split()[0] for line in fonts.stdout.splitlines()[2:]]
    assert faces and all("Noto-Sans-CJK-SC" in face for face in faces), faces
    face = next(
        f for f in TTCollection(str(FONT)).fonts if f["name"].getDebugName(1) == "Noto Sans CJK SC"
    )
    covered = set(face.getBestCmap())
    missing = {ch for ch in flat if ord(ch) not in covered}
    assert not missing, missing
    # And it renders: an A4 page as an image.
    subprocess.run(
        ["pdftoppm", "-r", "40", "-png", "-f", "1", "-l", "1", str(pdf), str(tmp_path / "page")],
        check=True,
    )
    page = next(tmp_path.glob("page*.png"))
    from PIL import Image

    with Image.open(page) as image:
        width, height = image.size
        assert abs(height / width - 297 / 210) < 0.02
        assert image.convert("L").getextrema()[0] < 80  # ink on the page


def test_one_changed_byte_is_not_the_signed_copy(client: TestClient, world: World) -> None:
    desk = Desk(client, world)
    case = signed_case(desk, world)
    number = case["number"]
    sealed = desk.get("resident", f"/api/mediation/cases/{number}/documents/agreement").content

    def verify(content: bytes) -> dict[str, Any]:
        resp = client.post(
            "/api/mediation/verify", files={"file": ("copy.pdf", content, "application/pdf")}
        )
        assert resp.status_code == 200, resp.text
        return dict(resp.json())

    assert verify(sealed)["genuine"] is True
    middle = len(sealed) // 2
    changed = sealed[:middle] + bytes([sealed[middle] ^ 0x01]) + sealed[middle + 1 :]
    answer = verify(changed)
    assert answer["genuine"] is False and answer["case_number"] is None
    assert "不是" in answer["message"]
    # Not a PDF at all: a clear 422.
    resp = client.post("/api/mediation/verify", files={"file": ("x.txt", b"hello", "text/plain")})
    assert resp.status_code == 422 and resp.json()["error"]["message"] == "请上传 PDF 文件"


def test_every_document_of_a_case_renders(client: TestClient, world: World) -> None:
    desk = Desk(client, world)
    case = signed_case(desk, world)
    number = case["number"]
    desk.act("mediator_a", number, "request_confirmation", court="测试区人民法院")
    terms = [t["id"] for t in case["agreement"]["terms"]]
    desk.act(
        "mediator_a",
        number,
        "follow_up",
        note="回访：已修复",
        terms=[{"term_id": terms[0], "state": "performed"}],
    )
    case = desk.case("mediator_a", number)
    assert set(case["documents"]) == {k.value for k in DocumentKind if k != DocumentKind.refusal}
    for kind in case["documents"]:
        resp = desk.get("mediator_a", f"/api/mediation/cases/{number}/documents/{kind}")
        assert resp.content.startswith(b"%PDF-"), kind
    # A document the case does not have yet is not there; a stranger sees none.
    desk.get("mediator_a", f"/api/mediation/cases/{number}/documents/refusal", status=404)
    desk.get("town_a", f"/api/mediation/cases/{number}/documents/agreement", status=404)


def test_a_demo_case_s_sealed_agreement_reads_back_whole(
    demo_session: Session,  # noqa: F811
    demo_client: TestClient,  # noqa: F811
    tmp_path: Path,
) -> None:
    """The demo's year of cases: each sealed agreement is kept with its digest, and one of
    the demo mediator's committee downloads, every statutory element in it with the case's
    own values."""
    session = demo_session
    sealed = session.scalars(select(Document).where(Document.sealed.is_(True))).all()
    assert len(sealed) >= 20
    for document in sealed:
        agreement = session.scalar(select(Agreement).where(Agreement.case_id == document.case_id))
        assert agreement is not None and agreement.sha256 == documents.digest(document.content)
    login = session.scalar(select(User).where(User.username == "mediator"))
    assert login is not None
    own = session.scalar(select(Mediator.committee_id).where(Mediator.user_id == login.id))
    case = session.scalar(
        select(Case)
        .where(Case.committee_id == own, Case.id.in_([d.case_id for d in sealed]))
        .order_by(Case.id)
        .limit(1)
    )
    assert case is not None
    token = demo_client.post(
        "/api/auth/login", json={"username": "mediator", "password": DEMO_PASSWORD}
    ).json()["access_token"]
    resp = demo_client.get(
        f"/api/mediation/cases/{case.number}/documents/agreement",
        headers={"Authorization": f"Bearer {token}"},
    )
    assert resp.status_code == 200, resp.text
    pdf = tmp_path / "demo-agreement.pdf"
    pdf.write_bytes(resp.content)
    flat = "".join(text_of(pdf).split())
    agreement = session.scalar(select(Agreement).where(Agreement.case_id == case.id))
    assert agreement is not None
    parties = session.scalars(select(Party).where(Party.case_id == case.id)).all()
    terms = session.scalars(select(Term).where(Term.agreement_id == agreement.id)).all()
    committee = session.get(Committee, case.committee_id)
    presiding = session.get(Mediator, case.presiding_id)
    assert committee is not None and presiding is not None and terms
    expected = [
        case.number,
        committee.name,
        agreement.facts,
        agreement.disputed,
        agreement.responsibilities,
        f"人民调解员（签名）：{presiding.name}",
        "（印章）",
    ]
    expected += [p.name for p in parties] + [p.phone for p in parties if p.phone]
    for t in terms:
        expected += [
            t.content,
            t.manner or "",
            t.place or "",
            f"{t.due_on.year}年{t.due_on.month}月{t.due_on.day}日前",
        ]
    for element in expected:
        assert "".join(element.split()) in flat, element
