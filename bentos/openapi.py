"""The OpenAPI 3.1 document of the prediction API, generated from the declared schemas.

Each route's body, query and path parameters and its answers come from outscaled.online.schemas (the same
classes that validate the requests), so the document cannot drift from what the service checks. Served
at /openapi.json and, in place of BentoML's own (which lists only its health and metrics routes), at
/docs.json; /docs shows it with the Swagger UI files BentoML ships.

Security follows the service's configuration: with auth on, the prediction and lookup routes require an
API key (`X-API-Key`) or a bearer token (an API key or a JWT, `Authorization: Bearer`) and may answer
401, 403 and 429; with auth off (local development only) they require nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from outscaled.online import schemas
from outscaled.online.requests import MAX_BODY_BYTES, MAX_ECHO

_ERRORS = {
    404: "an unknown player or team: `suggestions` holds the closest names",
    413: f"the body is over {MAX_BODY_BYTES:,} bytes (refused before it is read)",
    422: "a bad or unknown field: `field` names it, as in `requests[3].best_of`",
    500: "an unexpected failure, never bad input: quote `request_id` when reporting it",
    503: "the feature store (Redis) is unreachable, no snapshot is usable, or the stat has no champion model; "
         "it recovers by itself",
}
_AUTH_ERRORS = {
    401: "no credential, or one that is not valid (`WWW-Authenticate` says which scheme)",
    403: "the credential's role may not call this route",
    429: "over the caller's rate limit: `Retry-After` says when to try again",
}
SECURITY_SCHEMES = {
    "ApiKeyHeader": {"type": "apiKey", "in": "header", "name": "X-API-Key",
                     "description": "an API key (osk_…) from `outscaled keys create`"},
    "Bearer": {"type": "http", "scheme": "bearer",
               "description": "an API key (osk_…) or a JWT whose `role` claim is reader or admin"},
}


@dataclass(frozen=True)
class Operation:
    method: str
    path: str  # with {name} for a path parameter
    summary: str
    answer: type[BaseModel]
    body: type[BaseModel] | None = None
    parameters: type[BaseModel] | None = None  # path and query parameters, by name
    errors: tuple[int, ...] = (503, 500)
    secured: bool = True
    tags: tuple[str, ...] = field(default=("predictions",))


_LOOKUP = (422, 503, 500)
OPERATIONS = (
    Operation("post", "/predict/single", "One stat line: P(over), pick, interval, reasoning",
              schemas.Prediction, body=schemas.PredictionRequest, errors=(404, 413, 422, 503, 500)),
    Operation("post", "/predict/batch", f"Up to {schemas.MAX_BATCH:,} stat lines in order; an unknown player "
              "is answered in place", schemas.Predictions, body=schemas.BatchRequest, errors=(413, 422, 503, 500)),
    Operation("get", "/predict/curve/{player_id}", "P(over) at every line of one player's stat",
              schemas.Curve, parameters=schemas.CurveQuery, errors=(404, 422, 503, 500)),
    Operation("post", "/predict/match", "Map and series win probabilities of two teams",
              schemas.MatchPrediction, body=schemas.MatchRequest, errors=(404, 413, 422, 503, 500)),
    Operation("get", "/models/status", "The model versions served, the snapshot, whether Redis answers",
              schemas.ModelsStatus, tags=("status",)),
    Operation("get", "/players", "Players whose name contains `q`", schemas.Players,
              parameters=schemas.SearchQuery, errors=_LOOKUP, tags=("lookups",)),
    Operation("get", "/teams", "Every team of the snapshot", schemas.Teams, tags=("lookups",)),
    Operation("get", "/tournaments", "Every tournament of the snapshot", schemas.Tournaments, tags=("lookups",)),
    Operation("get", "/health", "Liveness: the process answers", schemas.Alive, errors=(), secured=False,
              tags=("status",)),
    Operation("get", "/ready", "Readiness: models loaded and a usable snapshot in Redis (else 503 with the reason)",
              schemas.Ready, secured=False, tags=("status",)),
)


def _ref(model: type[BaseModel]) -> dict:
    return {"$ref": f"#/components/schemas/{model.__name__}"}


def _json(schema: dict, description: str) -> dict:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _not_null(schema: dict) -> dict:
    """An optional parameter's schema without its `null` branch (a query string cannot send null)."""
    branches = [s for s in schema.get("anyOf", []) if s.get("type") != "null"]
    if len(branches) == 1:
        rest = {k: v for k, v in schema.items() if k not in ("anyOf", "default", "title")}
        return {**branches[0], **rest}
    return {k: v for k, v in schema.items() if k not in ("default", "title")}


def _parameters(operation: Operation) -> list[dict]:
    if operation.parameters is None:
        return []
    declared = operation.parameters.model_json_schema()
    required = set(declared.get("required", []))
    found = []
    for name, schema in declared["properties"].items():
        where = "path" if "{" + name + "}" in operation.path else "query"
        parameter = {"name": name, "in": where, "required": where == "path" or name in required,
                     "schema": _not_null(schema)}
        if "description" in schema:
            parameter["description"] = parameter["schema"].pop("description")
        found.append(parameter)
    return found


def _operation(operation: Operation, auth: bool) -> dict:
    responses = {"200": _json(_ref(operation.answer), operation.answer.__doc__ or "the answer")}
    errors = {status: _ERRORS[status] for status in operation.errors}
    if auth and operation.secured:
        errors.update(_AUTH_ERRORS)
    for status, description in sorted(errors.items()):
        responses[str(status)] = _json(_ref(schemas.Refusal), description)
    built: dict[str, Any] = {"summary": operation.summary, "operationId": _operation_id(operation),
                             "tags": list(operation.tags), "responses": responses}
    parameters = _parameters(operation)
    if parameters:
        built["parameters"] = parameters
    if operation.body is not None:
        built["requestBody"] = {"required": True, "content": {"application/json": {"schema": _ref(operation.body)}}}
    if operation.secured:
        built["security"] = [{"ApiKeyHeader": []}, {"Bearer": []}] if auth else []
    return built


def _operation_id(operation: Operation) -> str:
    words = [part for part in operation.path.replace("{", "").replace("}", "").split("/") if part]
    return "_".join([operation.method, *words]).replace("-", "_")


def document(auth: bool) -> dict:
    """The whole document; `auth`: whether the service requires credentials (Settings.auth)."""
    models = {m for o in OPERATIONS for m in (o.answer, o.body) if m is not None} | {schemas.Refusal}
    _, definitions = models_json_schema([(m, "validation") for m in sorted(models, key=lambda m: m.__name__)],
                                        ref_template="#/components/schemas/{model}")
    paths: dict[str, dict] = {}
    for operation in OPERATIONS:
        paths.setdefault(operation.path, {})[operation.method] = _operation(operation, auth)
    return {
        "openapi": "3.1.0",
        "info": {"title": "Outscaled prediction API", "version": "1",
                 "description": "Player stat lines and match outcomes for League of Legends esports. Every text "
                                f"field holds at most {schemas.MAX_TEXT} characters, no error repeats more than "
                                f"{MAX_ECHO} characters of input, and every answer carries `Server-Timing: "
                                "app;dur=<ms>`. Types are strict: a whole number is written without a fraction "
                                "(3, not 3.0, which JSON Schema's `integer` would take), `true` is not a number, "
                                "and a query string's number is ASCII digits."},
        "paths": paths,
        "components": {"schemas": definitions["$defs"], "securitySchemes": SECURITY_SCHEMES},
    }
