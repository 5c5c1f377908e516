"""An execute request's inputs checked against the process's description: only inputs
it declares, the required ones present, each value valid against its JSON Schema. What
is wrong is an InvalidParameter naming the input, in words a caller can act on."""
from __future__ import annotations

from functools import lru_cache

from jsonschema import Draft202012Validator
from jsonschema.exceptions import best_match

from gisdb.errors import InvalidParameter

from .process import Process

EXECUTE_MEMBERS = {"inputs", "outputs", "response", "subscriber"}


@lru_cache(maxsize=256)
def _validator(process_id: str, input_id: str) -> Draft202012Validator:
    from .catalogue import get_process
    return Draft202012Validator(get_process(process_id).inputs[input_id]["schema"])


def execute_request(body) -> dict:
    """The `inputs` of an execute request body (OGC API - Processes); its other members
    may only be those the standard names, `response` only `raw` or `document`."""
    if body is None:
        return {}
    if not isinstance(body, dict):
        raise InvalidParameter("the execute request must be a JSON object with `inputs`")
    unknown = set(body) - EXECUTE_MEMBERS
    if unknown:
        raise InvalidParameter("unknown member(s) of the execute request: "
                               + ", ".join(sorted(map(str, unknown)))[:200])
    if body.get("response", "raw") not in ("raw", "document"):
        raise InvalidParameter("response must be raw or document")
    inputs = body.get("inputs", {})
    if not isinstance(inputs, dict):
        raise InvalidParameter("inputs must be an object of input id: value")
    return inputs


def checked_inputs(process: Process, inputs: dict) -> dict:
    """`inputs` valid for `process` and prepared by it (InvalidParameter otherwise)."""
    unknown = set(inputs) - set(process.inputs)
    if unknown:
        raise InvalidParameter(f"unknown input(s) of {process.id}: "
                               + ", ".join(sorted(map(str, unknown)))[:200])
    for input_id, spec in process.inputs.items():
        if input_id not in inputs:
            if spec.get("minOccurs", 1) > 0:
                raise InvalidParameter(f"input {input_id} is required")
            continue
        error = best_match(_validator(process.id, input_id).iter_errors(inputs[input_id]))
        if error is not None:
            where = "/".join(map(str, error.absolute_path))
            raise InvalidParameter(f"input {input_id}{'/' + where if where else ''}: "
                                   + _short(error.message))
    return process.prepare(dict(inputs))


def _short(message: str, limit: int = 160) -> str:
    """A validator's message, cut (it quotes the offending value, which may be huge)."""
    return message if len(message) <= limit else message[:limit] + "..."
