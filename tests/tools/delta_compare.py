"""Read every table of a Delta warehouse with the `deltalake` package (delta-rs's Python reader,
as Fabric and Power BI's DeltaLake.Table read a Delta table: through its log only) and compare it
with the same table in a Parquet warehouse read by pyarrow, row for row.

    delta_compare.py PARQUET_WAREHOUSE DELTA_WAREHOUSE [--ignore COLUMN ...]

A table is a folder zone/source/table under clean, quarantine, marts or published holding
Parquet. Every such table in the Parquet warehouse must be a Delta table in the other (a
`_delta_log` folder), with the same column names and types and the same rows (sorted; floats
rounded to 9 significant digits; columns named by --ignore, which differ from run to run, left
out). The Delta warehouse must hold no table the Parquet one lacks, and no Parquet file that its
log does not list. Prints JSON {"tables": n, "rows": n, "problems": [...]}; exits 1 on problems.
"""
import json, os, pathlib, sys

import pyarrow as pa
import pyarrow.dataset as ds
from deltalake import DeltaTable

ZONES = ["clean", "quarantine", "marts", "published"]


def tables(root: pathlib.Path):
    out = {}
    for zone in ZONES:
        for source in sorted(p for p in (root / zone).glob("*") if p.is_dir()):
            for table in sorted(p for p in source.glob("*") if p.is_dir()):
                if any(table.rglob("*.parquet")) or (table / "_delta_log").is_dir():
                    out[f"{zone}/{source.name}/{table.name}"] = table
    return out


def rows(table: pa.Table, ignore):
    keep = [c for c in table.column_names if c not in ignore]
    table = table.select(keep)
    out = []
    for r in table.to_pylist():
        out.append(json.dumps({k: (float(f"{v:.9e}") if isinstance(v, float) else v) for k, v in r.items()}, sort_keys=True, default=str))
    out.sort()
    return out


def main():
    args = sys.argv[1:]
    ignore = set()
    while "--ignore" in args:
        i = args.index("--ignore")
        ignore.add(args[i + 1])
        del args[i : i + 2]
    plain, delta = pathlib.Path(args[0]), pathlib.Path(args[1])
    problems, n_rows = [], 0
    want, got = tables(plain), tables(delta)
    for name in sorted(set(got) - set(want)):
        problems.append(f"{name}: in the Delta warehouse only")
    for name, folder in want.items():
        if name not in got or not (got[name] / "_delta_log").is_dir():
            problems.append(f"{name}: not a Delta table")
            continue
        dt = DeltaTable(str(got[name]))
        listed = {pathlib.Path(got[name], p).resolve() for p in dt.file_uris()}
        on_disk = {p.resolve() for p in got[name].rglob("*.parquet") if "_delta_log" not in p.parts}
        if on_disk - listed:
            problems.append(f"{name}: {len(on_disk - listed)} Parquet files its log does not list")
        d = dt.to_pyarrow_table()
        p = ds.dataset(str(folder), format="parquet", partitioning=None).to_table()
        if [(f.name, str(f.type)) for f in p.schema] != [(f.name, str(f.type)) for f in d.schema]:
            if sorted(p.schema.names) != sorted(d.schema.names):
                problems.append(f"{name}: columns {p.schema.names} in Parquet, {d.schema.names} in Delta")
                continue
            types = {f.name: str(f.type) for f in p.schema}
            for f in d.schema:
                if types[f.name] != str(f.type) and not (types[f.name].startswith("timestamp") and str(f.type).startswith("timestamp")):
                    problems.append(f"{name}: {f.name} is {types[f.name]} in Parquet, {f.type} in Delta")
            d = d.select(p.schema.names)
        if p.num_rows != d.num_rows:
            problems.append(f"{name}: {p.num_rows} rows in Parquet, {d.num_rows} in Delta")
            continue
        a, b = rows(p, ignore), rows(d, ignore)
        if a != b:
            diff = next(i for i, (x, y) in enumerate(zip(a, b)) if x != y)
            problems.append(f"{name}: rows differ (first sorted difference at {diff}: {a[diff][:200]} / {b[diff][:200]})")
        n_rows += p.num_rows
    print(json.dumps({"tables": len(want), "rows": n_rows, "problems": problems}), flush=True)
    # leave at once: pyarrow's and delta-rs's thread pools can abort the interpreter's shutdown
    os._exit(1 if problems or not want else 0)


main()
