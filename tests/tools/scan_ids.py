"""Scan every Parquet cell under the given folders for identifier values.

argv: ids_file folder... ; ids_file holds one identifier per line. A cell that equals an
identifier (after trimming, case-insensitive), or a text cell that contains an identifier of 8 or
more characters, is a leak. Prints JSON {"cells": n, "leaks": [...]}; exit 1 on leaks.
"""
import json, pathlib, sys
import pyarrow.parquet as pq

ids = {l.strip().upper() for l in open(sys.argv[1], encoding="utf-8") if l.strip()}
long_ids = [i for i in ids if len(i) >= 8]
leaks, cells = [], 0
for folder in sys.argv[2:]:
    for f in sorted(pathlib.Path(folder).rglob("*.parquet")):
        t = pq.read_table(f)
        for name in t.column_names:
            for v in t.column(name).to_pylist():
                if v is None:
                    continue
                cells += 1
                s = str(v).strip().upper()
                # identifiers are text: a number cell only counts when it spells a long identifier
                # (short ids such as 39 collide with scores and row numbers)
                hit = s in ids if isinstance(v, str) else (len(s) >= 6 and s in ids)
                if hit or (isinstance(v, str) and any(i in s for i in long_ids if len(s) >= len(i))):
                    leaks.append(f"{f}: column {name}")
print(json.dumps({"cells": cells, "leaks": sorted(set(leaks))[:50]}))
sys.exit(1 if leaks or cells == 0 else 0)
