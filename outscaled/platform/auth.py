"""Who is calling and what they may do: API keys and JWT bearer tokens, mapped to a role.

A request carries `Authorization: Bearer <credential>` (or `X-API-Key: <key>`). A credential that starts
with `osk_` is an API key (outscaled.platform.keys); anything else is taken as a JWT, verified with the
configured HS256 secret (OUTSCALED_JWT_SECRET) or public key (OUTSCALED_JWT_PUBLIC_KEY, RS256/ES256 by
OUTSCALED_JWT_ALGORITHM), with `exp`, `aud` (OUTSCALED_JWT_AUDIENCE) and `sub` required, `iss` checked when
OUTSCALED_JWT_ISSUER is set; the role is the `role` claim and the caller id is the subject.

Roles: a reader may predict and look things up (READER_PATHS); an admin may do that and everything else
(the admin routes). A path not listed as open or as a reader's is an admin's: a new route is closed until
someone decides who may call it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import jwt

from outscaled.config import Settings
from outscaled.platform.keys import PREFIX, ROLES, KeyCache

# Open to anyone: liveness and readiness (ours and BentoML's), metrics, the page and its files, the API docs.
OPEN_PATHS = frozenset({"/", "/health", "/ready", "/livez", "/readyz", "/healthz", "/metrics", "/docs.json",
                        "/openapi.json", "/schema.json", "/docs", "/favicon.ico"})
OPEN_PREFIXES = ("/static/", "/static_content/")
READER_PATHS = frozenset({"/predict/single", "/predict/batch", "/predict/match", "/players", "/teams",
                          "/tournaments", "/models/status"})
READER_PREFIXES = ("/predict/curve/",)
MAX_REMEMBERED_TOKENS = 10_000


@dataclass(frozen=True, slots=True)
class Caller:
    """Who made the request: `id` is the key id (kind "key") or the token's subject (kind "jwt"); with auth
    off every request is Caller("anonymous", "admin", "open")."""
    id: str
    role: str
    kind: str

    @property
    def bucket(self) -> str:
        """The caller's rate-limit bucket name (outscaled.platform.ratelimit.bucket_key adds the prefix)."""
        return f"{self.kind}:{self.id}"


ANONYMOUS = Caller("anonymous", "admin", "open")


class Unauthorized(Exception):
    """No credential, or one that is not valid (401)."""


def is_open(path: str) -> bool:
    return path in OPEN_PATHS or path.startswith(OPEN_PREFIXES)


def required_role(path: str) -> str:
    return "reader" if path in READER_PATHS or path.startswith(READER_PREFIXES) else "admin"


def allowed(role: str, path: str) -> bool:
    return role == "admin" or required_role(path) == role


def _verification_key(settings: Settings):
    """The key JWTs are checked with: the HS secret, or the public key (PEM text or a path to a PEM file)
    parsed once, not on every request."""
    if settings.jwt_algorithm.startswith("HS"):
        return settings.jwt_secret
    if not settings.jwt_public_key:
        return None
    from cryptography.hazmat.primitives.serialization import load_pem_public_key

    text = settings.jwt_public_key
    if not text.lstrip().startswith("-----BEGIN") and Path(text).expanduser().is_file():
        text = Path(text).expanduser().read_text()
    return load_pem_public_key(text.encode())


class Authenticator:
    """Turns a credential into a Caller, or raises Unauthorized with a message that says why."""

    def __init__(self, settings: Settings, keys: KeyCache | None = None):
        self.settings = settings
        self.keys = keys or KeyCache(settings)
        self._jwt_key = _verification_key(settings)
        self._require = ["exp", "aud", "sub"] + (["iss"] if settings.jwt_issuer else [])
        # A token that verified once verifies again until it expires (the same string, the same signature):
        # remembering it saves PyJWT's ~0.1 ms on a client's every later request. Bounded.
        self._verified: dict[str, tuple[float, Caller]] = {}

    def caller(self, credential: str) -> Caller:
        if credential.startswith(PREFIX + "_"):
            record = self.keys.verify(credential)  # KeyStoreUnavailable propagates: a 503, not a 401
            if record is None:
                raise Unauthorized("unknown or revoked API key")
            return Caller(record.key_id, record.role, "key")
        return self._token(credential)

    def _token(self, token: str) -> Caller:
        remembered = self._verified.get(token)
        if remembered is not None and time.time() < remembered[0]:
            return remembered[1]
        if self._jwt_key is None:
            raise Unauthorized("not an API key (osk_…), and this service accepts no JWTs "
                               "(OUTSCALED_JWT_SECRET or OUTSCALED_JWT_PUBLIC_KEY is not set)")
        try:
            claims = jwt.decode(token, self._jwt_key, algorithms=[self.settings.jwt_algorithm],
                                audience=self.settings.jwt_audience, issuer=self.settings.jwt_issuer,
                                options={"require": self._require})
        except jwt.ExpiredSignatureError as error:
            raise Unauthorized("the token has expired") from error
        except jwt.InvalidAudienceError as error:
            raise Unauthorized(f"the token is not for this service (aud must be {self.settings.jwt_audience!r})") from error
        except jwt.InvalidTokenError as error:
            raise Unauthorized(f"invalid token ({type(error).__name__})") from error
        role, subject = claims.get("role"), claims.get("sub")
        if role not in ROLES:
            raise Unauthorized(f"the token's role claim must be one of {', '.join(ROLES)}")
        if not isinstance(subject, str) or not subject or len(subject) > 200:
            raise Unauthorized("the token's sub claim must be a non-empty string")
        caller = Caller(subject, role, "jwt")
        if len(self._verified) >= MAX_REMEMBERED_TOKENS:
            self._verified.clear()
        self._verified[token] = (float(claims["exp"]), caller)
        return caller
