"""`run_import`: one import from file to layer, atomic and logged.

Steps: check the file (safety), hash it, log the run as `running`; open the dataset
(encoding and CRS decided and reported); stream it into a TEMP staging table with
binary COPY, stopping early if the first batch lands outside Da Nang; validate and
repair in SQL; write the rejects file; plan the changes on the natural key; and (unless
a dry run) apply them and mark the log `done` in the same transaction. All database work
happens in that one transaction on one session: a killed import rolls back and its
TEMP tables vanish, so the layer is exactly as before."""
from __future__ import annotations

import time
from contextlib import closing
from dataclasses import dataclass, field, replace
from pathlib import Path

import sqlalchemy as sa

from ..attribution import attribute
from ..bulk import BULK_MIN_ROWS
from ..engine import db_errors
from ..errors import GisdbError, ImportFailed, InvalidParameter
from ..settings import Settings
from ..srids import ensure_epsg_srid
from . import apply as applying
from . import log
from .crs import GEOMETRY_TOLERANCE_M, diagnose, resolve_crs, transformer_to_storage
from .gdal_guard import guard_gdal
from .mapping import FieldMapping, resolve
from .prefetch import read_ahead
from .progress import Progress
from .rejects import write_rejects
from .report import ImportReport
from .safety import safe_open_path
from .sources import Source, open_source, read_chunks
from .staging import copy_chunk, create_stage, stage_columns, stage_table
from .target import ImportTarget
from .validate import Policy, build_checked, count_outcome

MODES = ("append", "replace", "upsert")
ON_INVALID = ("fix", "reject", "fail")
IMPORT_TIMEZONE = "Asia/Ho_Chi_Minh"
MAX_TOLERANCE_M = 10.0


@dataclass
class ImportOptions:
    mode: str = "upsert"
    srs: str | None = None
    encoding: str | None = None
    mapping: FieldMapping = field(default_factory=FieldMapping)
    dry_run: bool = False
    report_path: Path | None = None
    rejects_path: Path | None = None
    on_invalid: str = "fix"
    force: bool = False
    table: str | None = None
    chunk_size: int = 50_000
    user: str | None = None                     # who imports (--actor; default: the OS user)
    tolerance_m: float = GEOMETRY_TOLERANCE_M   # geometries closer than this are unchanged
    geometry_columns: tuple[str, ...] = ()      # a CSV's geometry columns, when named

    def check(self) -> None:
        if self.mode not in MODES:
            raise InvalidParameter(f"--mode must be one of {', '.join(MODES)}")
        if self.on_invalid not in ON_INVALID:
            raise InvalidParameter(f"--on-invalid must be one of {', '.join(ON_INVALID)}")
        if self.chunk_size < 1:
            raise InvalidParameter("the chunk size must be positive")
        if not (0 <= self.tolerance_m <= MAX_TOLERANCE_M):
            raise InvalidParameter(f"--tolerance must be between 0 and {MAX_TOLERANCE_M} metres")


def _rejects_path(settings: Settings, options: ImportOptions, report: ImportReport) -> Path:
    if options.rejects_path:
        return Path(options.rejects_path)
    if options.report_path:
        path = Path(options.report_path)
        return path.with_name(path.stem + ".rejects.geojson")
    return settings.data_dir / "imports" / f"import-{report.import_id}-rejects.geojson"


@dataclass
class ImportRun:
    """One import under way: where it goes, how, and what it has found so far. The steps
    below share it instead of threading the same parameters through each other."""

    engine: sa.Engine
    settings: Settings
    target: ImportTarget
    options: ImportOptions
    report: ImportReport
    progress: Progress
    started: float = field(default_factory=time.monotonic)
    lease: sa.Connection | None = None          # holds the log row's lock for the run
    source: Source | None = None

    def fail(self, message: str) -> None:
        """Record a failure in the log (and the report file)."""
        self.report.status, self.report.message = "failed", message
        self.report.seconds = time.monotonic() - self.started
        with db_errors():
            log.close_record(self.lease, self.report)
        if self.options.report_path:
            self.report.write_json(self.options.report_path)


def run_import(engine: sa.Engine, settings: Settings, target: ImportTarget, path: str | Path,
               options: ImportOptions, progress: Progress | None = None) -> ImportReport:
    """Import `path` into `target`; returns the report (raises ImportFailed and friends
    after logging the failure; the layer is then unchanged). GDAL is guarded (no
    network, named drivers) before the file is looked at; the file is checked once."""
    options.check()
    guard_gdal()
    checked_path = safe_open_path(path, settings)
    report = ImportReport(layer=target.layer_id, file=str(checked_path), mode=options.mode,
                          sha256=log.file_sha256(checked_path), dry_run=options.dry_run)
    run = ImportRun(engine, settings, target, options, report, progress or Progress(None, enabled=False))
    with db_errors(), engine.connect() as run.lease:
        report.import_id = log.start_record(run.lease, report, options.user)
        try:
            _run_logged(run, checked_path, Path(path))
        finally:
            log.release(run.lease, report.import_id)
    if options.report_path:
        report.write_json(options.report_path)
    return report


