"""A REST agency simulator that serves exactly the operations its OpenAPI file declares.

The route table is read from the OpenAPI document (paths, methods, operation ids,
parameters, request-body schemas), and each operation id is bound to one handler
of the kind's generated simulator (``simulators.mapped_app``: every REST kind is declared by a mapping). So the
simulator and the hub's client honour the same file:
an operation the file declares but the simulator cannot serve, or the other way
round, is a ``ContractError`` when the application is built.

Validation, as a strict agency does it:
- with credentials, ``Authorization: Bearer <token>`` on every operation -> 401 problem otherwise;
- path and header parameters against their schemas, and ``personId`` against its
  check digit -> 400 problem;
- a body that is not JSON -> 400 problem; JSON that breaks the body schema
  (missing fields, amounts that are not positive integers, a batch above ``maxItems``) -> 422 problem.
Errors are RFC 7807 ``application/problem+json`` documents.
"""

from __future__ import annotations

import hmac
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from http import HTTPStatus
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import yaml

from connectors.credentials import Credentials
from connectors.wire import JSON_CONTENT_TYPE, PROBLEM_CONTENT_TYPE
from estelam.core.exceptions import ContractError
from estelam.core.identifiers import is_person_id
from simulators.agency_state import AgencyState
from simulators.server import Application, Request, Response

OPENAPI_CONTENT_TYPE = "application/yaml; charset=utf-8"
#: Where the simulator serves its own contract.
OPENAPI_DOCUMENT_PATH = "/openapi.yaml"
HTTP_METHODS = ("get", "put", "post", "delete", "patch")
BEARER_PREFIX = "bearer "
INT64_MAX = 2**63 - 1

#: Checks a schema cannot express: a person id's check digit.
PARAMETER_CHECKS: dict[str, Callable[[str], bool]] = {"personId": is_person_id}


