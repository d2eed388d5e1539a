"""Checks a warehouse's published zone for disclosure, reading the Parquet with DuckDB (not Lantern).

usage: disclosure_check.py WAREHOUSE THRESHOLD

Prints one JSON object: counts of what was checked, and `problems`, every cell that reveals a
count from 1 to THRESHOLD directly or by subtraction from a total, every published cell that
differs from its mart when not withheld, and every published table that holds child-level rows.
"""
import json
import os
import re
import sys

import duckdb

wh, T = sys.argv[1], float(sys.argv[2])
con = duckdb.connect()
problems = []
stats = {}


def table(zone, area, name):
    return f"read_parquet('{wh}/{zone}/{area}/{name}/**/*.parquet', hive_partitioning = false, union_by_name = true)"


def small(x):
    return x is not None and 1 <= x <= T


def rows(sql):
    cur = con.execute(sql)
    cols = [d[0] for d in cur.description]
    return [dict(zip(cols, r)) for r in cur.fetchall()]


# 1. what is published: aggregate tables only, no pseudonym anywhere
published = sorted(
    (area, t) for area in os.listdir(f"{wh}/published") for t in os.listdir(f"{wh}/published/{area}")
)
stats["tables"] = [f"{a}.{t}" for a, t in published]
child_level = {("education", "pupils"), ("send", "ehc_plans"), ("send", "ehcna_requests"), ("finance", "ledger_lines"),
               ("finance", "placements_typed"), ("finance", "placement_spend"), ("finance", "provider_concentration")}
pseudonym = re.compile(r"^[0-9a-f]{32}$")
for area, t in published:
    if area == "staging" or (area, t) in child_level:
        problems.append(f"published.{area}.{t} is a child-level table")
    cur = con.execute(f"SELECT * FROM {table('published', area, t)}")
    cols = [d[0] for d in cur.description]
    for r in cur.fetchall():
        for c, v in zip(cols, r):
            if isinstance(v, str) and pseudonym.match(v):
                problems.append(f"published.{area}.{t}.{c} holds a pseudonymised identifier")
                break

# 2. indicator values: every published count is 0 or above the threshold, and so is what subtraction gives
key = "la_code, indicator_id, period_start, period_end, \"window\""
vals = rows(f"""
    SELECT m.la_code, m.indicator_id, m.period_start, m.period_end, m."window", m.unit,
           m.numerator AS m_num, m.denominator AS m_den, m.value AS m_value,
           p.numerator, p.denominator, p.value, p.suppressed
    FROM {table('marts', 'indicators', 'indicator_values')} m
    LEFT JOIN {table('published', 'indicators', 'indicator_values')} p USING ({key})
""")
stats["values"] = len(vals)
stats["values_suppressed"] = sum(1 for r in vals if r["suppressed"])
stats["values_small_in_marts"] = 0
published_total = {}
for r in vals:
    where = f"indicator_values {r['indicator_id']} {r['la_code']} {r['period_end']} {r['window']}"
    if r["suppressed"] is None:
        problems.append(f"{where}: in the marts but not published")
        continue
    unit = r["unit"]
    mean = unit.endswith("days") or unit.endswith("weeks")
    if unit == "count":
        counts = [r["value"], r["numerator"]]
        m_counts = [r["m_value"]]
    elif mean:
        counts = [r["denominator"]]
        m_counts = [r["m_den"]]
    elif unit.startswith("per "):
        counts = [r["numerator"], r["denominator"]]
        m_counts = [r["m_num"], r["m_den"]]
    else:
        counts = [r["numerator"], r["denominator"]]
        if r["numerator"] is not None and r["denominator"] is not None:
            counts.append(r["denominator"] - r["numerator"])
        m_counts = [r["m_num"], r["m_den"]] + ([r["m_den"] - r["m_num"]] if r["m_num"] is not None and r["m_den"] is not None else [])
    if any(small(c) for c in m_counts):
        stats["values_small_in_marts"] += 1
    for c in counts:
        if small(c):
            problems.append(f"{where}: publishes the count {c}")
    if any(small(c) for c in m_counts) and r["value"] is not None:
        problems.append(f"{where}: the value of a small count is published")
    if (mean and r["numerator"] is not None and small(r["m_den"])):
        problems.append(f"{where}: the total of a mean over few children is published")
    if not r["suppressed"]:
        for a, b in [("numerator", "m_num"), ("denominator", "m_den"), ("value", "m_value")]:
            if r[a] != r[b]:
                problems.append(f"{where}: {a} {r[a]} is not the mart's {r[b]}")
    if unit == "count" and r["value"] is not None:
        published_total[(r["la_code"], r["indicator_id"], r["period_start"], r["period_end"], r["window"])] = r["value"]

