#!/usr/bin/env python3
"""Benchmark: building every SQL model with Lantern, against DuckDB running the same SQL over the
same Parquet, in the same run (issue 5's "Measure").

    cargo build --profile dist      # the binary people ship, measured by default (or --release)
    python3 benches/models.py --scale 1            # a fresh synthetic council (lantern demo)
    python3 benches/models.py --warehouse W        # a warehouse already loaded (marts rebuilt!)

Lantern: `lantern models --build --full --json` over the warehouse, every model in dependency
order in one process; each model's seconds are the ones its build reports (run and write to
Parquet), the total is the process's wall time (checks, planning, fingerprints included).

DuckDB (python `duckdb`, in a process of its own): `clean.<source>.<table>` and
`quarantine.<source>.<table>` are views over `W/<zone>/<source>/<table>/**/*.parquet`; a model's
upstream models are views over the marts Lantern just wrote (`W/marts/<area>/<model>/*.parquet`);
each model's SQL is run as `COPY (<sql>) TO '<file>.parquet'`, so both write Parquet. Lantern's
functions are DuckDB macros over the same bank holiday list (schemas/reference/data/
bank_holidays.csv). Dialect differences are rewritten here, mechanically, never in the models:
`CAST(x AS INT)` of a date (days since 1970) and `CAST(n AS DATE)` of a number, a table function's
`value` column (generate_series, range), `to_char` (strftime), ordered-aggregate
`first_value(x ORDER BY …)` (DuckDB's `first`), integer `/` (SET integer_division), a result
column DuckDB types as a timestamp (DATE ± INTERVAL) where Lantern's mart has a date (cast back),
and assumption tables with their declared columns. A model DuckDB cannot run is reported with its
error and left out of the ratio.

Models are found by asking Lantern (`lantern models --json`), so new ones are included as they are
written. Both engines use every core; DuckDB is given the same memory limit as Lantern's
(LANTERN_MEMORY_LIMIT if set, else Lantern's default: a quarter of memory, at most 4 GiB).
Needs duckdb (pip install duckdb).
"""
import argparse, json, os, pathlib, re, shutil, subprocess, sys, tempfile, time

ROOT = pathlib.Path(__file__).resolve().parent.parent

WRAPPER = (
    "import resource, subprocess, sys\n"
    "p = subprocess.run(sys.argv[1:], capture_output=True, text=True)\n"
    "sys.stdout.write(p.stdout); sys.stderr.write(p.stderr)\n"
    "print('PEAK_KIB', resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, file=sys.stderr)\n"
    "sys.exit(p.returncode)\n"
)


def default_binary() -> str:
    """The lantern binary the benchmarks measure when none is given: the one people ship
    (`cargo build --profile dist`: fat LTO, one codegen unit) when built, else `--release`, else
    the debug build (whose times mean nothing; `binary_profile` says which)."""
    for profile in ("dist", "release", "debug"):
        b = ROOT / "target" / profile / "lantern"
        if b.exists():
            return str(b)
    return str(ROOT / "target" / "release" / "lantern")


def binary_profile(binary) -> str:
    """Which cargo profile built `binary` ("dist", "release", "debug" or "unknown"), and a
    warning on stderr when a source file under src/ or rules/ is newer than it (a stale binary
    measures old code)."""
    b = pathlib.Path(binary).resolve()
    profile = next((p for p in ("dist", "release", "debug") if p in b.parts), "unknown")
    if b.exists():
        newest = max((f.stat().st_mtime for d in ("src", "rules") for f in (ROOT / d).rglob("*") if f.is_file()), default=0)
        if newest > b.stat().st_mtime:
            print(f"WARNING: {b} is older than the sources under src/ or rules/: rebuild it "
                  f"(cargo build --profile {profile if profile != 'debug' else 'dev'}) or the numbers measure old code",
                  file=sys.stderr, flush=True)
    return profile


def timed(cmd, env=None, check=True):
    """Wall time, peak resident memory (KiB) and the completed process of one command."""
    t0 = time.perf_counter()
    p = subprocess.run([sys.executable, "-c", WRAPPER, *map(str, cmd)], capture_output=True, text=True, env=env)
    secs = time.perf_counter() - t0
    lines = p.stderr.strip().splitlines()
    peak = int(lines[-1].split()[1]) if lines and lines[-1].startswith("PEAK_KIB") else 0
    if check and p.returncode != 0:
        sys.exit(f"{cmd[0]} {cmd[1] if len(cmd) > 1 else ''} failed ({p.returncode}):\n{p.stdout[-3000:]}\n{p.stderr[-3000:]}")
    return secs, peak, p