def _run_logged(run: ImportRun, checked_path: Path, original: Path) -> None:
    """The run itself; a failure is recorded in the log (and the report file) and raised."""
    options = run.options
    try:
        with open_source(checked_path, run.settings, original=original, table=options.table,
                         encoding=options.encoding,
                         geometry_columns=tuple(options.geometry_columns)) as run.source:
            _describe(run.report, run.source, options, run.target)
            run.progress.total = run.source.feature_count
            _run(run)
    except GisdbError as exc:
        run.fail(str(exc))
        raise
    except Exception as exc:        # a bug or an unexpected driver error: still logged
        run.fail(f"internal error ({type(exc).__name__})")
        raise
    finally:
        run.progress.close()


def _describe(report: ImportReport, source, options: ImportOptions, target: ImportTarget) -> None:
    report.format = source.driver
    report.table = source.layer
    report.encoding = source.encoding.name
    report.warnings.extend(source.warnings)
    short = target.short_names if source.driver == "ESRI Shapefile" else None
    plans = resolve(options.mapping, target, source.field_names, short)
    report.mapping = {p.column: p.describe(source.field_names) for p in plans}
    source.plans = plans


def _run(run: ImportRun) -> None:
    """Stage, validate and (unless a dry run) apply, in one transaction."""
    source, options, report, settings = run.source, run.options, run.report, run.settings
    choice = resolve_crs(options.srs, source.crs_text, file_label=source.original.name)
    report.crs = choice.as_dict()
    report.warnings.extend(choice.warnings)
    for warning in choice.warnings:
        run.progress.warn(warning)
    transformer = transformer_to_storage(choice)
    columns = stage_columns(source.field_types)
    stage = stage_table(columns)
    policy = Policy(on_invalid=options.on_invalid, append=options.mode == "append")
    ensure_epsg_srid(run.engine, run.target.metric_srid)
    with db_errors(), run.engine.connect() as conn:
        with conn.begin() as trans:
            conn.execute(sa.text("SELECT set_config('statement_timeout', :t, true), "
                                 "set_config('TimeZone', :z, true), set_config('application_name', :a, true)"),
                         {"t": str(settings.import_statement_timeout_ms), "z": IMPORT_TIMEZONE,
                          "a": "gisdb-import"})
            attribute(conn, actor=options.user or log.who()[0], source="import",
                      import_id=report.import_id)
            create_stage(conn, stage)
            run.progress.phase(f"reading {source.original.name} ({source.driver}, {choice.label})")
            run.progress.start_rows()
            with closing(read_ahead(read_chunks(source, transformer, options.chunk_size))) as chunks:
                for chunk in chunks:
                    if chunk.start == 0:
                        problem = diagnose(chunk.sample, choice)
                        if problem:
                            raise ImportFailed(problem)
                    copy_chunk(conn, columns, chunk.start, chunk.wkb, chunk.flags, chunk.values)
                    run.progress.advance(len(chunk))
            for sql_validity in (False, True):
                savepoint = conn.begin_nested()
                try:
                    _validate_and_apply(run, conn, stage, replace(policy, sql_validity=sql_validity))
                except applying.GeometryCheckFailed:
                    if sql_validity:
                        raise
                    savepoint.rollback()
                    report.warnings.append("the reader's validity test and PostGIS's disagreed on a "
                                           "geometry: validated again with PostGIS")
                    continue
                savepoint.commit()
                break
            report.seconds = time.monotonic() - run.started
            if options.dry_run:
                trans.rollback()
                log.close_record(run.lease, report)
                return
            log.finish_record(conn, report)


def _validate_and_apply(run: ImportRun, conn: sa.Connection, stage, policy: Policy) -> None:
    """Validate the staged rows, write the rejects, plan, and (unless a dry run) apply."""
    target, source, options, report, progress = run.target, run.source, run.options, run.report, run.progress
    progress.phase("validating in the database")
    checked = build_checked(conn, stage, target, source.plans, policy)
    outcome = count_outcome(conn, checked)
    report.set_outcome(outcome)
    if options.on_invalid == "fail" and outcome["invalid"]:
        raise ImportFailed(f"{outcome['invalid']} invalid geometries (first at row "
                           f"{outcome['first_invalid_row']}); use --on-invalid fix or reject")
    if report.rejected:
        path = _rejects_path(run.settings, options, report)
        write_rejects(conn, stage, checked, source.field_names, path)
        report.rejects_file = str(path)
    match, changes = applying.plan_changes(conn, checked, target, options.mode, options.tolerance_m)
    refusal = applying.check_replace(changes, options.force, target.layer_id) \
        if options.mode == "replace" else None
    report.changes = changes.as_dict()
    if options.dry_run:
        if refusal:
            report.warnings.append(refusal)
        report.status = "dry-run"
        return
    if refusal:
        raise ImportFailed(refusal)
    if 0 < changes.written < BULK_MIN_ROWS:       # where a small import wrote (for the analyses after it)
        report.written_extent = applying.written_extent(conn, checked, match, target, options.mode)
    progress.phase(f"applying to {target.qualified_name} ({options.mode})")
    applying.apply_changes(conn, checked, match, target, options.mode, changes)
    report.changes = changes.as_dict()
    report.status = "done"
