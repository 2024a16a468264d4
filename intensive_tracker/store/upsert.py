"""The change-aware upsert every sync writes through, and `chunked`, which bounds every IN list and VALUES page."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from operator import itemgetter
from typing import Any, TypeVar

from sqlalchemy import ARRAY, Boolean, and_, any_, bindparam, func, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, SQLModel

T = TypeVar("T")

# Rows per statement: well under PostgreSQL's 65,535 bind parameters and SQLite's limits for any table here.
CHUNK = 500
# Rows per statement of the bulk path (no ids wanted, issue 17): PostgreSQL sends one array per column, so the
# statement has a fixed number of parameters whatever its rows.
BULK_CHUNK = 10_000
# PostgreSQL's bulk path: "copy" (COPY into a temporary table, then one INSERT … SELECT … ON CONFLICT) or
# "unnest" (pages of BULK_CHUNK rows sent as one array per column). `python -m bench.run` measures both in
# the same run (bulk_paths in bench/results/latest.json) and the faster one is kept here (issue 17).
PG_BULK = "copy"
# SQLite's bulk path: rows per INSERT statement (fewer when the library's bound-parameter limit says so).
SQLITE_PAGE_ROWS = 5_000


def chunked(items: Sequence[T], size: int = CHUNK) -> Iterator[Sequence[T]]:
    """Consecutive slices of at most `size` items."""
    for start in range(0, len(items), size):
        yield items[start : start + size]


@dataclass
class Counts:
    """What a write did, per entity: the sync run records these."""

    inserted: int = 0
    updated: int = 0
    unchanged: int = 0

    def add(self, other: Counts) -> None:
        self.inserted += other.inserted
        self.updated += other.updated
        self.unchanged += other.unchanged

    def as_dict(self) -> dict[str, int]:
        return {"inserted": self.inserted, "updated": self.updated, "unchanged": self.unchanged}


@dataclass
class UpsertResult:
    counts: Counts = field(default_factory=Counts)
    ids: dict[tuple[Any, ...], int] = field(default_factory=dict)


def upsert(
    session: Session,
    model: type[SQLModel],
    rows: Sequence[Mapping[str, Any]],
    *,
    key: Sequence[str],
    ids: bool = True,
    scope: Any = None,
) -> UpsertResult:
    """Insert new rows, update changed ones, leave equal ones untouched; return ids by natural key.

    `ids=False` (the caller needs only the counts): ids of unchanged rows only, and the write takes the bulk
    path — SQLite pages of multi-row VALUES in key order, PostgreSQL `PG_BULK` (COPY into a temporary table,
    or pages of BULK_CHUNK rows as arrays), no RETURNING.

    `scope`: a WHERE clause that holds every stored row these rows could match (e.g. the cohort's rows). The
    stored rows are then read by one SELECT of plain columns, instead of one SELECT per CHUNK of keys.

    Existing rows are read first so that the counts are exact and an unchanged row is never
    written (a re-sync writes nothing). The write itself is an `INSERT … ON CONFLICT DO UPDATE
    … WHERE changed`, so a concurrent writer cannot make it fail or double a row.
    """
    result = UpsertResult()
    if not rows:
        return result
    table = model.__table__  # type: ignore[attr-defined]
    deduped: dict[tuple[Any, ...], Mapping[str, Any]] = {}
    natural = itemgetter(*key)
    if len(key) == 1:
        for row in rows:
            deduped[(natural(row),)] = row
    else:
        for row in rows:
            deduped[natural(row)] = row
    columns = list(next(iter(deduped.values())).keys())
    value_columns = [c for c in columns if c not in key]
    keys = list(deduped)
    dialect = session.get_bind().dialect.name
    # Natural key → (id, value columns as a tuple): plain rows, compared as tuples (issue 17).
    existing: dict[tuple[Any, ...], tuple[Any, tuple[Any, ...]]] = {}
    key_cols = [table.c[k] for k in key]
    n = len(key)
    read = select(*key_cols, table.c.id, *[table.c[c] for c in value_columns])
    wheres = [scope] if scope is not None else [_key_filter(key_cols, chunk, dialect) for chunk in chunked(keys)]
    conn = session.connection()
    for where in wheres:
        for record in conn.execute(read.where(where)):
            existing[tuple(record[:n])] = (record[n], tuple(record[n + 1 :]))
    to_write = []
    values_of = _tuple_getter(value_columns)
    for natural_key, row in deduped.items():
        before = existing.get(natural_key)
        if before is None:
            result.counts.inserted += 1
            to_write.append(row)
            continue
        result.ids[natural_key] = before[0]
        after = values_of(row)
        if after != before[1] and any(_differs(b, a) for b, a in zip(before[1], after, strict=True)):
            result.counts.updated += 1
            to_write.append(row)
        else:
            result.counts.unchanged += 1
    if not to_write:
        return result
    if not ids:
        _bulk_write(session, table, columns, key, value_columns, _in_key_order(to_write, natural), dialect)
        return result
    insert: Callable[..., Any] = {"sqlite": sqlite.insert, "postgresql": postgresql.insert}[dialect]
    # SQLite: one single-row statement run over the rows (executemany), which SQLAlchemy compiles
    # once and sends as multi-row VALUES pages; compiling a 500-row VALUES clause per chunk cost
    # more than the database's own work at region scale (issue 9). PostgreSQL: the rows travel as
    # one array per column and unnest() back into rows, so the statement text stays short and
    # psycopg does not re-parse thousands of placeholders per chunk.
    if dialect == "postgresql":
        arrays = {c: bindparam(f"col_{c}", type_=ARRAY(table.c[c].type)) for c in columns}
        stmt = insert(table).from_select(columns, select(*(func.unnest(arrays[c]).label(c) for c in columns)))
    else:
        stmt = insert(table)
    if value_columns:
        stmt = stmt.on_conflict_do_update(
            index_elements=list(key),
            set_={c: stmt.excluded[c] for c in value_columns},
            where=_any_distinct(table, stmt, value_columns),
        )
    else:
        stmt = stmt.on_conflict_do_nothing(index_elements=list(key))
    stmt = stmt.returning(table.c.id, *key_cols)
    for page in chunked(to_write):
        params: Any = (
            {f"col_{c}": [row[c] for row in page] for c in columns}
            if dialect == "postgresql"
            else [dict(row) for row in page]
        )
        for record in session.connection().execute(stmt, params):
            mapping = record._mapping
            result.ids[tuple(mapping[k] for k in key)] = mapping["id"]
    return result


def _bulk_write(
    session: Session,
    table: Any,
    columns: list[str],
    key: Sequence[str],
    value_columns: list[str],
    rows: list[Mapping[str, Any]],
    dialect: str,
) -> None:
    """The same INSERT … ON CONFLICT DO UPDATE … WHERE changed, without RETURNING, in as few round trips as can be."""
    conn = session.connection()
    if dialect == "postgresql":
        if PG_BULK == "copy":
            _copy_write(session, table, columns, key, value_columns, rows)
            return
        arrays = {c: bindparam(f"col_{c}", type_=ARRAY(table.c[c].type)) for c in columns}
        pg = postgresql.insert(table).from_select(columns, select(*(func.unnest(arrays[c]).label(c) for c in columns)))
        stmt = (
            pg.on_conflict_do_update(
                index_elements=list(key),
                set_={c: pg.excluded[c] for c in value_columns},
                where=_any_distinct(table, pg, value_columns),
            )
            if value_columns
            else pg.on_conflict_do_nothing(index_elements=list(key))
        )
        for page in chunked(rows, BULK_CHUNK):
            conn.execute(stmt, {f"col_{c}": [row[c] for row in page] for c in columns})
        return
    # SQLite: pages of rows, each one multi-row VALUES statement, values through the column types' bind processors
    # (_driver_rows). Not executemany: the driver releases the GIL around every row's step, and while the fetch
    # threads parse the next cohort each re-acquisition waits out their time slice (issue 17: 401,576 marks took
    # 1.9 s alone and 8 s beside the fetch threads; one statement per page is one step).
    names = ", ".join(f'"{c}"' for c in columns)
    tail = f" ON CONFLICT ({', '.join(chr(34) + k + chr(34) for k in key)}) "
    if value_columns:
        tail += "DO UPDATE SET " + ", ".join(f'"{c}" = excluded."{c}"' for c in value_columns)
        tail += " WHERE " + " OR ".join(f'"{table.name}"."{c}" IS NOT excluded."{c}"' for c in value_columns)
    else:
        tail += "DO NOTHING"
    raw = conn.connection.driver_connection
    for values, params in sqlite_values_pages(_driver_rows(rows, table, columns, conn.dialect), raw):
        conn.exec_driver_sql(f'INSERT INTO "{table.name}" ({names}) VALUES {values}{tail}', params)


def sqlite_values_pages(records: Sequence[tuple[Any, ...]], raw: Any) -> Iterator[tuple[str, tuple[Any, ...]]]:
    """SQLite: the records as pages of SQLITE_PAGE_ROWS (fewer when the connection `raw` allows fewer bound
    parameters): each page one VALUES list `(?, …), (?, …)` and its parameters in one flat tuple."""
    if not records:
        return
    width = len(records[0])
    per_page = max(1, min(SQLITE_PAGE_ROWS, raw.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER) // width))
    one = "(" + ", ".join("?" * width) + ")"
    for start in range(0, len(records), per_page):
        page = records[start : start + per_page]
        yield ", ".join([one] * len(page)), tuple(value for record in page for value in record)


def _copy_write(
    session: Session,
    table: Any,
    columns: list[str],
    key: Sequence[str],
    value_columns: list[str],
    rows: list[Mapping[str, Any]],
) -> None:
    """PostgreSQL: the rows COPYed (psycopg 3 `cursor.copy`) into a temporary table dropped at commit, then one
    `INSERT … SELECT … ON CONFLICT … DO UPDATE … WHERE … IS DISTINCT FROM …` into the table.

    Values pass the column types' bind processors first, as the SQLAlchemy paths pass them."""
    conn = session.connection()
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    temp = f"_bulk_{table.name}"
    names = ", ".join(f'"{c}"' for c in columns)
    cursor.execute(f'DROP TABLE IF EXISTS pg_temp."{temp}"')
    cursor.execute(f'CREATE TEMPORARY TABLE "{temp}" ON COMMIT DROP AS SELECT {names} FROM "{table.name}" WITH NO DATA')
    with cursor.copy(f'COPY "{temp}" ({names}) FROM STDIN') as pipe:
        for record in _driver_rows(rows, table, columns, conn.dialect):
            pipe.write_row(record)
    conflict = ", ".join(f'"{k}"' for k in key)
    sql = f'INSERT INTO "{table.name}" ({names}) SELECT {names} FROM "{temp}" ON CONFLICT ({conflict}) '
    if value_columns:
        sql += "DO UPDATE SET " + ", ".join(f'"{c}" = excluded."{c}"' for c in value_columns)
        sql += " WHERE " + " OR ".join(f'"{table.name}"."{c}" IS DISTINCT FROM excluded."{c}"' for c in value_columns)
    else:
        sql += "DO NOTHING"
    cursor.execute(sql)
    cursor.execute(f'DROP TABLE "{temp}"')


def _in_key_order(
    rows: list[Mapping[str, Any]], natural: Callable[[Mapping[str, Any]], Any]
) -> list[Mapping[str, Any]]:
    """The rows in the order of their unique index: each index page is then touched once, not once per row (issue
    17: 401,576 marks in the order they came took 11.8 s on SQLite, in key order 2.0 s). Keys that do not compare
    (None beside a value) keep the order they came in."""
    try:
        return sorted(rows, key=natural)
    except TypeError:
        return rows


def _driver_rows(
    rows: Sequence[Mapping[str, Any]], table: Any, columns: list[str], dialect: Any
) -> list[tuple[Any, ...]]:
    """The rows as tuples for the driver, each value through its column type's bind processor (if it has one),
    so values are stored exactly as the SQLAlchemy paths store them.

    A boolean's processor only turns True into 1, which both drivers do themselves: skipped (issue 17: it was
    called once per mark)."""
    get = itemgetter(*columns)
    records: list[tuple[Any, ...]] = [(get(row),) for row in rows] if len(columns) == 1 else [get(row) for row in rows]
    wanted = []
    for i, c in enumerate(columns):
        column_type = table.c[c].type
        processor = column_type._cached_bind_processor(dialect)
        if processor is not None and not isinstance(column_type, Boolean):
            wanted.append((i, processor))
    if not wanted:
        return records
    out = []
    for record in records:
        values = list(record)
        for i, processor in wanted:
            values[i] = processor(values[i])
        out.append(tuple(values))
    return out


def _tuple_getter(columns: list[str]) -> Callable[[Mapping[str, Any]], tuple[Any, ...]]:
    """row → the tuple of its `columns` (itemgetter, which returns a bare value for one column and fails on none)."""
    if not columns:
        return lambda row: ()
    if len(columns) == 1:
        only = columns[0]
        return lambda row: (row[only],)
    return itemgetter(*columns)


def _key_filter(key_cols: list[Any], chunk: Sequence[tuple[Any, ...]], dialect: str) -> Any:
    """WHERE clause finding the stored rows of `chunk`'s natural keys."""
    # One condition per key column. For a composite key this finds every combination, a superset
    # of the chunk; rows outside it are never looked up. SQLite answers a row-value
    # `(a, b) IN (VALUES …)` by scanning the whole index (EXPLAIN: SCAN … COVERING INDEX), which made
    # every chunk cost as much as the table and the sync super-linear (issue 9); `a IN … AND b IN …`
    # is a SEARCH on the unique index.
    if dialect == "postgresql":
        # One array parameter per column (see the write path): short statement text for psycopg.
        return and_(
            *(
                c == any_(bindparam(None, sorted({k[i] for k in chunk}, key=repr), type_=ARRAY(c.type)))
                for i, c in enumerate(key_cols)
            )
        )
    return and_(*(c.in_(sorted({k[i] for k in chunk}, key=repr)) for i, c in enumerate(key_cols)))


def _any_distinct(table: Any, stmt: Any, columns: Iterable[str]) -> Any:

    return or_(*(table.c[c].is_distinct_from(stmt.excluded[c]) for c in columns))


def _differs(before: Any, after: Any) -> bool:
    if isinstance(before, float) or isinstance(after, float):
        if before is None or after is None:
            return before is not after
        return abs(float(before) - float(after)) > 1e-9
    return bool(before != after)