class _Problem(Exception):
    """Stops handling a request and answers with an RFC 7807 problem."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail


@dataclass(frozen=True)
class _Call:
    """One request matched to an operation of the OpenAPI file."""

    path_params: dict[str, str]
    headers: dict[str, str]
    body: dict[str, Any] | None
    query: dict[str, str] = field(default_factory=dict)  # the first value of each query parameter


@dataclass(frozen=True)
class _Route:
    method: str
    template: str
    pattern: re.Pattern[str]
    operation_id: str
    parameters: tuple[dict[str, Any], ...]
    body_schema: dict[str, Any] | None


# --- answers -------------------------------------------------------------------------------------


def _json(status: int, document: Mapping[str, Any], headers: Mapping[str, str] | None = None) -> Response:
    body = json.dumps(document, ensure_ascii=False).encode("utf-8")
    return Response(status, body, {"Content-Type": JSON_CONTENT_TYPE, **(headers or {})})


def problem(status: int, detail: str, instance: str = "") -> Response:
    """An RFC 7807 problem answer."""
    document: dict[str, Any] = {"type": "about:blank", "title": HTTPStatus(status).phrase, "status": status,
                                "detail": detail}
    if instance:
        document["instance"] = instance
    body = json.dumps(document, ensure_ascii=False).encode("utf-8")
    return Response(status, body, {"Content-Type": PROBLEM_CONTENT_TYPE})


Handler = Callable[[AgencyState, _Call], Response]


# --- the OpenAPI document ------------------------------------------------------------------------


def load_openapi(path: Path) -> dict[str, Any]:
    """Read an OpenAPI 3.1 document; a missing or unreadable file is a ``ContractError``."""
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ContractError(f"{path}: cannot read OpenAPI document: {exc}") from exc
    if not isinstance(document, dict) or not str(document.get("openapi", "")).startswith("3.1"):
        raise ContractError(f"{path}: not an OpenAPI 3.1 document")
    return document


def resolve(document: Mapping[str, Any], node: Mapping[str, Any]) -> dict[str, Any]:
    """``node`` with a local ``$ref`` replaced by its target (sibling keywords kept, as 3.1 allows)."""
    result = dict(node)
    while "$ref" in result:
        ref = result.pop("$ref")
        if not isinstance(ref, str) or not ref.startswith("#/"):
            raise ContractError(f"only local references are supported, got {ref!r}")
        target: Any = document
        for part in ref[2:].split("/"):
            target = target[part.replace("~1", "/").replace("~0", "~")]
        result = {**target, **result}
    return result


def _routes(document: Mapping[str, Any]) -> list[_Route]:
    routes = []
    for template, item in (document.get("paths") or {}).items():
        shared = [resolve(document, p) for p in item.get("parameters", [])]
        regex = re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(template))
        for method in HTTP_METHODS:
            operation = item.get(method)
            if operation is None:
                continue
            parameters = (*shared, *(resolve(document, p) for p in operation.get("parameters", [])))
            body_schema = None
            if "requestBody" in operation:
                request_body = resolve(document, operation["requestBody"])
                body_schema = request_body["content"]["application/json"]["schema"]
            routes.append(_Route(method.upper(), template, re.compile(f"^{regex}$"), operation["operationId"],
                                 parameters, body_schema))
    return routes


def schema_errors(value: Any, schema: Mapping[str, Any], document: Mapping[str, Any], where: str = "") -> list[str]:
    """What is wrong with ``value`` against a JSON Schema (the subset the agency contracts use)."""
    schema = resolve(document, schema)
    label = where or "body"
    expected = schema.get("type")
    checks = {"object": lambda v: isinstance(v, dict), "array": lambda v: isinstance(v, list),
              "string": lambda v: isinstance(v, str), "boolean": lambda v: isinstance(v, bool),
              "integer": lambda v: isinstance(v, int) and not isinstance(v, bool)}
    if expected in checks and not checks[expected](value):
        return [f"{label} must be of type {expected}"]
    errors: list[str] = []
    if "enum" in schema and value not in schema["enum"]:
        errors.append(f"{label} must be one of {schema['enum']}")
    if expected == "integer":
        if "minimum" in schema and value < schema["minimum"]:
            errors.append(f"{label} must be at least {schema['minimum']}")
        if "maximum" in schema and value > schema["maximum"]:
            errors.append(f"{label} must be at most {schema['maximum']}")
        if schema.get("format") == "int64" and not -INT64_MAX - 1 <= value <= INT64_MAX:
            errors.append(f"{label} does not fit in int64")
    if expected == "string":
        if len(value) < schema.get("minLength", 0):
            errors.append(f"{label} must have at least {schema['minLength']} characters")
        if "maxLength" in schema and len(value) > schema["maxLength"]:
            errors.append(f"{label} must have at most {schema['maxLength']} characters")
        if "pattern" in schema and not re.search(schema["pattern"], value):
            errors.append(f"{label} must match {schema['pattern']}")
    if expected == "object":
        properties = schema.get("properties", {})
        errors += [f"{where + '.' if where else ''}{name} is required"
                   for name in schema.get("required", []) if name not in value]
        if schema.get("additionalProperties") is False:
            errors += [f"{where + '.' if where else ''}{name} is not allowed"
                       for name in value if name not in properties]
        for name, sub in properties.items():
            if name in value:
                errors += schema_errors(value[name], sub, document, f"{where + '.' if where else ''}{name}")
    if expected == "array":
        if len(value) < schema.get("minItems", 0):
            errors.append(f"{label} must have at least {schema['minItems']} items")
        if "maxItems" in schema and len(value) > schema["maxItems"]:
            errors.append(f"{label} must have at most {schema['maxItems']} items, got {len(value)}")
    if expected == "array" and "items" in schema and not errors:
        for i, item in enumerate(value):
            errors += schema_errors(item, schema["items"], document, f"{label}[{i}]")
    return errors


# --- the application -----------------------------------------------------------------------------


def rest_application(state: AgencyState, openapi_path: Path, credentials: Credentials | None = None, *,
                     handlers: Mapping[str, Handler] | None = None) -> Application:
    """The simulator of ``state.instance``: the operations of ``openapi_path`` over ``state``.

    Also serves the OpenAPI document itself on ``GET /openapi.yaml`` (no token needed).
    With ``credentials``, every operation needs ``Authorization: Bearer <credentials.secret>``.
    """
    document = load_openapi(openapi_path)
    document_bytes = openapi_path.read_bytes()
    kind = state.instance.kind
    if handlers is None:  # every REST kind is declared by a mapping: its generated simulator gives the handlers
        raise ContractError(f"no REST simulator for agency kind {kind}: it has no mapping (contracts/kinds/)")
    routes = _routes(document)
    declared = {r.operation_id for r in routes}
    if declared != set(handlers):
        raise ContractError(f"{openapi_path}: operations {sorted(declared)} do not match the {kind} simulator's "
                            f"{sorted(handlers)}")

    def parameters_of(route: _Route, request: Request, path_params: dict[str, str]) -> None:
        for parameter in route.parameters:
            name, place = parameter["name"], parameter["in"]
            if place == "path":
                value: str | None = path_params.get(name)
            elif place == "header":
                value = request.headers.get(name.lower())
            else:
                given = request.query.get(name)
                value = given[0] if given else None
            if value is None:
                if parameter.get("required"):
                    raise _Problem(400, f"{place} parameter {name} is required")
                continue
            errors = schema_errors(value, parameter.get("schema", {}), document, name)
            if errors:
                raise _Problem(400, "; ".join(errors))
            check = PARAMETER_CHECKS.get(name)
            if check is not None and not check(value):
                raise _Problem(400, f"{place} parameter {name} {value!r} fails its check digit")

    def body_of(route: _Route, request: Request) -> dict[str, Any] | None:
        if route.body_schema is None:
            return None
        try:
            body = json.loads(request.body)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise _Problem(400, f"request body is not JSON: {exc}") from exc
        errors = schema_errors(body, route.body_schema, document)
        if errors:
            raise _Problem(422, "; ".join(errors))
        if not isinstance(body, dict):  # the schema says it is an object: only a schema without "type" lets this by
            raise _Problem(422, "request body is not a JSON object")
        return body

    def authorised(request: Request) -> bool:
        if credentials is None:
            return True
        given = request.headers.get("authorization", "")
        if given[:len(BEARER_PREFIX)].lower() != BEARER_PREFIX:
            return False
        return hmac.compare_digest(given[len(BEARER_PREFIX):].strip().encode(), credentials.secret.encode())

    def application(request: Request) -> Response:
        if request.method == "GET" and request.path == OPENAPI_DOCUMENT_PATH:
            return Response(200, document_bytes, {"Content-Type": OPENAPI_CONTENT_TYPE})
        if not authorised(request):  # who is asking comes before what they ask
            refusal = problem(401, "missing or invalid bearer token", request.path)
            refusal.headers["WWW-Authenticate"] = 'Bearer realm="estelam-agency"'
            return refusal
        matches = [(r, m) for r in routes if (m := r.pattern.match(request.path))]
        if not matches:
            return problem(404, f"no resource at {request.path}", request.path)
        chosen = next(((r, m) for r, m in matches if r.method == request.method), None)
        if chosen is None:
            allowed = ", ".join(sorted({r.method for r, _ in matches}))
            answer = problem(405, f"{request.method} is not allowed on {request.path}", request.path)
            answer.headers["Allow"] = allowed
            return answer
        route, match = chosen
        path_params = {k: unquote(v) for k, v in match.groupdict().items()}
        try:
            parameters_of(route, request, path_params)
            body = body_of(route, request)
        except _Problem as refusal:
            return problem(refusal.status, refusal.detail, request.path)
        query = {name: values[0] for name, values in request.query.items() if values}
        return handlers[route.operation_id](state, _Call(path_params, request.headers, body, query))

    return application
