"""How each figure grows with the factor, and the Markdown table the README shows."""

from __future__ import annotations

import math
from typing import Any

GROWING = (
    "sync_s",
    "fetch_floor_s",
    "requests",
    "noop_s",
    "report_s",
    "query_floor_s",
    "report_peak_mb",
    "email_preview_s",
    # issue 17: the zero-cost passes (the only ones of a --full-max-factor run)
    "zero_cost_sync_s",
    "zero_cost_noop_s",
    "zero_cost_fetch_floor_s",
    "bulk_load_floor_s",
)
# A growth exponent in this band counts as a straight line (work ∝ factor).
LINEAR = (0.85, 1.15)


def growth(runs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per database and figure, between consecutive factors: the exponent k in figure ∝ factor^k."""
    out = []
    for db in sorted({r["db"] for r in runs}):
        series = sorted((r for r in runs if r["db"] == db), key=lambda r: r["factor"])
        for name in GROWING:
            for a, b in zip(series, series[1:]):
                ya, yb = a.get(name), b.get(name)
                if not ya or not yb or a["factor"] == b["factor"]:
                    continue
                k = math.log(yb / ya) / math.log(b["factor"] / a["factor"])
                verdict = (
                    "linear" if LINEAR[0] <= k <= LINEAR[1] else ("sub-linear" if k < LINEAR[0] else "super-linear")
                )
                out.append(
                    {
                        "db": db,
                        "figure": name,
                        "from_factor": a["factor"],
                        "to_factor": b["factor"],
                        "exponent": round(k, 2),
                        "verdict": verdict,
                    }
                )
    return out


def _n(value: Any, digits: int = 2) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def markdown(doc: dict[str, Any]) -> str:
    """The results table, the growth table and the machine, as Markdown."""
    m, c = doc["machine"], doc["cost_model"]
    lines = [
        f"Machine: {m['nproc']} CPU ({m['cpu']}), {m['ram_gb']} GB RAM, {m['os']}; Python {m['python']}, "
        f"SQLite {m['sqlite']}, SQLAlchemy {m['sqlalchemy']}, PostgreSQL {m['postgresql'] or 'not measured'}.",
        f"Cost model of the stand-in Moodle: {c['per_call_ms']:g} ms per call + {c['per_user_ms']:g} ms per enrolled "
        f"user returned + {c['per_mark_ms']:g} ms per attendance mark, {c['concurrency']} requests served at once; "
        f"page size {doc['page_size']}; seed {doc['seed']}. Runs per factor: "
        + ", ".join(f"{f} → {n}" for f, n in doc["reps"].items())
        + f" (medians); report runs: {doc['report_reps']}.",
        f"Command: `{doc['command']}`; {doc['generated_at']}; total {doc['wall_time_s']:g} s"
        + (" (PARTIAL: the run did not finish)" if doc.get("partial") else "")
        + ".",
        "",
        "| factor | db | full sync s | fetch floor s | sync ÷ floor | requests / bound | no-op rows | no-op requests "
        "| no-op sync s | report s | query floor s | report ÷ floor | report peak MB | email preview s | forms import s | load 1m |",
        "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for r in doc["runs"]:
        if "sync_s" not in r:
            continue  # only the zero-cost passes (--full-max-factor): in the issue 17 table
        lines.append(
            f"| {r['factor']:g} | {r['db']} | {_n(r['sync_s'], 1)} | {_n(r['fetch_floor_s'], 1)} | "
            f"{_n(r['sync_vs_fetch_floor'], 3)} | {r['requests']} / {r['requests_bound']} | {r['noop_rows_written']} | "
            f"{r['noop_requests']} | {_n(r['noop_s'], 1)} | {_n(r['report_s'])} | {_n(r['query_floor_s'])} | "
            f"{_n(r['report_vs_query_floor'])} | {_n(r['report_peak_mb'], 1)} | {_n(r['email_preview_s'])} | {_n(r.get('forms_import_s'))} | "
            + "→".join(f"{x:.1f}" for x in r.get("load_avg_1m", []))
            + " |"
        )
    lines += _issue17(doc["runs"])
    if doc["growth"]:
        lines += [
            "",
            "Growth: k in figure ∝ factor^k between consecutive factors (1 = a straight line; "
            f"{LINEAR[0]}–{LINEAR[1]} counts as linear).",
            "",
            "| db | figure | factors | k | verdict |",
            "|---|---|---|---:|---|",
        ]
        for g in doc["growth"]:
            lines.append(
                f"| {g['db']} | {g['figure']} | {g['from_factor']:g} → {g['to_factor']:g} | "
                f"{g['exponent']:.2f} | {g['verdict']} |"
            )
    notes = list(doc.get("notes", []))
    notes += sorted({r[k] for r in doc["runs"] for k in ("email_preview_note", "forms_note") if r.get(k)})
    if notes:
        lines += ["", *(f"- {n}" for n in notes)]
    lines += [
        "",
        "Checks: "
        + (
            "all passed (counts and figures equal the generator's truth)."
            if doc["checks_passed"]
            else f"{len(doc['failures'])} FAILED — see failures in latest.json."
        ),
    ]
    return "\n".join(lines)


def _issue17(runs: list[dict[str, Any]]) -> list[str]:
    """Zero-cost pass, bulk-load floor, nightly pass and profile (issue 17), for runs that have them."""
    rows = [r for r in runs if "zero_cost_sync_s" in r]
    if not rows:
        return []
    lines = [
        "",
        "Zero-cost stand-in (no cost model), bulk-load floor, nightly pass (injected clock: the last school year "
        "active, the older ones finished) and where a zero-cost full sync's time goes (seconds; parse and validate "
        "run in the fetch threads, summed over threads):",
        "",
        "| factor | db | zero-cost sync s | fetch floor s | bulk-load floor s | sync ÷ (fetch + bulk) | no-op s "
        "| no-op ÷ fetch | nightly requests / full | nightly s / full s | cohorts full / incr. / skipped "
        "| parse | validate | diff | write |",
        "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|---:|",
    ]
    for r in rows:
        p = r["profile"]
        if "nightly_refresh" in r:
            n = r["nightly_refresh"]
            nightly = (
                f"{r['nightly_requests']} / {r['requests']} ({_n(r['nightly_requests_share'])}) | "
                f"{_n(r['nightly_s'], 1)} / {_n(r['sync_s'], 1)} ({_n(r['nightly_time_share'])}) | "
                f"{n['full']} / {n['incremental']} / {n['skipped']}"
            )
        else:
            nightly = "— | — | —"
        lines.append(
            f"| {r['factor']:g} | {r['db']} | {_n(r['zero_cost_sync_s'], 1)} | {_n(r['zero_cost_fetch_floor_s'], 1)} | "
            f"{_n(r['bulk_load_floor_s'], 1)} | {_n(r['zero_cost_vs_floor'])} | {_n(r['zero_cost_noop_s'], 1)} | "
            f"{_n(r['zero_cost_noop_vs_fetch'])} | {nightly} | "
            f"{_n(p['parse'], 1)} | {_n(p['validate'], 1)} | {_n(p['diff'], 1)} | {_n(p['write'], 1)} |"
        )
    return lines
