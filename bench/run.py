"""Region-scale benchmark: `python -m bench.run` (or `make bench`, `make bench-small`).

For each factor it generates the synthetic region, serves it from the stand-in Moodle (a child
process with the cost model of a real Moodle 4.5), and on SQLite and PostgreSQL measures the full
sync against its fetch floor, the no-op sync, the report against its query floor and the email
preview; it checks every count and figure against the generator's truth and exits 1 if one is
wrong. Results: bench/results/latest.json and latest.md (README «Производительность»).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import statistics
import sys
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click
import requests

from bench.checks import compare_figures, data_digest, report_figures, sync_counts_problems
from bench.databases import Database, open_databases
from bench.floors import RecordingSession, query_figures, replay
from bench.generator import Region, generate_region, write_form_exports
from bench.machine import machine_info
from bench.passes import active_year_days, bulk_load_floor, bulk_paths, nightly_clock, profiled
from bench.server import StandinProcess
from bench.table import growth, markdown
from connectors.demo.standin import CostModel
from connectors.moodle import MoodleClient, MoodleConnector
from intensive_tracker.app import App
from intensive_tracker.config import Settings, parse_settings
from intensive_tracker.people.districts import load_registry
from intensive_tracker.store.schema import ensure_schema
from intensive_tracker.sync.engine import run_sync
from intensive_tracker.sync.state import SyncReport

log = logging.getLogger("bench")
ROOT = Path(__file__).resolve().parent


@dataclass
class Options:
    factors: list[float]
    reps: list[int]
    dbs: list[str]
    cost: CostModel
    page_size: int = 200
    seed: int = 9
    results: Path = ROOT / "results"
    work: Path = Path("out/bench")
    pg_url: str = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
    report_reps: int = 3
    pg_max_factor: float = 1.0
    full_max_factor: float = float("inf")
    command: str = ""
    notes: list[str] = field(default_factory=list)


def median(values: list[float]) -> float:
    return round(statistics.median(values), 3)


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    started = time.perf_counter()
    value = fn()
    return time.perf_counter() - started, value


# --- one factor ----------------------------------------------------------------------------------


def bench_settings(region: Region, db: Database, server_url: str, opts: Options, work: Path) -> tuple[Settings, Path]:
    """The tracker's config for this region, written to a file too (the report reads it like the CLI)."""
    data: dict[str, Any] = {
        "database_url": db.url,
        "moodle": {
            "url": server_url,
            "page_size": opts.page_size,
            "max_in_flight": opts.cost.concurrency,
            # Every pass but the nightly one fetches every cohort fully, whatever the clock says.
            "finished_after_days": 0,
        },
        "report": {"out_dir": str(work / "report")},
        "programs": [{"key": "ku", "title": "Конструирование урока"}, {"key": "shn", "title": "Школа наставничества"}],
        "cohorts": region.cohorts,
        # The email preview builds every district's message; nothing is sent, so no server is needed.
        "mail": {
            "smtp_host": "127.0.0.1",
            "security": "none",
            "from_address": "lab@bench.invalid",
            "lab_address": "lab@bench.invalid",
        },
        "districts": {
            "recipients": {name: [f"umc{n}@bench.invalid"] for n, name in enumerate(load_registry().territorial())}
        },
    }
    path = work / "config.toml"
    work.mkdir(parents=True, exist_ok=True)
    path.write_text(_toml(data), encoding="utf-8")
    return parse_settings(data, source=str(path)), path


def _toml(data: dict[str, Any]) -> str:
    def value(v: Any) -> str:
        return json.dumps(v, ensure_ascii=False) if not isinstance(v, bool) else str(v).lower()

    lines = [f"{k} = {value(v)}" for k, v in data.items() if not isinstance(v, (dict, list))]
    for k, v in data.items():
        if isinstance(v, dict):
            lines += ["", f"[{k}]", *(f"{kk} = {value(vv)}" for kk, vv in v.items() if not isinstance(vv, dict))]
            for kk, vv in v.items():
                if isinstance(vv, dict):
                    lines += ["", f"[{k}.{kk}]", *(f"{value(name)} = {value(x)}" for name, x in vv.items())]
    for k, v in data.items():
        if isinstance(v, list):
            for item in v:
                lines += ["", f"[[{k}]]", *(f"{kk} = {value(vv)}" for kk, vv in item.items())]
    return "\n".join(lines) + "\n"


