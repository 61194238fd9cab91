"""The single-page app of the end-to-end recipe: it calls the API from another origin.

It shows the request ID the API sent and the API's Server-Timing metrics, as a support page or
an error report would. Serve it on its own port (`uvicorn recipe_end_to_end_spa:app --app-dir
docs/examples --port 8001`) and open http://127.0.0.1:8001/?api=http://127.0.0.1:8000, with the
API built by `create_app(spa_origin="http://127.0.0.1:8001")` so that its CORS and
Timing-Allow-Origin settings allow this page.
"""

from __future__ import annotations

from asgi_middleware import Receive, Scope, Send

# The page's script; the recipe page shows the part between the markers.
PAGE = b"""<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Orders</title></head>
<body>
<p>Request ID: <code id="request-id"></code></p>
<ul id="timings"></ul>
<script type="module">
const api = new URLSearchParams(location.search).get("api") ?? "https://api.example";
// --8<-- [start:fetch]
const response = await fetch(`${api}/orders/7`);
const order = await response.json();
// Readable because CORS exposes it: quote it in bug reports and support tickets.
const requestId = response.headers.get("X-Request-ID");
// Readable because Timing-Allow-Origin lists this page's origin; devtools show the same.
let entry;
while (!(entry = performance.getEntriesByName(response.url)[0])) {
  await new Promise((resolve) => setTimeout(resolve, 10));
}
const timings = entry.serverTiming.map((m) => `${m.name} ${m.duration} ms ${m.description}`);
// --8<-- [end:fetch]
document.getElementById("request-id").textContent = requestId;
for (const timing of timings) {
  const item = document.createElement("li");
  item.textContent = timing;
  document.getElementById("timings").append(item);
}
document.body.dataset.order = JSON.stringify(order);
</script>
</body>
</html>
"""


async def app(scope: Scope, receive: Receive, send: Send) -> None:
    """Serve the page at every path (a single-page app); nothing to do at start-up."""
    if scope["type"] == "lifespan":
        while (await receive())["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        await send({"type": "lifespan.shutdown.complete"})
        return
    if scope["type"] != "http":
        return
    headers = [
        (b"content-type", b"text/html; charset=utf-8"),
        (b"content-length", str(len(PAGE)).encode()),
    ]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": PAGE})
