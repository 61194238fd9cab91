"""What a deadline cannot cancel: a sync FastAPI endpoint runs on in its worker thread.

Run: `uvicorn timeout_threads:app --app-dir docs/examples`, then `curl -i localhost:8000/report`:
the 504 arrives after one second, and the thread finishes its work a second later, unseen.
"""

from __future__ import annotations

import time

from fastapi import FastAPI

from asgi_middleware.timeout import TimeoutMiddleware

fastapi_app = FastAPI()
#: What the worker threads finished, in order.
finished: list[str] = []


# --8<-- [start:threads]
@fastapi_app.get("/report")
def report() -> dict[str, str]:
    """A sync endpoint: FastAPI runs it in a worker thread, which nothing can cancel."""
    time.sleep(2)  # stands for a blocking database call or HTTP request
    finished.append("report")  # runs after the client got its 504
    return {"report": "ready"}


app = TimeoutMiddleware(fastapi_app, timeout=1)
# --8<-- [end:threads]