def lantern_memory_limit() -> int:
    """The limit Lantern's sessions use (query::engine): LANTERN_MEMORY_LIMIT, else a quarter of
    memory between 256 MiB and 4 GiB."""
    env = os.environ.get("LANTERN_MEMORY_LIMIT")
    if env and re.fullmatch(r"\d+", env.strip()):
        return int(env)
    if env:
        m = re.fullmatch(r"\s*([\d.]+)\s*([a-zA-Z]*)\s*", env)
        units = {"": 1, "b": 1, "k": 1 << 10, "kib": 1 << 10, "m": 1 << 20, "mib": 1 << 20, "g": 1 << 30, "gib": 1 << 30,
                 "kb": 10**3, "mb": 10**6, "gb": 10**9}
        if m and m.group(2).lower() in units:
            return int(float(m.group(1)) * units[m.group(2).lower()])
    total = None
    try:
        for line in open("/proc/meminfo"):
            if line.startswith("MemTotal:"):
                total = int(line.split()[1]) * 1024
    except OSError:
        pass
    for p in ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"):
        try:
            c = int(open(p).read().strip())
            total = min(total, c) if total else c
            break
        except (OSError, ValueError):
            pass
    if total is None:
        return 2 << 30
    return max(256 << 20, min(4 << 30, total // 4))


# ---------------------------------------------------------------- rewriting DataFusion's dialect

def _match_paren(s: str, open_at: int) -> int:
    """Index of the ')' closing the '(' at open_at, skipping quoted text and comments."""
    depth, i, n = 0, open_at, len(s)
    while i < n:
        c = s[i]
        if c in "'\"":
            j = s.find(c, i + 1)
            while j != -1 and j + 1 < n and s[j + 1] == c:  # doubled quote
                j = s.find(c, j + 2)
            i = n if j == -1 else j + 1
            continue
        if s.startswith("--", i):
            j = s.find("\n", i)
            i = n if j == -1 else j + 1
            continue
        if c == "(":
            depth += 1
        elif c == ")":
            depth -= 1
            if depth == 0:
                return i
        i += 1
    raise ValueError("unbalanced parentheses")


def duckdb_connection(plan: dict, out: pathlib.Path):
    """A DuckDB connection with the plan's memory limit and threads, spilling under `out`."""
    import duckdb

    con = duckdb.connect()
    con.execute(f"SET memory_limit = '{plan['memory_limit'] // (1 << 20)}MiB'")
    con.execute(f"SET temp_directory = '{out / '_spill'}'")
    if plan.get("threads"):
        con.execute(f"SET threads = {int(plan['threads'])}")
    return con


def _top_level(inner: str, keyword: str) -> list[int]:
    """Where `keyword` (a regex) stands at parenthesis depth 0 in `inner`, outside quotes."""
    depth, found = 0, []
    for m in re.finditer(r"[()]|'[^']*'|" + keyword, inner, flags=re.I):
        t = m.group(0)
        if t == "(":
            depth += 1
        elif t == ")":
            depth -= 1
        elif not t.startswith("'") and depth == 0:
            found.append(m.start())
    return found


def _top_level_as(inner: str) -> int:
    """Position of the last ' AS ' at depth 0 in a CAST's argument."""
    return (_top_level(inner, r"\bAS\b") or [-1])[-1]


def rewrite_casts(sql: str) -> str:
    """CAST(x AS INT|INTEGER) → _lt_int(x), CAST(x AS DATE) → _lt_date(x), innermost first."""
    out, i = [], 0
    for m in re.finditer(r"\bCAST\s*\(", sql, flags=re.I):
        if m.start() < i:
            continue
        open_at = m.end() - 1
        try:
            close = _match_paren(sql, open_at)
        except ValueError:
            return sql
        inner = sql[open_at + 1:close]
        at = _top_level_as(inner)
        if at < 0:
            continue
        expr, typ = inner[:at], inner[at + 2:].strip().upper()
        expr = rewrite_casts(expr)
        out.append(sql[i:m.start()])
        if typ in ("INT", "INTEGER"):
            out.append(f"_lt_int({expr})")
        elif typ == "DATE":
            out.append(f"_lt_date({expr})")
        else:
            out.append(f"CAST({expr} AS {inner[at + 2:].strip()})")
        i = close + 1
    out.append(sql[i:])
    return "".join(out)


def _rewrite_calls(sql: str, pattern: str, edit) -> str:
    """Rewrites each call matched by `pattern` (which ends at the call's opening parenthesis):
    `edit(m, open_at, close)` gives the text to put in place of `sql[m.start():resume]` and
    `resume`, or None to leave the call alone."""
    out, i = [], 0
    for m in re.finditer(pattern, sql, flags=re.I):
        if m.start() < i:
            continue
        open_at = m.end() - 1
        change = edit(m, open_at, _match_paren(sql, open_at))
        if change:
            out.append(sql[i:m.start()])
            out.append(change[0])
            i = change[1]
    out.append(sql[i:])
    return "".join(out)


def rewrite_table_functions(sql: str) -> str:
    """DataFusion names a table function's column `value`; DuckDB names it after the function."""
    def edit(m, open_at, close):
        fn = m.group(2)
        return f"{m.group(1)} (SELECT {fn} AS value FROM {fn}{sql[open_at:close + 1]})", close + 1
    return _rewrite_calls(sql, r"\b(FROM|JOIN)\s+(generate_series|range)\s*\(", edit)


def rewrite_ordered_aggregates(sql: str) -> str:
    """`first_value(x ORDER BY …)` / `last_value(…)` used as aggregates (no OVER) → DuckDB's
    `first(x ORDER BY …)` / `last(…)`; the window functions are left alone."""
    def edit(m, open_at, close):
        if _top_level(sql[open_at + 1:close], r"\bORDER\s+BY\b") and not re.match(r"\s*OVER\b", sql[close + 1:], flags=re.I):
            return ("first" if m.group(1).lower() == "first_value" else "last"), open_at
        return None
    return _rewrite_calls(sql, r"\b(first_value|last_value)\s*\(", edit)


def to_duckdb(sql: str) -> str:
    return rewrite_ordered_aggregates(rewrite_table_functions(rewrite_casts(sql)))


MACROS = r"""
CREATE TABLE _lt_hol AS
    SELECT DISTINCT CAST("date" AS DATE) AS d FROM read_csv('{holidays}', header = true, all_varchar = true)
    WHERE coalesce(trim(division), '') IN ('', 'england-and-wales');
CREATE TABLE _lt_cal AS
    SELECT d, wd, CAST(sum(CASE WHEN wd THEN 1 ELSE 0 END) OVER (ORDER BY d) AS INTEGER) AS cum
    FROM (SELECT CAST(g AS DATE) AS d, isodow(g) <= 5 AND CAST(g AS DATE) NOT IN (SELECT d FROM _lt_hol) AS wd
          FROM generate_series(TIMESTAMP '1900-01-01', TIMESTAMP '2100-12-31', INTERVAL 1 DAY) AS t(g));
CREATE TABLE _lt_wd AS SELECT cum AS idx, d FROM _lt_cal WHERE wd;
CREATE MACRO _lt_int(_x) AS CASE WHEN typeof(_x) = 'DATE' THEN CAST(date_diff('day', DATE '1970-01-01', TRY_CAST(_x AS DATE)) AS INTEGER) ELSE TRY_CAST(_x AS INTEGER) END;
CREATE MACRO _lt_date(_x) AS CASE WHEN typeof(_x) IN ('INTEGER', 'BIGINT', 'SMALLINT', 'TINYINT', 'HUGEINT') THEN DATE '1970-01-01' + TRY_CAST(_x AS INTEGER) ELSE TRY_CAST(_x AS DATE) END;
CREATE MACRO working_days(_a, _b) AS
    (SELECT c2.cum FROM _lt_cal c2 WHERE c2.d = CAST(_b AS DATE)) - (SELECT c1.cum FROM _lt_cal c1 WHERE c1.d = CAST(_a AS DATE));
CREATE MACRO add_working_days(_x, _n) AS CASE
    WHEN _n = 0 THEN CAST(_x AS DATE)
    WHEN _n > 0 THEN (SELECT w.d FROM _lt_wd w WHERE w.idx = (SELECT c.cum FROM _lt_cal c WHERE c.d = CAST(_x AS DATE)) + _n)
    ELSE (SELECT w.d FROM _lt_wd w WHERE w.idx = (SELECT c.cum FROM _lt_cal c WHERE c.d = CAST(_x AS DATE) - 1) + _n + 1) END;
CREATE MACRO is_working_day(_x) AS (SELECT c.wd FROM _lt_cal c WHERE c.d = CAST(_x AS DATE));
CREATE MACRO age_on(_dob, _on) AS CASE WHEN CAST(_on AS DATE) < CAST(_dob AS DATE) THEN NULL ELSE CAST(
    year(CAST(_on AS DATE)) - year(CAST(_dob AS DATE))
    - CASE WHEN month(CAST(_on AS DATE)) * 100 + day(CAST(_on AS DATE)) < month(CAST(_dob AS DATE)) * 100 + day(CAST(_dob AS DATE)) THEN 1 ELSE 0 END
    AS INTEGER) END;
CREATE MACRO _lt_fy_start(_x) AS year(CAST(_x AS DATE)) - CASE WHEN month(CAST(_x AS DATE)) >= 4 THEN 0 ELSE 1 END;
CREATE MACRO financial_year(_x) AS CAST(_lt_fy_start(_x) AS VARCHAR) || '-' || lpad(CAST((_lt_fy_start(_x) + 1) % 100 AS VARCHAR), 2, '0');
CREATE MACRO collection_year(_x) AS CAST(_lt_fy_start(_x) + 1 AS INTEGER);
CREATE MACRO census_term(_x) AS CAST(year(CAST(_x AS DATE)) AS VARCHAR) || '-' || CASE
    WHEN month(CAST(_x AS DATE)) >= 9 THEN 'autumn' WHEN month(CAST(_x AS DATE)) <= 3 THEN 'spring' ELSE 'summer' END;
CREATE MACRO month_end(_x) AS last_day(CAST(_x AS DATE));
CREATE MACRO to_char(_x, _f) AS strftime(_x, _f);
"""


NUMERIC = ", ".join(f"'{t}'" for t in ("DOUBLE", "FLOAT", "HUGEINT", "BIGINT", "INTEGER", "SMALLINT", "TINYINT", "UBIGINT", "UINTEGER", "DECIMAL"))


ASSUMPTION_TYPES = {"date": "DATE", "integer": "BIGINT", "float": "DOUBLE", "decimal": "DECIMAL(18, 2)", "boolean": "BOOLEAN"}


def assumption_select(path: pathlib.Path, table: str, declared: pathlib.Path | None = None) -> str:
    """A SELECT giving the rows of [[table]] in an assumptions file with the columns and types its
    schema (schemas/assumptions/<group>.toml) declares, as Lantern reads them: a column a row leaves
    out is NULL; no rows, an empty table."""
    import datetime
    import tomllib

    rows = tomllib.loads(path.read_text()).get(table, []) if path.exists() else []
    cols = []  # (name, DuckDB type)
    if declared is not None and declared.exists():
        for t in tomllib.loads(declared.read_text()).get("table", []):
            if t.get("name") == table:
                cols = [(c["name"], ASSUMPTION_TYPES.get(c.get("type", "text"), "VARCHAR")) for c in t.get("column", [])]
    if not cols:
        cols = [(n, None) for n in sorted({k for r in rows for k in r})]
    if not cols:
        return "SELECT NULL AS _none WHERE false"

    def lit(v):
        if v is None:
            return "NULL"
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, (int, float)):
            return repr(v)
        if isinstance(v, datetime.date):
            return f"DATE '{v.isoformat()}'"
        return "'" + str(v).replace("'", "''") + "'"

    def cell(v, typ):
        return f"CAST({lit(v)} AS {typ})" if typ else lit(v)

    q = ", ".join(chr(34) + n + chr(34) for n, _ in cols)
    if not rows:
        return "SELECT " + ", ".join(f"CAST(NULL AS {t or 'VARCHAR'}) AS \"{n}\"" for n, t in cols) + " WHERE false"
    values = ", ".join("(" + ", ".join(cell(r.get(n), t) for n, t in cols) + ")" for r in rows)
    return f"SELECT * FROM (VALUES {values}) AS t({q})"


def duck_worker(plan_path: str) -> None:
    """Runs in its own process: every model in DuckDB, printing one JSON line per model."""
    plan = json.loads(pathlib.Path(plan_path).read_text())
    w = pathlib.Path(plan["warehouse"])
    out = pathlib.Path(plan["out"])
    con = duckdb_connection(plan, out)
    con.execute("SET preserve_insertion_order = true")
    con.execute("SET integer_division = true")  # DataFusion's `/` of two integers is integer division
    t0 = time.perf_counter()
    for db in ("clean", "quarantine", "marts", "published", "assumptions"):
        con.execute(f"ATTACH ':memory:' AS {db}")
    con.execute("USE memory")
    for stmt in MACROS.format(holidays=plan["holidays"]).split(";\n"):
        if stmt.strip():
            con.execute(stmt)
    schemas = set()

    def view(name: str, select: str):
        zone, source, table = name.split(".", 2)
        if (zone, source) not in schemas:
            con.execute(f'CREATE SCHEMA IF NOT EXISTS {zone}."{source}"')
            schemas.add((zone, source))
        con.execute(f'CREATE OR REPLACE VIEW {zone}."{source}"."{table}" AS {select}')

    for name, cols in plan["tables"].items():
        zone, source, table = name.split(".", 2)
        d = w / zone / source / table
        if zone == "assumptions":  # rows from assumptions/<group>.toml, as Lantern reads them
            view(name, assumption_select(pathlib.Path(plan["assumptions"]) / f"{source}.toml", table,
                                         pathlib.Path(plan["assumption_schemas"]) / f"{source}.toml"))
        elif any(d.rglob("*.parquet")):
            view(name, f"SELECT * FROM read_parquet('{d}/**/*.parquet', hive_partitioning = false, union_by_name = true)")
        else:  # declared, not supplied: empty, with its declared columns and types (else as text)
            typed = cols if cols and isinstance(cols[0], list) else [(c, "VARCHAR") for c in cols]
            select = ", ".join(f'CAST(NULL AS {t}) AS "{c}"' for c, t in typed) or "1 AS _none"
            view(name, f"SELECT {select} WHERE false")
    print(json.dumps({"setup": time.perf_counter() - t0}), flush=True)
    for m in plan["models"]:
        # marts.<area>.<model> or published.<area>.<model>, written to <zone>/<area>/<model>/
        zone, area, model = m["name"].split(".")
        for up in m["upstream"]:
            z, a, b = up.split(".")
            view(up, f"SELECT * FROM read_parquet('{w / z / a / b}/*.parquet')")
        dest = out / zone / area / f"{model}.parquet"
        dest.parent.mkdir(parents=True, exist_ok=True)
        sql = to_duckdb(m["sql"]).strip().rstrip(";")
        # DATE ± INTERVAL is a timestamp in DuckDB, a date in DataFusion: a result column that is a
        # timestamp in DuckDB and a date in Lantern's mart is cast back to DATE (binding only, untimed)
        try:
            mart_types = {r[0]: r[1] for r in con.execute(f"DESCRIBE SELECT * FROM read_parquet('{w / zone / area / model}/*.parquet')").fetchall()}
            duck_types = [(r[0], r[1]) for r in con.execute(f"DESCRIBE {sql}").fetchall()]
            if any(t.startswith("TIMESTAMP") and mart_types.get(c) == "DATE" for c, t in duck_types):
                cols_sql = ", ".join(f'CAST("{c}" AS DATE) AS "{c}"' if t.startswith("TIMESTAMP") and mart_types.get(c) == "DATE" else f'"{c}"'
                                     for c, t in duck_types)
                sql = f"SELECT {cols_sql} FROM (\n{sql}\n) AS _lt_q"
        except Exception:  # noqa: BLE001 - the COPY below reports what is wrong
            pass
        t = time.perf_counter()
        try:
            rows = con.execute(f"COPY ({sql}\n) TO '{dest}' (FORMAT parquet, COMPRESSION snappy)").fetchone()[0]
            r = {"model": m["name"], "seconds": time.perf_counter() - t, "rows": rows}
            if plan.get("check"):
                # not timed: rows of one that the other lacks (floats rounded to 9 significant digits)
                mart = w / zone / area / model
                cols = [c[0] for c in con.execute(f"DESCRIBE SELECT * FROM read_parquet('{dest}')").fetchall()]
                norm = ", ".join(f'CASE WHEN typeof("{c}") IN ({NUMERIC}) THEN CAST(round(TRY_CAST("{c}" AS DOUBLE), 6) AS VARCHAR) ELSE CAST("{c}" AS VARCHAR) END' for c in cols)
                a = f"SELECT {norm} FROM read_parquet('{dest}')"
                b = f"SELECT {norm} FROM read_parquet('{mart}/*.parquet')"
                tc = time.perf_counter()
                try:
                    r["only_duckdb"] = con.execute(f"SELECT count(*) FROM ({a} EXCEPT ALL {b})").fetchone()[0]
                    r["only_lantern"] = con.execute(f"SELECT count(*) FROM ({b} EXCEPT ALL {a})").fetchone()[0]
                except Exception as e:  # noqa: BLE001
                    r["check_error"] = str(e).splitlines()[0][:200]
                r["check_seconds"] = time.perf_counter() - tc
            print(json.dumps(r), flush=True)
        except Exception as e:  # noqa: BLE001 - reported, not fatal
            print(json.dumps({"model": m["name"], "error": str(e).splitlines()[0][:300]}), flush=True)


COLUMN_TYPES = {"string": "VARCHAR", "integer": "BIGINT", "decimal": "DECIMAL(18, 2)", "float": "DOUBLE", "date": "DATE",
                "timestamp": "TIMESTAMPTZ", "boolean": "BOOLEAN"}


def declared_table(project: pathlib.Path, name: str):
    """A clean table's columns and DuckDB types from its schema (schemas/<source>/<table>.toml),
    or a quarantine table's (the rule's columns, then every column as text), with the partition
    columns Lantern writes into every file (`la` and the partition's column);
    None when the schema is not found (then `lantern tables` gives the names, as text)."""
    import tomllib

    zone, source, table = name.split(".", 2)
    for base in (project, ROOT):
        f = base / "schemas" / source / f"{table}.toml"
        if zone in ("clean", "quarantine") and f.exists():
            t = tomllib.loads(f.read_text())
            if zone == "clean":
                cols = [[c["name"], COLUMN_TYPES.get(c.get("type", "string"), "VARCHAR")] for c in t.get("column", [])]
            else:  # a quarantined row: the rule's columns, then every column as received (text)
                cols = [["_file", "VARCHAR"], ["_row", "BIGINT"], ["_rule", "VARCHAR"], ["_column", "VARCHAR"], ["_message", "VARCHAR"]]
                cols += [[c["name"], "VARCHAR"] for c in t.get("column", [])]
            names = {c[0] for c in cols}
            for extra in ("la", t.get("partition", {}).get("column", "year")):
                if extra not in names:
                    cols.append([extra, "VARCHAR"])
            return cols
    return None


def declared_columns(binary, env) -> dict:
    """Every declared table's columns, from `lantern tables`."""
    p = subprocess.run([binary, "tables"], capture_output=True, text=True, env=env, check=True)
    cols = {}
    for line in p.stdout.splitlines():
        parts = line.split(None, 1)
        if len(parts) == 2 and parts[0].count(".") == 2:
            cols[parts[0]] = [c.strip() for c in parts[1].split(", ")]
    return cols


def main():
    if len(sys.argv) == 3 and sys.argv[1] == "--duck-worker":
        return duck_worker(sys.argv[2])
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    where = ap.add_mutually_exclusive_group(required=True)
    where.add_argument("--warehouse", help="a loaded warehouse (its marts are rebuilt)")
    where.add_argument("--scale", type=float, help="generate and load a synthetic council of this scale first (lantern demo)")
    ap.add_argument("--dir", help="with --scale: the demo folder (default target/bench-models/scale-N, reused when loaded)")
    ap.add_argument("--fresh", action="store_true", help="with --scale: generate and load again even if --dir holds a warehouse")
    ap.add_argument("--project", help="a project folder (lantern init); default the shipped one")
    ap.add_argument("--binary", default=default_binary(), help="default: target/dist/lantern if built, else target/release/lantern")
    ap.add_argument("--threads", type=int, default=0, help="DuckDB threads (default: every core, as Lantern)")
    ap.add_argument("--json", help="also write the results here")
    ap.add_argument("--no-check", action="store_true", help="skip comparing DuckDB's rows with Lantern's marts (done untimed)")
    args = ap.parse_args()
    binary = args.binary
    if not pathlib.Path(binary).exists():
        sys.exit("build first: cargo build --release")
    try:
        import duckdb  # noqa: F401
    except ImportError:
        sys.exit("needs duckdb: pip install duckdb")
    env = dict(os.environ)
    env.setdefault("LANTERN_PSEUDONYM_KEY", "bench-key-0123456789abcdef")
    base = [binary] + (["--project", args.project] if args.project else [])

    if args.scale is not None:
        d = pathlib.Path(args.dir or ROOT / "target" / "bench-models" / f"scale-{args.scale:g}")
        w = d / "warehouse"
        if args.fresh or not (w / "clean").exists():
            print(f"loading a synthetic council, scale {args.scale:g}, into {d} (lantern demo) …", flush=True)
            secs, peak, p = timed([*base, "demo", "--dir", d, "--scale", args.scale], env=env, check=False)
            if not (w / "clean").exists():
                sys.exit(f"lantern demo failed:\n{p.stdout[-3000:]}\n{p.stderr[-3000:]}")
            print(f"  demo took {secs:.1f}s (peak {peak / 1048576:.2f} GiB)", flush=True)
    else:
        w = pathlib.Path(args.warehouse)
    res = bench(binary, w, env, project=args.project, threads=args.threads, check=not args.no_check)
    print_table(res, check=not args.no_check)
    if args.json:
        pathlib.Path(args.json).write_text(json.dumps(res, indent=2))


def bench(binary, w, env, project=None, threads=0, check=True, lantern_cmd=None) -> dict:
    """Lantern's build of every model, then DuckDB running the same SQL over the same Parquet;
    returns the results (what --json writes). Used by benches/regional.py too: `lantern_cmd`
    (a function taking the command and returning (seconds, peak KiB, completed process)) measures
    Lantern's build in place of `timed`."""
    w = pathlib.Path(w).resolve()
    base = [binary] + (["--project", project] if project else [])
    wbase = [*base, "--warehouse", w]

    # Lantern: every model, in order, one process
    secs_l, peak_l, p = (lantern_cmd or (lambda c: timed(c, env=env)))([*wbase, "models", "--build", "--full", "--json"])
    report = json.loads(p.stdout)
    lantern = {m["model"]: m for m in report["models"]}
    models = json.loads(subprocess.run([*map(str, wbase), "models", "--json"], capture_output=True, text=True, env=env, check=True).stdout)
    project = pathlib.Path(project) if project else ROOT
    names = {m["model"] for m in models}
    plan_models, tables = [], set()
    for m in models:
        sql = (project / m["file"]).read_text()
        plan_models.append({"name": m["model"], "area": m["area"], "sql": sql, "upstream": [i for i in m["inputs"] if i in names]})
        tables.update(i for i in m["inputs"] if i not in names and i.count(".") == 2)
    cols = declared_columns(binary, env) if tables else {}
    holidays = project / "schemas" / "reference" / "data" / "bank_holidays.csv"
    if not holidays.exists():
        holidays = ROOT / "schemas" / "reference" / "data" / "bank_holidays.csv"
    work = pathlib.Path(tempfile.mkdtemp(prefix="lantern-bench-duck-", dir=w.parent))
    try:
        plan = {"warehouse": str(w), "out": str(work), "holidays": str(holidays), "memory_limit": lantern_memory_limit(),
                "threads": threads, "check": check, "models": plan_models, "tables": {t: declared_table(project, t) or cols.get(t, []) for t in sorted(tables)},
                "assumptions": str(project / "assumptions" if (project / "assumptions").is_dir() else ROOT / "assumptions"),
                "assumption_schemas": str(project / "schemas" / "assumptions" if (project / "schemas" / "assumptions").is_dir() else ROOT / "schemas" / "assumptions")}
        (work / "plan.json").write_text(json.dumps(plan))
        secs_d, peak_d, p = timed([sys.executable, __file__, "--duck-worker", work / "plan.json"], env=env)
        duck, setup = {}, 0.0
        for line in p.stdout.splitlines():
            r = json.loads(line)
            if "setup" in r:
                setup = r["setup"]
            else:
                duck[r["model"]] = r
                secs_d -= r.get("check_seconds", 0.0)  # the check is not DuckDB's work
    finally:
        shutil.rmtree(work, ignore_errors=True)
    import duckdb
    both_l = both_d = 0.0
    rows = []
    for m in models:
        name = m["model"]
        l, d = lantern.get(name, {}), duck.get(name, {})
        ran = "seconds" in d and "error" not in d
        same = ran and d.get("rows") == l.get("rows") and not d.get("only_duckdb") and not d.get("only_lantern") and not d.get("check_error")
        if ran:
            both_l += l.get("seconds", 0.0)
            both_d += d["seconds"]
        rows.append({"model": name, "rows": l.get("rows"), "lantern_seconds": l.get("seconds"),
                     "duckdb_seconds": d.get("seconds"), "duckdb_rows": d.get("rows"), "duckdb_error": d.get("error") if not ran else None,
                     "rows_only_lantern": d.get("only_lantern"), "rows_only_duckdb": d.get("only_duckdb"), "check_error": d.get("check_error"),
                     "same_rows": same if (ran and check) else None})
    return {"warehouse": str(w), "lantern_version": subprocess.run([binary, "--version"], capture_output=True, text=True).stdout.strip(),
            "duckdb_version": duckdb.__version__, "cores": os.cpu_count(), "memory_limit": lantern_memory_limit(),
            "lantern_seconds": secs_l, "duckdb_seconds": secs_d, "duckdb_setup_seconds": setup,
            "lantern_peak_kib": peak_l, "duckdb_peak_kib": peak_d,
            "both_ran_lantern_seconds": both_l, "both_ran_duckdb_seconds": both_d, "models": rows}


def print_table(res: dict, check: bool = True) -> None:
    print(f"\nwarehouse {res['warehouse']}")
    print(f"Lantern {res['lantern_version']}, DuckDB {res['duckdb_version']}, {res['cores']} cores, "
          f"memory limit {res['memory_limit'] / (1 << 30):.1f} GiB each\n")
    head = f"{'model':<52} {'rows':>10} {'Lantern s':>10} {'DuckDB s':>10} {'ratio':>7}"
    print(head)
    print("-" * len(head))
    for m in res["models"]:
        ls = m["lantern_seconds"] or 0.0
        if m["duckdb_seconds"] is None or m["duckdb_error"]:
            print(f"{m['model']:<52} {m['rows'] or 0:>10} {ls:>10.2f} {'failed':>10} {'':>7}")
            continue
        ds = m["duckdb_seconds"]
        ratio = f"{ls / ds:.2f}" if ds > 0 else "-"
        print(f"{m['model']:<52} {m['rows'] or 0:>10} {ls:>10.2f} {ds:>10.2f} {ratio:>7}")
    print("-" * len(head))
    bl, bd, sl, sd = res["both_ran_lantern_seconds"], res["both_ran_duckdb_seconds"], res["lantern_seconds"], res["duckdb_seconds"]
    print(f"{'models both ran (sum of model times)':<52} {'':>10} {bl:>10.2f} {bd:>10.2f} {bl / bd if bd else 0:>7.2f}")
    print(f"{'whole process (wall; Lantern checks and plans all,':<52}")
    print(f"{'  DuckDB sets up views and macros in ' + format(res['duckdb_setup_seconds'], '.2f') + 's)':<52} {'':>10} {sl:>10.2f} {sd:>10.2f} {sl / sd if sd else 0:>7.2f}")
    print(f"{'peak memory (GiB)':<52} {'':>10} {res['lantern_peak_kib'] / 1048576:>10.2f} {res['duckdb_peak_kib'] / 1048576:>10.2f}")
    differ = False
    for m in res["models"]:
        if m["duckdb_error"] or m["duckdb_seconds"] is None:
            print(f"DuckDB could not run {m['model']}: {m['duckdb_error'] or 'not run'}")
        elif check and not m["same_rows"]:
            differ = True
            print(f"results differ for {m['model']}: Lantern {m['rows']} rows, DuckDB {m['duckdb_rows']}; rows only Lantern has "
                  f"{m['rows_only_lantern']}, only DuckDB has {m['rows_only_duckdb']}" + (f" ({m['check_error']})" if m["check_error"] else ""))
    if check and not differ:
        print("every model DuckDB ran gave the same rows as Lantern's mart (floats to 6 decimals)")

if __name__ == "__main__":
    main()
