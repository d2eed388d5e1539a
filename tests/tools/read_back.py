"""Read every Parquet file under a warehouse with pyarrow and DuckDB, as Power BI-like readers.

DuckDB reads each file as a file (hive_partitioning = false): with it on, DuckDB types the `la=`
and `year=` folder values itself (as BIGINT), which says nothing about what Lantern wrote.
Checks: strings are plain `string` (not large_string / string_view), dates are date32, no nested
types, the file has no ARROW:schema metadata, format version 1.0 with v1 pages, and DuckDB reads the
same row count. Prints JSON {"files": n, "rows": n, "problems": [...]} and exits 1 on problems.
"""
import json, pathlib, sys
import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

root = pathlib.Path(sys.argv[1])
problems, files, rows = [], 0, 0
con = duckdb.connect()
for f in sorted(root.rglob("*.parquet")):
    if "_staging" in f.parts:
        continue
    files += 1
    pf = pq.ParquetFile(f)
    meta = pf.metadata
    if meta.format_version != "1.0":
        problems.append(f"{f}: format version {meta.format_version}")
    kv = meta.metadata or {}
    if b"ARROW:schema" in kv:
        problems.append(f"{f}: carries ARROW:schema metadata")
    table = pf.read()
    for field in table.schema:
        t = field.type
        if pa.types.is_large_string(t) or str(t) == "string_view":
            problems.append(f"{f}: {field.name} is {t}")
        if pa.types.is_nested(t):
            problems.append(f"{f}: {field.name} is nested ({t})")
        if pa.types.is_timestamp(t) and (t.unit != "us" or t.tz != "UTC"):
            problems.append(f"{f}: {field.name} is {t}")
        if pa.types.is_date64(t):
            problems.append(f"{f}: {field.name} is date64")
    for rg in range(meta.num_row_groups):
        for c in range(meta.num_columns):
            col = meta.row_group(rg).column(c)
            for enc in col.encodings:
                if enc not in ("PLAIN", "PLAIN_DICTIONARY", "RLE", "BIT_PACKED", "RLE_DICTIONARY"):
                    problems.append(f"{f}: column {col.path_in_schema} uses {enc}")
            if col.compression != "SNAPPY":
                problems.append(f"{f}: column {col.path_in_schema} compressed with {col.compression}")
    n = con.execute("select count(*) from read_parquet(?, hive_partitioning = false)", [str(f)]).fetchone()[0]
    if n != table.num_rows:
        problems.append(f"{f}: DuckDB reads {n} rows, pyarrow {table.num_rows}")
    dtypes = dict(con.execute("select column_name, column_type from (describe select * from read_parquet(?, hive_partitioning = false))", [str(f)]).fetchall())
    for field in table.schema:
        if pa.types.is_date32(field.type) and dtypes.get(field.name) != "DATE":
            problems.append(f"{f}: DuckDB reads date {field.name} as {dtypes.get(field.name)}")
        if pa.types.is_string(field.type) and dtypes.get(field.name) != "VARCHAR":
            problems.append(f"{f}: DuckDB reads string {field.name} as {dtypes.get(field.name)}")
    rows += table.num_rows
print(json.dumps({"files": files, "rows": rows, "problems": problems}))
sys.exit(1 if problems or files == 0 else 0)
