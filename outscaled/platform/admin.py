"""Admin routes over HTTP (mounted at /admin by bentos/service.py; the Gateway lets only admins in).

    GET  /admin/whoami                        the caller as the Gateway saw it
    GET  /admin/keys                          every key (never a secret)
    POST /admin/keys {"role", "name"}         a new key, shown this once (201)
    POST /admin/keys/{key_id}/revoke          the key stops working within key_cache_seconds
    POST /admin/models/promote {"version"}    as `outscaled models promote` (the registry; the service
    POST /admin/models/rollback               serves the new champions from its next start)
    POST /admin/snapshots/switch {"snapshot_id"}  serve another complete feature snapshot, at once
    POST /admin/snapshots/rollback            back to the previous one

Inputs are bounded as the public routes' are (outscaled.online.requests): every body and path parameter is
checked against a declared schema below, each text at most MAX_TEXT characters, and a refusal is a 422
that names the field and quotes at most MAX_ECHO characters of what was sent (a body over MAX_BODY_BYTES
is a 413 before it is read). Since MAX_TEXT <= MAX_ECHO, a domain error that repeats a bounded value (an
unknown version or snapshot) repeats at most MAX_ECHO characters too.
"""

from __future__ import annotations

from typing import Annotated, Any, TypeVar

import redis
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from outscaled.config import Settings
from outscaled.online.requests import RequestError, bounded_body, echo, refusal
from outscaled.online.schemas import MAX_TEXT, Text
from outscaled.platform import keys


def _record(record: keys.KeyRecord) -> dict[str, Any]:
    return {"key_id": record.key_id, "name": record.name, "role": record.role,
            "created_at": record.created_at.isoformat(), "revoked_at": record.revoked_at and record.revoked_at.isoformat()}


_ADMIN = ConfigDict(strict=True, extra="forbid")


class NewKey(BaseModel):
    model_config = _ADMIN

    role: Text
    name: Annotated[str, Field(max_length=MAX_TEXT)] | None = None


class KeyPath(BaseModel):
    model_config = _ADMIN

    key_id: Text


class Promotion(BaseModel):
    model_config = _ADMIN

    version: Text


class SnapshotSwitch(BaseModel):
    model_config = _ADMIN

    snapshot_id: Text


Schema = TypeVar("Schema", bound=BaseModel)


def _validated(schema: type[Schema], value: bytes | dict[str, Any]) -> Schema:
    """`value` (a JSON body's bytes, or path parameters) checked against `schema`; a RequestError naming
    the first bad field otherwise."""
    try:
        if isinstance(value, bytes):
            return schema.model_validate_json(value or b"{}")
        return schema.model_validate(value)
    except ValidationError as error:
        raise refusal(error) from None


def admin_app(settings: Settings, redis_client: redis.Redis) -> Starlette:
    def handled(handler):
        async def endpoint(request: Request) -> Response:
            try:
                return await handler(request)
            except RequestError as error:  # a bad field (BodyTooLarge too: 413)
                return JSONResponse({"error": error.message, "field": error.field}, status_code=error.status)
            except (ValueError, KeyError) as error:  # a bad body, an unknown version or snapshot
                return JSONResponse({"error": str(error).strip("'\"")}, status_code=422)
            except redis.RedisError as error:
                return JSONResponse({"error": f"Redis is unreachable ({type(error).__name__})"}, status_code=503)
        return endpoint

    async def whoami(request: Request) -> Response:
        caller = getattr(request.state, "caller", None)
        return JSONResponse(caller and {"id": caller.id, "role": caller.role, "kind": caller.kind})

    async def list_keys(request: Request) -> Response:
        return JSONResponse({"keys": [_record(r) for r in keys.list_keys(settings)]})

    async def create_key(request: Request) -> Response:
        asked = _validated(NewKey, await bounded_body(request))
        if asked.role not in keys.ROLES:
            raise RequestError("role", f"must be one of {', '.join(keys.ROLES)}")
        created = keys.create_key(settings, asked.role, asked.name or "")
        return JSONResponse({"key": created.key, **_record(created.record)}, status_code=201)

    async def revoke_key(request: Request) -> Response:
        key_id = _validated(KeyPath, dict(request.path_params)).key_id
        if not keys.revoke_key(settings, key_id) and keys.read_key(settings, key_id) is None:
            return JSONResponse({"error": f"no key {echo(key_id)}"}, status_code=404)
        return JSONResponse({"revoked": key_id, "within_seconds": settings.key_cache_seconds})

    async def promote(request: Request) -> Response:
        from outscaled.lakehouse.catalog import open_catalog
        from outscaled.models.registry import promote

        version = _validated(Promotion, await bounded_body(request)).version
        promote(open_catalog(settings), version)
        return JSONResponse({"champion": version})

    async def rollback_models(request: Request) -> Response:
        from outscaled.lakehouse.catalog import open_catalog
        from outscaled.models.registry import rollback

        return JSONResponse({"restored": rollback(open_catalog(settings))})

    async def switch(request: Request) -> Response:
        from outscaled.online.snapshot import switch_to

        snapshot_id = _validated(SnapshotSwitch, await bounded_body(request)).snapshot_id
        switch_to(redis_client, snapshot_id)
        return JSONResponse({"snapshot_id": snapshot_id})

    async def rollback_snapshot(request: Request) -> Response:
        from outscaled.online.snapshot import rollback

        return JSONResponse({"snapshot_id": rollback(redis_client)})

    return Starlette(routes=[
        Route("/whoami", handled(whoami)),
        Route("/keys", handled(list_keys)),
        Route("/keys", handled(create_key), methods=["POST"]),
        Route("/keys/{key_id}/revoke", handled(revoke_key), methods=["POST"]),
        Route("/models/promote", handled(promote), methods=["POST"]),
        Route("/models/rollback", handled(rollback_models), methods=["POST"]),
        Route("/snapshots/switch", handled(switch), methods=["POST"]),
        Route("/snapshots/rollback", handled(rollback_snapshot), methods=["POST"]),
    ])
