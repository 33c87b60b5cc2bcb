"""JWTs by configuration (HS256 secret, RS256 / ES256 public key as PEM text or a file) and the role rules."""

import time
from dataclasses import replace

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from outscaled.config import load_settings
from outscaled.platform.auth import Authenticator, Caller, Unauthorized, allowed, is_open

CLAIMS = {"sub": "svc-42", "role": "admin", "aud": "outscaled"}


def _pem(private) -> str:
    return private.public_key().public_bytes(serialization.Encoding.PEM,
                                             serialization.PublicFormat.SubjectPublicKeyInfo).decode()


@pytest.mark.parametrize("algorithm", ["RS256", "ES256"])
def test_a_public_key_verifies_tokens_signed_with_its_private_key(settings, tmp_path, algorithm):
    private = rsa.generate_private_key(65537, 2048) if algorithm == "RS256" else ec.generate_private_key(ec.SECP256R1())
    (tmp_path / "public.pem").write_text(_pem(private))
    for public in (_pem(private), str(tmp_path / "public.pem")):  # the PEM itself or a path to it
        configured = replace(settings, jwt_secret=None, jwt_public_key=public, jwt_algorithm=algorithm)
        authenticator = Authenticator(configured)
        token = jwt.encode({**CLAIMS, "exp": int(time.time()) + 60}, private, algorithm)
        assert authenticator.caller(token) == Caller("svc-42", "admin", "jwt")
        other = rsa.generate_private_key(65537, 2048) if algorithm == "RS256" else ec.generate_private_key(ec.SECP256R1())
        with pytest.raises(Unauthorized):
            authenticator.caller(jwt.encode({**CLAIMS, "exp": int(time.time()) + 60}, other, algorithm))
        with pytest.raises(Unauthorized, match="expired"):
            authenticator.caller(jwt.encode({**CLAIMS, "exp": int(time.time()) - 1}, private, algorithm))


def test_an_hs256_token_cannot_pass_as_rs256(settings):
    """The algorithm is the configuration's, never the token's header's (so no HS/RS confusion)."""
    private = rsa.generate_private_key(65537, 2048)
    authenticator = Authenticator(replace(settings, jwt_secret=None, jwt_public_key=_pem(private), jwt_algorithm="RS256"))
    for forged in (jwt.encode({**CLAIMS, "exp": int(time.time()) + 60}, "x" * 32, "HS256"),
                   jwt.encode({**CLAIMS, "exp": int(time.time()) + 60}, None, "none")):
        with pytest.raises(Unauthorized):
            authenticator.caller(forged)


def test_the_issuer_is_checked_when_configured(settings):
    authenticator = Authenticator(replace(settings, jwt_secret="s" * 32, jwt_issuer="https://id.example"))
    good = jwt.encode({**CLAIMS, "iss": "https://id.example", "exp": int(time.time()) + 60}, "s" * 32, "HS256")
    assert authenticator.caller(good).id == "svc-42"
    for claims in ({**CLAIMS}, {**CLAIMS, "iss": "https://other.example"}):
        with pytest.raises(Unauthorized):
            authenticator.caller(jwt.encode({**claims, "exp": int(time.time()) + 60}, "s" * 32, "HS256"))


def test_roles_and_open_paths():
    assert all(is_open(p) for p in ("/", "/health", "/ready", "/livez", "/readyz", "/healthz", "/metrics",
                                    "/docs.json", "/openapi.json", "/static_content/x.js"))
    assert not any(is_open(p) for p in ("/teams", "/predict/single", "/admin/keys", "/healthz/x", "//health"))
    for path in ("/predict/single", "/predict/batch", "/predict/match", "/predict/curve/Faker", "/players",
                 "/teams", "/tournaments", "/models/status"):
        assert allowed("reader", path) and allowed("admin", path)
    for path in ("/admin/keys", "/admin/models/promote", "/models/split", "/anything/new"):
        assert allowed("admin", path) and not allowed("reader", path)


def test_auth_is_on_unless_switched_off(monkeypatch, home):
    assert load_settings().auth
    for off in ("off", "0", "false", "no", "OFF"):
        monkeypatch.setenv("OUTSCALED_AUTH", off)
        assert not load_settings().auth
    monkeypatch.setenv("OUTSCALED_AUTH", "maybe")
    with pytest.raises(RuntimeError, match="OUTSCALED_AUTH"):
        load_settings()


def test_a_remembered_token_still_expires(settings):
    authenticator = Authenticator(replace(settings, jwt_secret="s" * 32))
    expires = time.time() + 5.0  # room for a slow first check on a loaded machine
    token = jwt.encode({**CLAIMS, "exp": expires}, "s" * 32, "HS256")
    assert authenticator.caller(token).role == "admin"
    assert authenticator.caller(token).role == "admin"  # from memory
    time.sleep(max(expires - time.time(), 0) + 0.1)
    with pytest.raises(Unauthorized, match="expired"):
        authenticator.caller(token)
