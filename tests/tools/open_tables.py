"""Open every table of a warehouse as an analyst would, in three tools that are not Lantern.

For each table folder (`clean/<source>/<table>`, `quarantine/…`, `marts/<area>/<model>`,
`published/<area>/<model>`), as the tools' own documentation says to:

- DataFusion (datafusion-python): `CREATE EXTERNAL TABLE t STORED AS PARQUET LOCATION '<folder>/'`,
  Hive partitions inferred from the folders as by default;
- DuckDB: `read_parquet('<folder>/**/*.parquet', hive_partitioning = true)`;
- pyarrow: `pyarrow.dataset.dataset(<folder>, format="parquet", partitioning="hive")`.

Each must open the table, give the number of rows the files hold (the Parquet footers, summed),
and give every column inside the files its type in the files: text stays text (an LA code is
never a number), dates stay dates. Folder keys may add columns of their own, never replace one.
Prints JSON {"tables": n, "rows": n, "problems": [...]} and exits 1 on any problem.
"""
import json, pathlib, sys

import datafusion
import duckdb
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq

root = pathlib.Path(sys.argv[1])
ZONES = ["clean", "quarantine", "marts", "published"]


def kind(t: pa.DataType) -> str:
    """What a reader must keep of a column's type: its family (and a decimal's scale)."""
    if pa.types.is_string(t) or pa.types.is_large_string(t) or str(t) == "string_view":
        return "text"
    if pa.types.is_dictionary(t):
        return kind(t.value_type)
    if pa.types.is_date(t):
        return "date"
    if pa.types.is_timestamp(t):
        return "timestamp"
    if pa.types.is_integer(t):
        return "integer"
    if pa.types.is_floating(t):
        return "float"
    if pa.types.is_decimal(t):
        return f"decimal({t.scale})"
    if pa.types.is_boolean(t):
        return "boolean"
    return str(t)


DUCKDB_KIND = {"VARCHAR": "text", "DATE": "date", "BIGINT": "integer", "INTEGER": "integer", "SMALLINT": "integer",
               "TINYINT": "integer", "DOUBLE": "float", "FLOAT": "float", "BOOLEAN": "boolean",
               "TIMESTAMP WITH TIME ZONE": "timestamp", "TIMESTAMP": "timestamp"}


def duck_kind(t: str) -> str:
    if t.startswith("DECIMAL("):
        return f"decimal({t.rstrip(')').split(',')[1].strip()})"
    return DUCKDB_KIND.get(t, t)


tables, rows, problems = 0, 0, []
con = duckdb.connect()
ctx = datafusion.SessionContext()
for zone in ZONES:
    for folder in sorted(p for p in (root / zone).glob("*/*") if p.is_dir()):
        files = sorted(folder.rglob("*.parquet"))
        if not files:
            continue
        tables += 1
        name = "/".join(folder.parts[-3:])
        want_rows = sum(pq.ParquetFile(f).metadata.num_rows for f in files)
        rows += want_rows
        declared = {}
        for f in files:
            for field in pq.read_schema(f):
                declared.setdefault(field.name, kind(field.type))

        def check(tool, n, got):
            if n != want_rows:
                problems.append(f"{name}: {tool} reads {n} rows, the files hold {want_rows}")
            for col, k in declared.items():
                if col not in got:
                    problems.append(f"{name}: {tool} has no column {col}")
                elif got[col] != k:
                    problems.append(f"{name}: {tool} reads {col} as {got[col]}, the files hold {k}")

        # DataFusion, as datafusion-cli and datafusion-python document it
        t = f"t{tables}"
        try:
            ctx.sql(f"CREATE EXTERNAL TABLE {t} STORED AS PARQUET LOCATION '{folder}/'").collect()
            df = ctx.sql(f"SELECT * FROM {t}")
            got = {f.name: kind(f.type) for f in df.schema()}
            n = ctx.sql(f"SELECT count(*) AS n FROM {t}").to_pylist()[0]["n"]
            check("DataFusion", n, got)
        except Exception as e:  # noqa: BLE001 - every failure is a finding
            problems.append(f"{name}: DataFusion cannot open it: {str(e).splitlines()[0]}")

        # DuckDB with Hive partitioning on
        glob = f"{folder}/**/*.parquet"
        try:
            got = {c: duck_kind(ty) for c, ty in con.execute(
                "SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM read_parquet(?, hive_partitioning = true))", [glob]).fetchall()}
            n = con.execute("SELECT count(*) FROM read_parquet(?, hive_partitioning = true)", [glob]).fetchone()[0]
            check("DuckDB", n, got)
        except Exception as e:  # noqa: BLE001
            problems.append(f"{name}: DuckDB cannot open it: {str(e).splitlines()[0]}")

        # pyarrow datasets with Hive partitioning
        try:
            d = ds.dataset(folder, format="parquet", partitioning="hive")
            got = {f.name: kind(f.type) for f in d.schema}
            check("pyarrow", d.count_rows(), got)
        except Exception as e:  # noqa: BLE001
            problems.append(f"{name}: pyarrow cannot open it: {str(e).splitlines()[0]}")

print(json.dumps({"tables": tables, "rows": rows, "problems": problems}))
sys.exit(1 if problems or tables == 0 else 0)
