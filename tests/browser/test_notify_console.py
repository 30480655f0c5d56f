"""The administration's notifications tab: a message given up after the time limit is
shown, and sent again with one click."""

from __future__ import annotations

from collections.abc import Callable

from playwright.sync_api import expect
from sqlalchemy import select, update

from fengqiao.core.database import make_engine
from fengqiao.notify.models import OutboxMessage
from tests.browser.conftest import LiveServer, Visit


def test_an_administrator_sees_a_failed_notification_and_sends_it_again(
    visit: Callable[..., Visit], live_server: LiveServer
) -> None:
    engine = make_engine(live_server.settings.effective_database_url)
    try:
        with engine.begin() as conn:
            note = conn.scalar(
                select(OutboxMessage.id).where(
                    OutboxMessage.matter_id == live_server.world.matters["a"]
                )
            )
            conn.execute(
                update(OutboxMessage)
                .where(OutboxMessage.id == note)
                .values(
                    status="failed",
                    attempts=14,
                    last_error="HTTP 503 Service Unavailable",
                    failing_since=OutboxMessage.created_at,
                    failed_at=OutboxMessage.created_at,
                )
            )
        v = visit()
        page = v.login("admin", "/inbox")
        page.goto(f"{live_server.url}/admin?tab=notifications")
        expect(page.locator('[data-test="notify-failed"]')).to_have_text("1")
        row = page.locator('[data-test="notify-table"]')
        expect(row).to_contain_text("甲网格事件")
        expect(row).to_contain_text("HTTP 503 Service Unavailable")
        v.check("admin-notifications")
        page.locator(f'[data-test="notify-resend-{note}"]').click()
        expect(page.locator('[data-test="notify-failed"]')).to_have_text("0")
        with engine.connect() as conn:
            status, attempts = conn.execute(
                select(OutboxMessage.status, OutboxMessage.attempts).where(OutboxMessage.id == note)
            ).one()
        assert (status, attempts) == ("pending", 0)
    finally:
        engine.dispose()
