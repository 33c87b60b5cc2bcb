"""Admin routes over HTTP (mounted at /admin by bentos/service.py; the Gateway lets only admins in).

    GET  /admin/whoami                        the caller as the Gateway saw it
    GET  /admin/keys                          every key (never a secret)
    POST /admin/keys {"role", "name"}         a new key, shown this once (201)
    POST /admin/keys/{key_id}/revoke          the key stops working within key_cache_seconds
    POST /admin/models/promote {"version"}    as `outscaled models promote` (the registry; the service
    POST /admin/models/rollback               serves the new champions from its next start)
    POST /admin/snapshots/switch {"snapshot_id"}  serve another complete feature snapshot, at once
    POST /admin/snapshots/rollback            back to the previous one
"""

from __future__ import annotations

from typing import Any

import orjson
import redis
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from outscaled.config import Settings
from outscaled.platform import keys


def _record(record: keys.KeyRecord) -> dict[str, Any]:
    return {"key_id": record.key_id, "name": record.name, "role": record.role,
            "created_at": record.created_at.isoformat(), "revoked_at": record.revoked_at and record.revoked_at.isoformat()}


async def _fields(request: Request, *names: str) -> dict[str, Any]:
    try:
        body = orjson.loads(await request.body() or b"{}")
    except orjson.JSONDecodeError as error:
        raise ValueError("the body is not valid JSON") from error
    if not isinstance(body, dict) or any(not isinstance(body.get(n), str) for n in names):
        raise ValueError(f"the body is a JSON object with string fields {', '.join(names)}")
    return body


def admin_app(settings: Settings, redis_client: redis.Redis) -> Starlette:
    def handled(handler):
        async def endpoint(request: Request) -> Response:
            try:
                return await handler(request)
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
        body = await _fields(request, "role")
        name = body.get("name", "")
        if not isinstance(name, str) or len(name) > 200:
            raise ValueError("name is a string of at most 200 characters")
        created = keys.create_key(settings, body["role"], name)
        return JSONResponse({"key": created.key, **_record(created.record)}, status_code=201)

    async def revoke_key(request: Request) -> Response:
        key_id = request.path_params["key_id"]
        if not keys.revoke_key(settings, key_id) and keys.read_key(settings, key_id) is None:
            return JSONResponse({"error": f"no key {key_id[:40]}"}, status_code=404)
        return JSONResponse({"revoked": key_id, "within_seconds": settings.key_cache_seconds})

    async def promote(request: Request) -> Response:
        from outscaled.lakehouse.catalog import open_catalog
        from outscaled.models.registry import promote

        version = (await _fields(request, "version"))["version"]
        promote(open_catalog(settings), version)
        return JSONResponse({"champion": version})

    async def rollback_models(request: Request) -> Response:
        from outscaled.lakehouse.catalog import open_catalog
        from outscaled.models.registry import rollback

        return JSONResponse({"restored": rollback(open_catalog(settings))})

    async def switch(request: Request) -> Response:
        from outscaled.online.snapshot import switch_to

        snapshot_id = (await _fields(request, "snapshot_id"))["snapshot_id"]
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