def one_sync(
    settings: Settings,
    server: StandinProcess,
    db: Database,
    session: requests.Session,
    *,
    clock: datetime | None = None,
) -> tuple[float, SyncReport, int]:
    client = MoodleClient(
        server.url,
        server.token,
        max_in_flight=settings.moodle.max_in_flight,  # type: ignore[union-attr]
        read_timeout=settings.moodle.read_timeout,
        session=session,
    )  # type: ignore[union-attr]
    connector = MoodleConnector(settings, client)
    if clock is not None:
        connector.clock = lambda: clock
    before = server.requests
    seconds, report = timed(lambda: run_sync(db.engine, settings, load_registry(), [connector], trigger="manual"))
    return seconds, report, server.requests - before


def email_preview(settings: Settings, db: Database, out: Path) -> tuple[float | None, str | None]:
    """`email --preview` for every district of every program: each message built as .eml, nothing sent."""
    from intensive_tracker.mail import preview_all

    seconds, preview = timed(lambda: preview_all(settings, db.engine, load_registry(), out_dir=out))
    if not preview.items:
        return None, "the email preview built no message: not measured"
    return round(seconds, 3), None


def forms_import(paths: list[Path], db: Database, settings: Settings) -> tuple[float | None, str]:
    """The two form exports imported through the forms connector, as `sync` imports them."""
    from connectors.forms import FormsConnector
    from intensive_tracker.config import FormSettings

    registration, signins = paths
    forms = [
        FormSettings.model_validate(
            {
                "name": "bench-registrations",
                "kind": "registration",
                "files": str(registration),
                "cohort": "FORMS-REG",
                "program": "ku",
                "columns": {
                    "timestamp": "Отметка времени",
                    "full_name": "ФИО",
                    "email": "Электронная почта",
                    "district": "Городской округ",
                    "school": "Образовательная организация",
                },
            }
        ),
        FormSettings.model_validate(
            {
                "name": "bench-signins",
                "kind": "attendance",
                "files": str(signins),
                "cohort": "FORMS-WEBINAR",
                "program": "ku",
                "session_date": "2023-10-11",
                "session_time": "15:00:00",
                "session_topic": "Вебинар (список входа)",
                "columns": {"full_name": "Имя участника", "email": "Email"},
            }
        ),
    ]
    with_forms = settings.model_copy(update={"forms": forms})
    seconds, report = timed(
        lambda: run_sync(db.engine, with_forms, load_registry(), [FormsConnector(with_forms)], trigger="import-form")
    )
    if report.status != "ok":
        return None, f"the forms import ended «{report.status}»: {report.errors[:1]}"
    return round(seconds, 3), ""


