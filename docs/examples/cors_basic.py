"""Wrap any ASGI app in CORSMiddleware.

Try `uvicorn cors_basic:app --app-dir docs/examples` and
`curl -i -H "Origin: https://app.example.com" http://127.0.0.1:8000/`.
"""

from __future__ import annotations

from asgi_middleware import CORSMiddleware, Receive, Scope, Send


async def hello(scope: Scope, receive: Receive, send: Send) -> None:
    """Answer every HTTP request with a short JSON body."""
    if scope["type"] != "http":
        return
    headers = [(b"content-type", b"application/json"), (b"x-total", b"1")]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": b'{"hello": "world"}'})


# --8<-- [start:app]
app = CORSMiddleware(
    hello,
    allow_origins=[
        "https://app.example.com",  # exact origin: scheme, host, optional port
        "https://*.preview.example.com",  # any subdomain, one or more labels deep
    ],
    allow_methods=["GET", "POST", "DELETE"],
    allow_headers=["Content-Type", "Authorization"],
    expose_headers=["X-Total"],  # headers the page's script may read
    allow_credentials=True,  # cookies and HTTP auth; never with "*"
    max_age=600,  # seconds a browser may cache a preflight's answer
)
# --8<-- [end:app]


# --8<-- [start:check]
def is_customer_origin(origin: str) -> bool:
    """Allow the custom domains customers registered (a set kept up to date elsewhere)."""
    return origin in CUSTOMER_DOMAINS


CUSTOMER_DOMAINS = {"https://shop.customer.example"}

tenant_app = CORSMiddleware(
    hello,
    allow_origins=["https://app.example.com"],
    allow_origin_regex=r"https://(eu|us)\.app\.example\.com",  # always a full match
    allow_origin_check=is_customer_origin,  # called last, for origins nothing else allows
    allow_credentials=True,
)
# --8<-- [end:check]

# --8<-- [start:private]
# A public site allowed to call a device on the user's network (Private Network Access).
device_app = CORSMiddleware(
    hello,
    allow_origins=["https://setup.example.com"],
    allow_private_network=True,
)
# --8<-- [end:private]