# 3. breakdowns: no small count published, and none worked out from its breakdown's total
bd = rows(f"""
    SELECT m.la_code, m.indicator_id, m.period_start, m.period_end, m."window", m.dimension, m.category,
           m.value AS m_value, m.share_pct AS m_share, p.value, p.share_pct, p.suppressed
    FROM {table('marts', 'indicators', 'indicator_breakdowns')} m
    LEFT JOIN {table('published', 'indicators', 'indicator_breakdowns')} p
      USING (la_code, indicator_id, period_start, period_end, "window", dimension, category)
""")
stats["breakdown_cells"] = len(bd)
stats["breakdown_cells_suppressed"] = sum(1 for r in bd if r["suppressed"])
groups = {}
for r in bd:
    where = f"breakdown {r['indicator_id']} {r['dimension']}={r['category']} {r['la_code']} {r['period_end']}"
    if r["suppressed"] is None:
        problems.append(f"{where}: in the marts but not published")
        continue
    if small(r["value"]):
        problems.append(f"{where}: publishes the count {r['value']}")
    if small(r["m_value"]) and (r["value"] is not None or r["share_pct"] is not None):
        problems.append(f"{where}: a small count's value or share is published")
    if not r["suppressed"] and (r["value"] != r["m_value"] or r["share_pct"] != r["m_share"]):
        problems.append(f"{where}: {r['value']} / {r['share_pct']} is not the mart's {r['m_value']} / {r['m_share']}")
    g = (r["la_code"], r["indicator_id"], r["period_start"], r["period_end"], r["window"], r["dimension"])
    groups.setdefault(g, []).append(r)
stats["breakdown_groups_with_total"] = 0
for g, cells in groups.items():
    total = published_total.get(g[:5])
    mart_sum = sum(c["m_value"] or 0 for c in cells)
    if total is None or total != mart_sum:
        continue  # no published total these categories add up to
    stats["breakdown_groups_with_total"] += 1
    hidden = [c for c in cells if c["value"] is None and (c["m_value"] or 0) > 0]
    if not hidden:
        continue
    s = total - sum(c["value"] or 0 for c in cells)  # what subtraction gives: the withheld cells' sum
    k = len(hidden)
    where = f"breakdown {g[1]} {g[5]} {g[0]} {g[3]}: {k} withheld cell(s) adding to {s} from the published total {total}"
    if k == 1 or s == k:
        problems.append(f"{where}: each is known exactly")
    # each withheld count is at least 1, so the largest any can be is s - (k - 1): when that is
    # small, every withheld count is known to be small, which withholding one more would have hidden
    elif s - (k - 1) <= T and any((c["value"] or 0) > 0 for c in cells):
        problems.append(f"{where}: each is known to be from 1 to {s - (k - 1)} while a count is left to withhold")

# 4. comparison: the council's value withheld where its indicator value is
cmp = rows(f"""
    SELECT c.la_code, c.indicator_id, c.period_end, c.value, c.difference, m.value AS m_value,
           (SELECT bool_or(v.suppressed) FROM {table('published', 'indicators', 'indicator_values')} v
             WHERE v.la_code = c.la_code AND v.indicator_id = c.indicator_id AND v.period_end = c.period_end) AS hidden
    FROM {table('published', 'indicators', 'indicator_comparison')} c
    JOIN {table('marts', 'indicators', 'indicator_comparison')} m USING (la_code, indicator_id, reporting_year, period_end)
""")
stats["comparison"] = len(cmp)
for r in cmp:
    if r["hidden"] and (r["value"] is not None or r["difference"] is not None):
        problems.append(f"comparison {r['indicator_id']} {r['la_code']} {r['period_end']}: the value of a withheld figure is published")
    if not r["hidden"] and r["value"] != r["m_value"]:
        problems.append(f"comparison {r['indicator_id']} {r['la_code']} {r['period_end']}: {r['value']} is not the mart's {r['m_value']}")

# 5. EHC plans in the DSG tables
for t in ["high_needs", "forecast"]:
    for r in rows(f"SELECT ehcps, independent_special_plans_pct AS pct FROM {table('published', 'dsg', t)}"):
        if r["ehcps"] is not None and small(round(r["ehcps"])):
            problems.append(f"dsg.{t}: publishes {r['ehcps']} EHC plans")
        if r["ehcps"] is not None and r["pct"] is not None:
            iss = round(r["ehcps"] * r["pct"] / 100.0)
            if small(iss) or small(round(r["ehcps"]) - iss):
                problems.append(f"dsg.{t}: a share of {r['ehcps']} plans reveals {iss} in independent special schools")

print(json.dumps({"stats": stats, "problems": problems[:50], "problem_count": len(problems)}, default=str))
