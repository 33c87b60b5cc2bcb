"""The service's gate: authentication, roles and rate limits as one pure ASGI middleware.

Added with BentoML's `add_asgi_middleware` (bentos/service.py), so it wraps every route, the mounted
Starlette app included. Per request, in this order:

1. an open path (health, readiness, metrics, the page, the API docs: outscaled.platform.auth.OPEN_PATHS)
   goes straight through;
2. with auth off (OUTSCALED_AUTH=off) every request goes through as Caller("anonymous", "admin", "open");
3. the credential (`Authorization: Bearer …`, `X-API-Key: …`, or the page's `outscaled_key` cookie) must
   name a live key or a valid JWT: else 401 with `WWW-Authenticate: Bearer realm="outscaled"`; a role
   that may not call the path: 403; the key table unreachable with nothing cached: 503;
4. the caller's token bucket (outscaled.platform.ratelimit) must have a token: else 429 with `Retry-After`;
   admitted answers carry `RateLimit-Limit`, `RateLimit-Remaining` and `RateLimit-Reset` too. When Redis
   cannot be reached the request goes through unlimited (the route then answers 503 by itself if it needs
   Redis): a limiter outage is never a 500, and for a second after a failure the limiter is not asked, so
   an unreachable Redis does not cost every request a timeout.

The caller is left in the ASGI scope as `scope["state"]["caller"]` (an outscaled.platform.auth.Caller: id,
role, kind), which a Starlette handler reads as `request.state.caller`; logging and A/B stickiness key on
`caller.id`. Open paths get no caller.

The page at / is open, but the API it calls is not: `/?key=osk_…` sets the key as an HttpOnly,
SameSite=Strict cookie, which the page's own requests then carry (a browser cannot add a header to them).

Cost per request: one sha256 and a dict lookup for a key (the key table is read once per key per
`key_cache_seconds`), or one signature check for a JWT, plus one EVALSHA round trip to Redis (~70 µs on the
embedded server's unix socket). A blocking Redis call on the event loop is cheaper here than handing it to a
thread, and the predictor already reads Redis the same way.
"""

from __future__ import annotations

import sys
import time
import urllib.parse
from http.cookies import CookieError, SimpleCookie

import orjson
import redis
import redis.asyncio

from outscaled.config import Settings
from outscaled.online.redis_server import redis_url
from outscaled.platform.auth import ANONYMOUS, Authenticator, Caller, Unauthorized, allowed, is_open, required_role
from outscaled.platform.keys import KeyStoreUnavailable, list_keys
from outscaled.platform.ratelimit import AsyncLimiter, Decision, role_rates

COOKIE = "outscaled_key"
LIMITER_PAUSE_SECONDS = 1.0  # after a Redis failure, requests go through unlimited for this long
WWW_AUTHENTICATE = (b"www-authenticate", b'Bearer realm="outscaled"')


def _credential(scope: dict) -> str | None:
    cookie = None
    for name, value in scope["headers"]:
        if name == b"authorization":
            scheme, _, token = value.decode("latin-1").partition(" ")
            if scheme.lower() == "bearer" and token.strip():
                return token.strip()
        elif name == b"x-api-key" and value.strip():
            return value.decode("latin-1").strip()
        elif name == b"cookie":
            cookie = value.decode("latin-1")
    if cookie and COOKIE in cookie:
        try:
            morsel = SimpleCookie(cookie).get(COOKIE)
        except CookieError:
            return None
        return morsel.value if morsel is not None and morsel.value else None
    return None


async def _answer(send, status: int, message: str, headers: list[tuple[bytes, bytes]] = ()) -> None:
    body = orjson.dumps({"error": message})
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                            *headers]})
    await send({"type": "http.response.body", "body": body})


