"""OGC API - Processes over HTTP: `/processes`, `/processes/{id}`,
`POST /processes/{id}/execution`, `/jobs`, `/jobs/{id}`, `/jobs/{id}/results`,
`DELETE /jobs/{id}`. Each view reads the request and makes one call into
`layers.processes` (and `webmap.api.processes` for the documents).

An execution is synchronous (200 and the outputs) unless the caller prefers
`respond-async` or the process says its inputs are large: then a job is stored in
`meta.jobs` (201, `Location: /jobs/{id}`) and a runner thread runs it outside the
request. Executing needs the read role on every layer the process reads: a layer hidden
from the caller is a 401/403, never an answer about it. A job belongs to its caller.
Jobs are written and read on the primary (a replica cannot write, and a status read
right after a submission must see it); a synchronous run reads where the request's
reads go (webmap.read_routing)."""
from __future__ import annotations

import json

from flask import Blueprint, request

from gisdb.engine import db_errors
from gisdb.errors import InvalidParameter, JobFailed, NotFound, ResultNotReady
from layers.processes import get_process, job_store, no_progress, registry
from layers.processes.inputs import checked_inputs, execute_request
from layers.queries.inputs import integer
from layers.visibility import hidden_from_caller

from .api import processes as api
from .api.response import ApiResponse
from .authz import current_principal, require
from .process_jobs import runner
from .request_body import json_body
from .responses import json_document, respond
from .services import services

bp = Blueprint("processes", __name__)
JOB_STATUSES = ("accepted", "running", "successful", "failed", "dismissed")


def _base() -> str:
    return request.host_url.rstrip("/") + request.script_root


def _no_params(allowed: tuple[str, ...] = ()) -> dict:
    """The query string, which may hold only `f=json` and `allowed` names."""
    unknown = set(request.args) - {"f", *allowed}
    if unknown:
        raise InvalidParameter("unknown parameter(s): " + ", ".join(sorted(unknown))[:200])
    if request.args.get("f", "json") != "json":
        raise InvalidParameter("f must be json")
    return dict(request.args)


def _owner() -> str:
    """Whose jobs the caller sees: its principal, or every anonymous caller's."""
    principal = current_principal()
    return "anonymous" if principal is None else f"{principal.kind}:{principal.subject}"


def _json(doc: dict, status: int = 200, headers: dict | None = None, cache: str = "never"):
    body = json.dumps(doc, ensure_ascii=False, default=str).encode()
    return respond(ApiResponse(status=status, body=body, headers=headers or {}), cache)


@bp.get("/processes")
def processes_view():
    """The processes offered, with links to their descriptions."""
    _no_params()
    return respond(json_document(api.process_list(list(registry().values()), _base())),
                   "document")


@bp.get("/processes/<process_id>")
def process_view(process_id: str):
    """A process's description: inputs and outputs as JSON Schemas."""
    _no_params()
    return respond(json_document(api.description(get_process(process_id), _base())), "document")


def _may_read(layer_ids) -> None:
    """Refuse (401/403) an execution that reads a layer hidden from the caller."""
    hidden = [layer_id for layer_id in layer_ids if hidden_from_caller(layer_id)]
    if hidden:
        require(hidden, "read", write=False)


def _wants_async() -> bool:
    prefer = request.headers.get("Prefer", "")
    return any(part.strip().lower() == "respond-async" for part in prefer.split(","))


@bp.post("/processes/<process_id>/execution")
def execute_view(process_id: str):
    """Run a process: the outputs (200), or a job (201 and its status) when the caller
    prefers respond-async or the inputs are large."""
    _no_params()
    process = get_process(process_id)
    raw = request.get_data(cache=True)
    parsed = json_body(raw) if raw.strip() else None
    inputs = checked_inputs(process, execute_request(parsed))
    _may_read(process.layers_read(inputs))
    if _wants_async() or process.is_large(inputs):
        return _submit(process.id, inputs)
    outputs = process.run(services().engine.connect, inputs, no_progress)
    document = isinstance(parsed, dict) and parsed.get("response") == "document"
    value = outputs if document or len(outputs) != 1 else next(iter(outputs.values()))
    return _json(value, cache="private" if current_principal() else "never")


def _submit(process_id: str, inputs: dict):
    """Store a job, wake this process's runner, answer 201 with its status."""
    engine = services().primary
    job_id = job_store.submit(engine, process_id, inputs, _owner())
    runner().wake()
    with db_errors(), engine.connect() as conn:
        job = job_store.get_job(conn, job_id)
    headers = {"Location": f"{_base()}/jobs/{job_id}"}
    if _wants_async():
        headers["Preference-Applied"] = "respond-async"
    return _json(api.status_info(job, _base()), 201, headers)


@bp.get("/jobs")
def jobs_view():
    """The caller's jobs, newest first (`limit`, `offset`, `status`)."""
    p = _no_params(("limit", "offset", "status"))
    limit = integer(p.get("limit", job_store.MAX_LIST), "limit", low=1, high=job_store.MAX_LIST)
    offset = integer(p.get("offset", 0), "offset", low=0, high=1_000_000)
    status = tuple(s for s in p.get("status", "").split(",") if s)
    if set(status) - set(JOB_STATUSES):
        raise InvalidParameter("status must be among " + ", ".join(JOB_STATUSES))
    runner()
    with db_errors(), services().primary.connect() as conn:
        jobs = job_store.list_jobs(conn, _owner(), limit=limit, offset=offset, status=status)
    return _json(api.job_list(jobs, _base()))


def _job(job_id: str):
    with db_errors(), services().primary.connect() as conn:
        return job_store.get_job(conn, job_store.parse_job_id(job_id), _owner())


@bp.get("/jobs/<job_id>")
def job_view(job_id: str):
    """A job's status info."""
    _no_params()
    runner()
    return _json(api.status_info(_job(job_id), _base()))


@bp.get("/jobs/<job_id>/results")
def results_view(job_id: str):
    """A successful job's outputs by id; 404 before it ends, 500 when it failed."""
    _no_params()
    job = _job(job_id)
    if job.status in ("accepted", "running"):
        raise ResultNotReady(f"job {job.id} is {job.status}: its results are not ready")
    if job.status == "failed":
        raise JobFailed(job.message or "the job failed")
    if job.status == "dismissed":
        raise NotFound(f"job {job.id} was dismissed")
    return _json(job.results)


@bp.delete("/jobs/<job_id>")
def dismiss_view(job_id: str):
    """Dismiss a job: a waiting one never runs, a running one stops at its next
    progress report, the results of a finished one are dropped."""
    _no_params()
    job = _job(job_id)
    job_store.dismiss(services().primary, job.id, _owner())
    return _json(api.status_info(_job(job_id), _base()))
