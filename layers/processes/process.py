"""What a process is: an analysis other systems run over HTTP (OGC API - Processes) or
analysts from Python, described by JSON Schemas of its inputs and outputs.

A process checks its inputs once, at the boundary (`prepare`, inside the caller's
request, so layers hidden from the caller stay hidden and a bad input is a 400 before any
job exists), names the layers it reads (`layers_read`: executing needs the read role on
each), says whether an input is large enough to run as a job (`is_large`), and `run`s
with a connection factory and a progress callback, returning its outputs by id."""
from __future__ import annotations

from abc import ABC, abstractmethod
from contextlib import AbstractContextManager
from typing import Callable, Protocol

import sqlalchemy as sa

ConnectionFactory = Callable[[], AbstractContextManager[sa.Connection]]


class Progress(Protocol):
    """Told how far a run has come (0-100) and what it does; raises JobDismissed when
    the job was dismissed meanwhile, so the run stops."""

    def __call__(self, percent: int, message: str) -> None:
        """Record the progress of the run."""


def json_result(title: str) -> dict[str, dict]:
    """The outputs of a process whose one output, `result`, is a JSON object."""
    return {"result": {"title": title, "schema": {"type": "object",
                                                  "contentMediaType": "application/json"}}}


def no_progress(percent: int, message: str) -> None:
    """The progress callback of a synchronous run: nobody polls it."""


class Process(ABC):
    """Base of every process; subclasses set the class attributes and override `run`
    (and `prepare`, `layers_read`, `is_large` where they need to)."""

    id: str = ""
    title: str = ""
    title_vi: str = ""
    description: str = ""
    version: str = "1.0.0"
    inputs: dict[str, dict] = {}     # input id -> {title, description, schema, minOccurs}
    outputs: dict[str, dict] = {}    # output id -> {title, description, schema}

    def prepare(self, inputs: dict) -> dict:
        """The inputs checked beyond their schemas and normalised (JSON-able: they are
        stored with the job); InvalidParameter for what is wrong."""
        return inputs

    def layers_read(self, inputs: dict) -> tuple[str, ...]:
        """Ids of the layers a run with these (prepared) inputs reads."""
        return ()

    def is_large(self, inputs: dict) -> bool:
        """True when a run with these inputs should be a job (asynchronous)."""
        return False

    @abstractmethod
    def run(self, conn_factory: ConnectionFactory, inputs: dict,
            progress: Progress = no_progress) -> dict:
        """Outputs by id of a run with prepared inputs."""