def bench_factor(factor: float, reps: int, opts: Options, failures: list[str]) -> list[dict[str, Any]]:
    log.info("factor %s: generating the region", factor)
    region = generate_region(factor, seed=opts.seed, page_size=opts.page_size)
    truth = region.truth
    work = opts.work / f"factor-{factor:g}"
    forms = write_form_exports(region, work / "forms")
    runs: list[dict[str, Any]] = []
    names = [d for d in opts.dbs if d != "postgresql" or factor <= opts.pg_max_factor]
    if names != opts.dbs:
        opts.notes.append(
            f"PostgreSQL measured up to factor {opts.pg_max_factor:g} (--pg-max-factor): each run at "
            "a larger factor takes minutes of simulated Moodle time"
        )
    zero_cost = CostModel(0, 0, 0, opts.cost.concurrency)
    with (
        StandinProcess(region.world, opts.cost) as server,
        StandinProcess(region.world, zero_cost) as zero_server,
        open_databases(names, work, opts.pg_url, opts.notes) as dbs,
    ):
        recorded: RecordingSession | None = None
        for db in dbs:
            where = f"factor {factor:g} {db.name}"
            settings, config_path = bench_settings(region, db, server.url, opts, work / db.name)
            if factor > opts.full_max_factor:
                # Only the zero-cost passes (--full-max-factor): their requests are the ones the floor replays.
                session = RecordingSession() if recorded is None else requests.Session()
                zero = zero_cost_passes(region, db, settings, zero_server, where, failures, session)
                if recorded is None:
                    recorded = session  # type: ignore[assignment]
                runs.append({"factor": factor, "db": db.name, "reps": 1, "passes": "zero-cost only", **zero})
                continue
            sync_s, noop_s, requests_made, noop_requests, noop_rows = [], [], [], [], []
            load_before = os.getloadavg()[0]
            for rep in range(reps):
                db.reset()
                ensure_schema(db.engine)
                session: requests.Session = RecordingSession() if recorded is None else requests.Session()
                log.info("%s: full sync %d/%d", where, rep + 1, reps)
                seconds, report, made = one_sync(settings, server, db, session)
                if recorded is None:
                    recorded = session  # type: ignore[assignment]
                sync_s.append(seconds)
                requests_made.append(made)
                if report.status != "ok":
                    failures.append(f"{where}: sync ended {report.status}: {report.errors[:2]}")
                failures.extend(f"{where}: {p}" for p in sync_counts_problems(report.counts, truth))
                digest = data_digest(db.engine) if rep == 0 else None
                log.info("%s: no-op sync %d/%d", where, rep + 1, reps)
                seconds, again, made = one_sync(settings, server, db, requests.Session())
                noop_s.append(seconds)
                noop_requests.append(made)
                noop_rows.append(again.rows_written)
                if digest is not None and data_digest(db.engine) != digest:
                    failures.append(f"{where}: the no-op sync changed stored rows")
            for made in requests_made:
                if made != truth.requests_bound:
                    failures.append(f"{where}: the full sync made {made} requests, the bound is {truth.requests_bound}")
            if any(noop_rows):
                failures.append(f"{where}: the no-op sync wrote rows: {noop_rows}")
            runs.append(
                measure_outputs(
                    region,
                    db,
                    settings,
                    config_path,
                    work / db.name,
                    opts,
                    failures,
                    {
                        "factor": factor,
                        "db": db.name,
                        "reps": reps,
                        "sync_s": median(sync_s),
                        "sync_runs_s": [round(x, 3) for x in sync_s],
                        "requests": max(requests_made),
                        "requests_bound": truth.requests_bound,
                        "requests_bound_terms": truth.bound_terms,
                        "noop_rows_written": max(noop_rows),
                        "noop_requests": max(noop_requests),
                        "noop_s": median(noop_s),
                        "forms": [str(p.name) for p in forms],
                        # The machine may be shared: a load above its CPU count slows the sync (CPU) more than its floor.
                        "load_avg_1m": [round(load_before, 2), round(os.getloadavg()[0], 2)],
                    },
                )
            )
            f_s, f_note = forms_import(forms, db, settings)
            runs[-1].update({"forms_import_s": f_s, "forms_note": f_note})
            runs[-1].update(issue17_passes(region, db, settings, server, zero_server, where, failures))
        assert recorded is not None
        zero_floor_s = []
        for rep in range(reps):
            log.info("factor %g: zero-cost fetch floor %d/%d", factor, rep + 1, reps)
            seconds, ok = timed(lambda: replay(_to(recorded.sent, zero_server.url), concurrency=opts.cost.concurrency))
            zero_floor_s.append(seconds)
        floor_s = []
        for rep in range(reps if factor <= opts.full_max_factor else 0):
            log.info("factor %g: fetch floor %d/%d (%d requests)", factor, rep + 1, reps, len(recorded.sent))
            seconds, ok = timed(lambda: replay(recorded.sent, concurrency=opts.cost.concurrency))
            floor_s.append(seconds)
            if ok != len(recorded.sent):
                failures.append(f"factor {factor:g}: the fetch floor got {ok} answers of {len(recorded.sent)}")
    for run in runs:
        run["truth"] = {
            "participants": truth.participants,
            "enrolments": truth.enrolments,
            "sessions": truth.sessions,
            "attendance_marks": truth.marks,
            "defenses": truth.defenses,
        }
        paths = run.get("bulk_paths")
        if paths:
            opts.notes.append(
                f"factor {factor:g} postgresql bulk write of {paths['rows']:,} marks into the emptied table: "
                f"COPY into a temporary table + one INSERT … ON CONFLICT {paths['copy']} s, array pages (unnest) "
                f"{paths['unnest']} s (best of 3, same run); faster: {paths['faster']}; the sync uses "
                f"{paths['kept']} (store/upsert.py PG_BULK); the COPY path with the table's foreign keys dropped "
                f"(rolled back): {paths['copy_without_foreign_keys']} s, the rest is their per-row checks"
            )
        run["zero_cost_fetch_floor_s"] = median(zero_floor_s)
        run["zero_cost_vs_floor"] = round(
            run["zero_cost_sync_s"] / (run["zero_cost_fetch_floor_s"] + run["bulk_load_floor_s"]), 3
        )
        run["zero_cost_noop_vs_fetch"] = round(run["zero_cost_noop_s"] / run["zero_cost_fetch_floor_s"], 3)
        if "sync_s" not in run:
            opts.notes.append(
                f"factor {factor:g}: only the zero-cost passes (--full-max-factor {opts.full_max_factor:g}): "
                "no cost-model sync, no-op, nightly pass, report or fetch floor"
            )
            continue
        run["fetch_floor_s"] = median(floor_s)
        run["fetch_floor_runs_s"] = [round(x, 3) for x in floor_s]
        run["sync_vs_fetch_floor"] = round(run["sync_s"] / run["fetch_floor_s"], 3)
        run["nightly_time_share"] = round(run["nightly_s"] / run["sync_s"], 3)
        run["nightly_requests_share"] = round(run["nightly_requests"] / run["requests"], 3)
    return runs


