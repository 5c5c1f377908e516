"""The OpenAPI paths of OGC API - Processes: the process list and descriptions, the
execution (synchronous, or a job with `Prefer: respond-async`) and the jobs."""
from __future__ import annotations

from layers.processes import registry

from .openapi_services import ERROR, JSON_OBJECT, get, param

JOB_ID = param("jobId", "Job id (a UUID).", {"type": "string", "maxLength": 64}, where="path")
EXECUTE_BODY = {"required": True, "content": {"application/json": {"schema": {
    "type": "object",
    "properties": {"inputs": {"type": "object", "description": "Input id: value, as the "
                              "process description's JSON Schemas say."},
                   "response": {"type": "string", "enum": ["raw", "document"]}}}}}}


def _process_param() -> dict:
    return param("processId", "Process id.", {"type": "string", "enum": sorted(registry())},
                 where="path")


def _execute() -> dict:
    return {"summary": "Execute a process: its outputs (200), or a job (201, Location) with "
                       "`Prefer: respond-async` or for large inputs",
            "operationId": "processes_execute", "tags": ["processes"],
            "parameters": [_process_param(),
                           param("Prefer", "respond-async: run as a job.", {"type": "string"},
                                 where="header")],
            "requestBody": EXECUTE_BODY,
            "responses": {"200": {"description": "The outputs.", "content": JSON_OBJECT},
                          "201": {"description": "The job's status info.", "content": JSON_OBJECT},
                          "400": ERROR, "401": ERROR, "403": ERROR, "404": ERROR,
                          "413": ERROR, "503": ERROR}}


def process_paths() -> dict:
    """Every Processes path of /api."""
    listing = [param("limit", "Jobs per page.", {"type": "integer", "minimum": 1, "maximum": 100}),
               param("offset", "Jobs to skip.", {"type": "integer", "minimum": 0}),
               param("status", "Comma-separated statuses.", {"type": "string"})]
    dismiss = get("Dismiss a job", "processes_dismissJob", [JOB_ID], JSON_OBJECT)
    dismiss["responses"].pop("304")
    return {
        "/processes": {"get": get("The processes offered", "processes_list", [], JSON_OBJECT)},
        "/processes/{processId}": {"get": get("A process's description (inputs and outputs as "
                                              "JSON Schemas)", "processes_describe",
                                              [_process_param()], JSON_OBJECT)},
        "/processes/{processId}/execution": {"post": _execute()},
        "/jobs": {"get": get("The caller's jobs", "processes_jobs", listing, JSON_OBJECT)},
        "/jobs/{jobId}": {"get": get("A job's status", "processes_job", [JOB_ID], JSON_OBJECT),
                          "delete": dismiss},
        "/jobs/{jobId}/results": {"get": get("A successful job's outputs", "processes_results",
                                             [JOB_ID], JSON_OBJECT)},
    }
