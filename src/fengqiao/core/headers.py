"""Security headers on every answer: API JSON, console pages, static files, errors.

A pure ASGI middleware (it wraps `send`, never buffers a body) that adds each header only
when the response lacks it, so a route may set its own (an attachment download carries a
sandboxing Content-Security-Policy of its own)."""

from __future__ import annotations

from collections.abc import Iterable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

# Powerful features the console never uses are off; the phone app takes photos and reads
# the position, for this origin only. Only names Chromium knows (others log a warning).
PERMISSIONS_POLICY = ", ".join(
    [
        "camera=(self)",
        "geolocation=(self)",
        "microphone=()",
        "accelerometer=()",
        "gyroscope=()",
        "magnetometer=()",
        "payment=()",
        "usb=()",
        "serial=()",
        "hid=()",
        "midi=()",
        "display-capture=()",
        "xr-spatial-tracking=()",
        "browsing-topics=()",
        "autoplay=()",
        "encrypted-media=()",
        "fullscreen=()",
        "picture-in-picture=()",
        "publickey-credentials-get=()",
        "screen-wake-lock=()",
        "idle-detection=()",
    ]
)


def content_security_policy(image_origins: Iterable[str] = ()) -> str:
    """Everything from this server only. `image_origins` may add a map tile server.

    Styles: style sheets and <style> elements from this server only. Element Plus, Leaflet
    and Swagger UI set styles through the CSSOM, which CSP allows; ECharts' tooltips are
    HTML with `style` attributes, so attributes (which run nothing and select nothing) may
    be inline. Scripts: this server's files only, no eval."""
    images = " ".join(["'self'", "data:", "blob:", *image_origins])
    return "; ".join(
        [
            "default-src 'self'",
            "script-src 'self'",
            "style-src 'self'",
            "style-src-attr 'unsafe-inline'",
            f"img-src {images}",
            "connect-src 'self'",
            "worker-src 'self'",
            "manifest-src 'self'",
            "object-src 'none'",
            "base-uri 'self'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        ]
    )


def security_headers(image_origins: Iterable[str] = ()) -> list[tuple[str, str]]:
    return [
        ("Content-Security-Policy", content_security_policy(image_origins)),
        ("X-Content-Type-Options", "nosniff"),
        ("Referrer-Policy", "strict-origin-when-cross-origin"),
        ("Permissions-Policy", PERMISSIONS_POLICY),
        ("X-Frame-Options", "DENY"),
    ]


class SecurityHeaders:
    def __init__(self, app: ASGIApp, headers: Iterable[tuple[str, str]]) -> None:
        self.app = app
        self.headers = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                raw = list(message.get("headers", ()))
                present = {name.lower() for name, _ in raw}
                raw += [(name, value) for name, value in self.headers if name not in present]
                message = {**message, "headers": raw}
            await send(message)

        await self.app(scope, receive, send_with_headers)