def _to(sent: list[tuple[str, list[tuple[str, str]]]], url: str) -> list[tuple[str, list[tuple[str, str]]]]:
    """The recorded requests, sent to another server (the zero-cost stand-in)."""
    return [(url + "/" + u.split("/", 3)[3], form) for u, form in sent]


def issue17_passes(
    region: Region,
    db: Database,
    settings: Settings,
    server: StandinProcess,
    zero_server: StandinProcess,
    where: str,
    failures: list[str],
) -> dict[str, Any]:
    """Nightly pass (cost model), zero-cost full and no-op syncs, a profiled sync and the bulk-load floor."""
    clock = nightly_clock(region.world)
    assert settings.moodle is not None
    nightly_moodle = settings.moodle.model_copy(update={"finished_after_days": active_year_days(region.world, clock)})
    nightly_settings = settings.model_copy(update={"moodle": nightly_moodle})
    log.info("%s: nightly sync (clock %s)", where, clock.date())
    nightly_s, nightly, nightly_requests = one_sync(nightly_settings, server, db, requests.Session(), clock=clock)
    if nightly.status != "ok" or nightly.rows_written:
        failures.append(f"{where}: the nightly sync ended {nightly.status}, wrote {nightly.rows_written} rows")
    modes = {k: sum(1 for r in nightly.refresh if r["mode"] == k) for k in ("full", "incremental", "skipped")}
    return {
        "nightly_s": round(nightly_s, 3),
        "nightly_requests": nightly_requests,
        "nightly_refresh": modes,
        "nightly_clock": clock.isoformat(),
        "nightly_finished_after_days": nightly_moodle.finished_after_days,
        **zero_cost_passes(region, db, settings, zero_server, where, failures, requests.Session()),
    }