class Gateway:
    """ASGI middleware: `Gateway(app, settings=...)`; see the module docstring."""

    def __init__(self, app, settings: Settings):
        self.app = app
        self.settings = settings
        self.rates = role_rates(settings)  # a bad OUTSCALED_RATE_* fails the worker at start, not a request
        self.authenticator = Authenticator(settings) if settings.auth else None
        self.limiter = AsyncLimiter(redis.asyncio.Redis.from_url(redis_url(settings), socket_timeout=0.25,
                                                                 socket_connect_timeout=0.25,
                                                                 health_check_interval=0))
        self._limiter_paused_until = 0.0
        if settings.auth:
            _hint_when_there_are_no_keys(settings)

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        path = scope["path"]
        if is_open(path):
            if path == "/" and b"key=" in scope.get("query_string", b""):
                return await self.app(scope, receive, self._setting_cookie(scope, send))
            return await self.app(scope, receive, send)
        if self.authenticator is None:
            scope.setdefault("state", {})["caller"] = ANONYMOUS
            return await self.app(scope, receive, send)
        credential = _credential(scope)
        if credential is None:
            return await _answer(send, 401, "this route needs an API key or a bearer token: send "
                                 "`Authorization: Bearer <key>`; `outscaled keys create --role reader` makes a key",
                                 [WWW_AUTHENTICATE])
        try:
            caller = self.authenticator.caller(credential)
        except Unauthorized as error:
            return await _answer(send, 401, str(error),
                                 [(b"www-authenticate", b'Bearer realm="outscaled", error="invalid_token"')])
        except KeyStoreUnavailable as error:
            return await _answer(send, 503, str(error), [(b"retry-after", b"1")])
        if not allowed(caller.role, path):
            return await _answer(send, 403, f"{path} needs the {required_role(path)} role; this {caller.kind} "
                                 f"is a {caller.role}")
        decision = await self._take(caller)
        if decision is not None and not decision.admitted:
            return await _answer(send, 429, f"rate limit: {decision.limit} requests at once for a {caller.role}; "
                                 f"retry in {decision.retry_after} s", decision.headers())
        scope.setdefault("state", {})["caller"] = caller
        if decision is None:
            return await self.app(scope, receive, send)
        return await self.app(scope, receive, _with_headers(send, decision))

    async def _take(self, caller: Caller) -> Decision | None:
        """The limiter's decision, or None: no limit for the role, or Redis unreachable (fail open)."""
        rate = self.rates.get(caller.role)
        if rate is None or time.monotonic() < self._limiter_paused_until:
            return None
        try:
            return await self.limiter.take(caller.bucket, rate)
        except (redis.RedisError, OSError) as error:
            self._limiter_paused_until = time.monotonic() + LIMITER_PAUSE_SECONDS
            print(f"outscaled: rate limiter unavailable, admitting unlimited for {LIMITER_PAUSE_SECONDS:.0f} s "
                  f"({type(error).__name__}: {error})", file=sys.stderr, flush=True)
            return None

    def _setting_cookie(self, scope: dict, send):
        """The page at /?key=…: when the key is live (and auth is on), the answer sets it as a cookie."""
        key = urllib.parse.parse_qs(scope["query_string"].decode("latin-1")).get("key", [""])[0]
        try:
            valid = self.authenticator is not None and self.authenticator.keys.verify(key) is not None
        except KeyStoreUnavailable:
            valid = False
        if not valid:
            return send
        cookie = f"{COOKIE}={key}; Path=/; HttpOnly; SameSite=Strict".encode()
        return _with_extra(send, [(b"set-cookie", cookie)])


def _hint_when_there_are_no_keys(settings: Settings) -> None:
    """The first run: say how to get a key (once, from the first worker), since every route but the open
    ones will answer 401 until there is one."""
    try:
        from bentoml._internal.context import server_context

        if server_context.worker_index not in (None, 1) or list_keys(settings):
            return
    except Exception:  # a hint only: never a reason for the worker not to start  # noqa: BLE001
        return
    print("outscaled: auth is on and there are no API keys yet: make one with `outscaled keys create --role "
          "reader` and send it as `Authorization: Bearer <key>` (or open /?key=<key>); OUTSCALED_AUTH=off turns "
          "auth off for local work", file=sys.stderr, flush=True)


def _with_headers(send, decision: Decision):
    return _with_extra(send, decision.headers())


def _with_extra(send, extra: list[tuple[bytes, bytes]]):
    async def sending(message) -> None:
        if message["type"] == "http.response.start":
            message = {**message, "headers": [*message.get("headers", []), *extra]}
        await send(message)
    return sending
