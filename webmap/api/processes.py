"""OGC API - Processes (Part 1: Core) documents, framework-free: the process list, a
process description with its inputs and outputs as JSON Schemas, a job's status info
and the job list. The views (webmap/processes_views.py) fill in what the request holds."""
from __future__ import annotations

from layers.processes import Process

from .links import link
from .response import JSON

PROCESSES = "http://www.opengis.net/spec/ogcapi-processes-1/1.0/conf/"
PROCESSES_CONFORMANCE = tuple(PROCESSES + name for name in (
    "core", "ogc-process-description", "json", "oas30", "job-list", "dismiss"))
REL = "http://www.opengis.net/def/rel/ogc/1.0/"
JOB_CONTROL = ["sync-execute", "async-execute", "dismiss"]


def summary(process: Process, base: str) -> dict:
    """What the process list says of a process."""
    href = f"{base}/processes/{process.id}"
    return {"id": process.id, "title": process.title, "title_vi": process.title_vi,
            "description": process.description, "version": process.version,
            "jobControlOptions": JOB_CONTROL, "outputTransmission": ["value"],
            "links": [link(href, "self", JSON, "process description"),
                      link(href + "/execution", REL + "execute", JSON, "execute the process")]}


def process_list(processes: list[Process], base: str) -> dict:
    """The /processes document."""
    return {"processes": [summary(p, base) for p in processes],
            "links": [link(f"{base}/processes", "self", JSON, "this document")]}


def description(process: Process, base: str) -> dict:
    """The /processes/{id} document: the summary with inputs and outputs."""
    doc = summary(process, base)
    doc["inputs"] = {k: {"description": "", **v} for k, v in process.inputs.items()}
    doc["outputs"] = {k: {"description": "", **v} for k, v in process.outputs.items()}
    return doc


def _time(value) -> str | None:
    return None if value is None else value.isoformat()


def status_info(job, base: str) -> dict:
    """A job's status info (statusInfo.yaml): status, progress, times, links."""
    href = f"{base}/jobs/{job.id}"
    links = [link(href, "self", JSON, "this job's status"),
             link(f"{base}/processes/{job.process_id}", "up", JSON, "the process")]
    if job.status == "successful":
        links.append(link(href + "/results", REL + "results", JSON, "the job's results"))
    return {"processID": job.process_id, "type": "process", "jobID": str(job.id),
            "status": job.status, "message": job.message, "progress": int(job.progress),
            "created": _time(job.created), "started": _time(job.started),
            "finished": _time(job.finished), "updated": _time(job.updated), "links": links}


def job_list(jobs: list, base: str) -> dict:
    """The /jobs document."""
    return {"jobs": [status_info(job, base) for job in jobs],
            "links": [link(f"{base}/jobs", "self", JSON, "this document")]}