def zero_cost_passes(
    region: Region,
    db: Database,
    settings: Settings,
    zero_server: StandinProcess,
    where: str,
    failures: list[str],
    session: requests.Session,
) -> dict[str, Any]:
    """Zero-cost full and no-op syncs, the bulk paths (PostgreSQL), the bulk-load floor and a profiled sync."""
    assert settings.moodle is not None
    zero = settings.model_copy(update={"moodle": settings.moodle.model_copy(update={"url": zero_server.url})})
    db.reset()
    ensure_schema(db.engine)
    log.info("%s: zero-cost full sync", where)
    zero_s, report, _ = one_sync(zero, zero_server, db, session)
    if report.status != "ok":
        failures.append(f"{where}: the zero-cost sync ended {report.status}: {report.errors[:2]}")
    failures.extend(f"{where}: zero-cost sync: {p}" for p in sync_counts_problems(report.counts, region.truth))
    log.info("%s: zero-cost no-op sync", where)
    zero_noop_s, again, _ = one_sync(zero, zero_server, db, requests.Session())
    if again.rows_written:
        failures.append(f"{where}: the zero-cost no-op sync wrote {again.rows_written} rows")
    paths = bulk_paths(db.engine)
    if paths is not None:
        log.info("%s: bulk paths %s", where, paths)
    log.info("%s: bulk-load floor", where)
    bulk_s, bulk_rows, bulk_load_paths = bulk_load_floor(db.engine)
    db.reset()
    ensure_schema(db.engine)
    log.info("%s: profiled zero-cost full sync", where)
    with profiled() as profile:
        profiled_s, _, _ = one_sync(zero, zero_server, db, requests.Session())
    return {
        "zero_cost_sync_s": round(zero_s, 3),
        "zero_cost_noop_s": round(zero_noop_s, 3),
        "bulk_load_floor_s": round(bulk_s, 3),
        "bulk_load_rows": bulk_rows,
        "bulk_load_paths": bulk_load_paths,
        "profile": {**profile.as_dict(), "sync_s": round(profiled_s, 3)},
        **({"bulk_paths": paths} if paths is not None else {}),
    }


def measure_outputs(
    region: Region,
    db: Database,
    settings: Settings,
    config_path: Path,
    work: Path,
    opts: Options,
    failures: list[str],
    run: dict[str, Any],
) -> dict[str, Any]:
    """Report (CLI path) vs query floor, peak memory, email preview; figures checked against truth."""
    where = f"factor {run['factor']:g} {db.name}"
    out = work / "report"
    with App.from_config(config_path) as app:
        report_s = [timed(lambda: app.publish_report(out))[0] for _ in range(opts.report_reps)]
        tracemalloc.start()
        app.publish_report(out)
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    summary = json.loads((out / "summary.json").read_text("utf-8"))
    failures.extend(f"{where}: {p}" for p in compare_figures("report", report_figures(summary), region.truth.figures))
    floor_s, figures = [], None
    for _ in range(opts.report_reps):
        seconds, figures = timed(lambda: query_figures(db.engine))
        floor_s.append(seconds)
    failures.extend(f"{where}: {p}" for p in compare_figures("query floor", figures, region.truth.figures))
    preview_s, preview_note = email_preview(settings, db, work / "mail-preview")
    run.update(
        {
            "report_s": median(report_s),
            "report_runs_s": [round(x, 3) for x in report_s],
            "query_floor_s": median(floor_s),
            "report_vs_query_floor": round(median(report_s) / median(floor_s), 3),
            "report_peak_mb": round(peak / 2**20, 1),
            "report_outputs": sorted(p.name for p in out.iterdir() if not p.name.startswith(".")),
            "email_preview_s": preview_s,
            "email_preview_note": preview_note,
        }
    )
    return run


# --- the whole run --------------------------------------------------------------------------------


def run(opts: Options) -> int:
    started = time.perf_counter()
    failures: list[str] = []
    runs: list[dict[str, Any]] = []
    results = opts.results
    for factor, reps in zip(opts.factors, opts.reps, strict=True):
        runs += bench_factor(factor, reps, opts, failures)
        write_results(opts, runs, failures, started, partial=factor != opts.factors[-1])
    document = write_results(opts, runs, failures, started, partial=False)
    click.echo(markdown(document))
    if failures:
        click.echo(f"\n{len(failures)} check(s) failed:", err=True)
        for line in failures[:50]:
            click.echo(f"  {line}", err=True)
        return 1
    click.echo(f"\nAll checks passed. Results: {results / 'latest.json'}, {results / 'latest.md'}", err=True)
    return 0


