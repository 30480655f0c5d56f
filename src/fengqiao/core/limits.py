"""What a request may carry, checked before it reaches a route: bodies over the size limit
are refused before they are read into memory, and a NUL character (which no text column of
PostgreSQL can hold) is refused in the path, the query and JSON bodies."""

from __future__ import annotations

import json

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

_NUL_ESCAPE = b"\\u0000"  # how JSON writes it (a raw NUL is no valid JSON)


def _has_nul(json_text: bytes) -> bool:
    """Whether JSON text holds an escaped NUL (not an escaped backslash before "u0000")."""
    at = json_text.find(_NUL_ESCAPE)
    while at != -1:
        before = at  # the backslashes before this one: an odd number escape it
        while before > 0 and json_text[before - 1] == 0x5C:
            before -= 1
        if (at - before) % 2 == 0:
            return True
        at = json_text.find(_NUL_ESCAPE, at + 1)
    return False


class _Refused(HTTPException):
    """Raised from `receive`; FastAPI re-raises HTTPExceptions raised while it reads a body."""


class RequestLimits:
    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app, self.max_bytes = app, max_bytes

    def _message(self, status: int, english: bool) -> tuple[str, str]:
        if status == 413:
            limit_mb = self.max_bytes / 1024 / 1024
            if english:
                return "too_large", f"Request body too large (limit {limit_mb:.0f} MB)"
            return "too_large", f"请求内容过大（上限 {limit_mb:.0f} MB）"
        if english:
            return "invalid", "The request contains a control character (NUL) that cannot be kept"
        return "invalid", "请求中含有无法保存的控制字符（NUL）"

    async def _reject(self, scope: Scope, send: Send, status: int) -> None:
        headers = dict(scope.get("headers") or [])
        lang = headers.get(b"accept-language", b"").decode("latin-1").lower()
        code, message = self._message(status, lang.startswith("en"))
        body = json.dumps({"error": {"code": code, "message": message}}, ensure_ascii=False)
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body.encode())).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body.encode()})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if "\x00" in scope.get("path", "") or b"%00" in scope.get("query_string", b""):
            await self._reject(scope, send, 422)
            return
        json_body = False
        for name, value in scope.get("headers") or []:
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    declared = 0
                if declared > self.max_bytes:
                    await self._reject(scope, send, 413)
                    return
            elif name == b"content-type":
                json_body = b"json" in value.lower()
        if json_body:
            await self._json(scope, receive, send)
            return
        seen = 0
        started = False

        async def limited_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    raise _Refused(413)
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except _Refused as refused:
            if not started:
                await self._reject(scope, send, refused.status_code)

    async def _json(self, scope: Scope, receive: Receive, send: Send) -> None:
        """A JSON body is read here whole (the route would read it whole anyway), checked,
        then handed on."""
        chunks: list[bytes] = []
        seen, more = 0, True
        while more:
            message = await receive()
            if message["type"] != "http.request":  # the client went away
                return
            chunk = message.get("body", b"")
            seen += len(chunk)
            if seen > self.max_bytes:
                await self._reject(scope, send, 413)
                return
            chunks.append(chunk)
            more = message.get("more_body", False)
        body = b"".join(chunks)
        if _has_nul(body):
            await self._reject(scope, send, 422)
            return
        handed = False

        async def replay() -> Message:
            nonlocal handed
            if handed:
                return await receive()
            handed = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app(scope, replay, send)
