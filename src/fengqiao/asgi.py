"""ASGI entry point: `uvicorn fengqiao.asgi:app`."""

from fengqiao.api import create_app

app = create_app()
