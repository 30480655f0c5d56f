"""ASGI entry point: `uvicorn fengqiao.asgi:app`."""

import gc

from fengqiao.api import create_app

app = create_app()

# What start-up built lives as long as the server process: keep it out of the collector's
# full passes, and collect the young generation less often (each request allocates
# thousands of short-lived objects).
gc.collect()
gc.freeze()
gc.set_threshold(20_000, 20, 20)
