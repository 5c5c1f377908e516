"""Schemathesis against the app's own OpenAPI document (`/api`), in process: every
operation gets generated valid and invalid requests (fixed seed, a bounded number of
examples), and no answer may be a 5xx, take longer than a deadline, or be a 4xx that is
not the JSON error document: odd input is a JSON 4xx, never a 500 (DESIGN.md)."""
from __future__ import annotations

import time
from collections import Counter

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis.errors import Unsatisfiable
from openapi_spec_validator import validate
from schemathesis import GenerationMode

EXAMPLES = 20            # per operation and generation mode: the whole run stays near a minute
DEADLINE_S = 10.0        # no single answer may take longer
SEED = 20261203


@pytest.fixture(scope="module")
def api_schema(app):
    """The OpenAPI document the app serves at /api, bound to the in-process WSGI app."""
    return schemathesis.openapi.from_wsgi("/api", app)


def operations(schema) -> list:
    """Every operation of the document (an operation the loader cannot read is a failure)."""
    return [result.ok() for result in schema.get_all_operations()]


def json_error(response) -> bool:
    """False when a 4xx is not the JSON error document `{"code": ..., "description": ...}`."""
    if not 400 <= response.status_code < 500:
        return True
    try:
        body = response.json()
    except ValueError:
        return False
    return isinstance(body, dict) and {"code", "description"} <= body.keys()


def fuzz(operation, mode: GenerationMode, statuses: Counter, unnegatable: list[str]) -> list[str]:
    """Requests of one operation that got a 5xx or were too slow, described for the report;
    counts every answer's status into `statuses`, and notes in `unnegatable` an operation
    with nothing to make invalid (no parameter, or only free strings such as `lang`)."""
    bad: list[str] = []

    @seed(SEED)
    @settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=True,
              phases=[Phase.explicit, Phase.generate],
              suppress_health_check=list(HealthCheck))
    @given(case=operation.as_strategy(generation_mode=mode))
    def run(case):
        started = time.monotonic()
        response = case.call()
        took = time.monotonic() - started
        statuses[response.status_code] += 1
        if response.status_code >= 500 or took > DEADLINE_S or not json_error(response):
            bad.append(f"{response.status_code} in {took:.1f} s: {case.method} "
                       f"{response.request.url} :: {response.text[:200]!r}")

    try:
        run()
    except Unsatisfiable:
        if mode is GenerationMode.POSITIVE:
            raise
        unnegatable.append(f"{operation.method.upper()} {operation.path}")
    return bad


def test_the_document_is_valid_openapi_3(client):
    doc = client.get("/api?f=json").json
    validate(doc)                      # openapi-spec-validator: raises on an invalid document
    assert doc["openapi"].startswith("3.0")


def test_the_document_has_operations(api_schema):
    paths = {op.path for op in operations(api_schema)}
    assert {"/", "/collections", "/collections/parcels/items",
            "/collections/parcels/items/{featureId}",
            "/collections/{collectionId}/tiles/{tileMatrixSetId}/{tileMatrix}/{tileRow}/{tileCol}",
            "/tiles/{layers}/{z}/{x}/{y}.mvt", "/tiles/{layers}.json", "/rasters",
            "/query/identify", "/query/within", "/search", "/map"} <= paths, sorted(paths)


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=str)
def test_no_server_error_and_no_slow_answer(api_schema, mode):
    ops, statuses, unnegatable = operations(api_schema), Counter(), []
    bad = [line for op in ops for line in fuzz(op, mode, statuses, unnegatable)]
    print(mode, dict(sorted(statuses.items())), "nothing to negate:", unnegatable)
    assert len(unnegatable) < len(ops) // 4, unnegatable
    assert not bad, f"{len(bad)} bad answers:\n" + "\n".join(bad[:30])
    # the run had a subject: every operation was called, and answered
    assert sum(statuses.values()) >= 2 * len(ops), statuses
    assert statuses[200] > 0, statuses
    if mode is GenerationMode.NEGATIVE:
        assert sum(n for s, n in statuses.items() if 400 <= s < 500) > 0, statuses