def write_results(
    opts: Options, runs: list[dict[str, Any]], failures: list[str], started: float, *, partial: bool
) -> dict[str, Any]:
    document = {
        "schema_version": 1,
        "generated_at": datetime.now(UTC).replace(microsecond=0).isoformat(),
        "command": opts.command,
        "partial": partial,
        "wall_time_s": round(time.perf_counter() - started, 1),
        "machine": machine_info(opts.dbs, opts.pg_url),
        "cost_model": opts.cost.as_dict(),
        "page_size": opts.page_size,
        "seed": opts.seed,
        "factors": opts.factors,
        "reps": dict(zip([f"{f:g}" for f in opts.factors], opts.reps, strict=True)),
        "report_reps": opts.report_reps,
        "runs": runs,
        "growth": growth(runs),
        "checks_passed": not failures,
        "failures": failures[:200],
        "notes": sorted(set(opts.notes)),
    }
    opts.results.mkdir(parents=True, exist_ok=True)
    (opts.results / "latest.json").write_text(json.dumps(document, ensure_ascii=False, indent=2) + "\n", "utf-8")
    (opts.results / "latest.md").write_text(markdown(document) + "\n", "utf-8")
    return document


def parse_args(argv: list[str] | None) -> Options:
    p = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.split("\n\n")[0])
    p.add_argument("--factors", default="0.25,1,4", help="comma-separated scale factors (default 0.25,1,4)")
    p.add_argument("--reps", default="3,1,1", help="runs per factor, median reported (default 3,1,1)")
    p.add_argument(
        "--db",
        default="sqlite,postgresql",
        help="databases (default sqlite,postgresql; PostgreSQL is skipped with a note when unreachable)",
    )
    p.add_argument(
        "--pg-url",
        default=os.environ.get("BENCH_PG_URL", Options.pg_url),
        help="PostgreSQL admin URL; a throw-away database is made beside it (env BENCH_PG_URL)",
    )
    p.add_argument(
        "--pg-max-factor",
        type=float,
        default=1.0,
        help="largest factor run on PostgreSQL too (default 1: keeps `make bench` under half an hour)",
    )
    p.add_argument(
        "--full-max-factor",
        type=float,
        default=float("inf"),
        help="largest factor run with every pass; above it only the zero-cost passes (sync, no-op, bulk paths, "
        "bulk-load floor, profile, zero-cost fetch floor)",
    )
    p.add_argument("--per-call-ms", type=float, default=CostModel.per_call_ms)
    p.add_argument("--per-user-ms", type=float, default=CostModel.per_user_ms)
    p.add_argument("--per-mark-ms", type=float, default=CostModel.per_mark_ms)
    p.add_argument("--concurrency", type=int, default=CostModel.concurrency)
    p.add_argument("--page-size", type=int, default=200)
    p.add_argument("--report-reps", type=int, default=3)
    p.add_argument("--seed", type=int, default=9)
    p.add_argument("--results", type=Path, default=ROOT / "results", help="folder of latest.json and latest.md")
    p.add_argument("--work", type=Path, default=Path("out/bench"), help="scratch folder (databases, reports)")
    a = p.parse_args(argv)
    factors = [float(x) for x in a.factors.split(",")]
    reps = [int(x) for x in a.reps.split(",")]
    if len(reps) == 1:
        reps *= len(factors)
    if len(reps) != len(factors) or min(reps) < 1 or min(factors) <= 0:
        p.error("--reps needs one positive count per factor (or one for all); factors must be positive")
    return Options(
        factors=factors,
        reps=reps,
        dbs=[d.strip() for d in a.db.split(",") if d.strip()],
        cost=CostModel(a.per_call_ms, a.per_user_ms, a.per_mark_ms, a.concurrency),
        page_size=a.page_size,
        seed=a.seed,
        results=a.results,
        work=a.work,
        pg_url=a.pg_url,
        report_reps=a.report_reps,
        pg_max_factor=a.pg_max_factor,
        full_max_factor=a.full_max_factor,
        command=" ".join(["python -m bench.run", *(argv or sys.argv[1:])]),
    )


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; 0 when every check passed, 1 otherwise."""
    return run(parse_args(argv))


def _progress_to_stderr() -> None:
    # Only for the command: a test calling main() keeps its own logging untouched.
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", datefmt="%H:%M:%S", stream=sys.stderr)
    for noisy in ("urllib3", "alembic", "intensive_tracker", "connectors"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def _exit_on_sigterm() -> None:
    # A stopped run still drops its throw-away PostgreSQL database (the `finally` blocks run).
    import signal

    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))


if __name__ == "__main__":
    _progress_to_stderr()
    _exit_on_sigterm()
    sys.exit(main())
