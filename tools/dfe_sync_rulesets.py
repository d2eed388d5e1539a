#!/usr/bin/env python3
"""Writes rules/ssda903/rulesets.toml (and each rule file's `years`) from the rule files present
and the DfE package's own rule sets, as the cases `dfe_cases.py --return ssda903 --all` extracts
record them (each case names the module, so the rule set folder, the DfE's registry takes the rule
from). A rule file lives in the folder of the DfE module it follows (rules/ssda903/2024_25/146.toml
follows lac_validator/rules/lac2024_25/rule_146.py); a year adds the files of its folder that it
does not inherit, changes those it does, and removes what the DfE's registry of that year no longer
has. tests/dfe_903.rs checks the result against the DfE's package.

    python3 tools/dfe_sync_rulesets.py CASES_DIR   # CASES_DIR/ssda903/lac2022_23/*.json ...
"""
import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent / "rules" / "ssda903"
YEARS = ["2022_23", "2023_24", "2024_25", "2025_26", "2026_27"]


def main(cases):
    dfe = {}  # year folder -> code -> module's folder
    for y in YEARS:
        dfe[y] = {}
        for f in (Path(cases) / "ssda903" / f"lac{y}").glob("*.json"):
            if f.name.startswith("_"):
                continue
            c = json.loads(f.read_text())
            dfe[y][c["rule_code"]] = c["source"]["module"].split(".")[2].removeprefix("lac")
    files = {y: sorted(p.stem for p in (ROOT / y).glob("*.toml")) if (ROOT / y).is_dir() else [] for y in YEARS}
    for y in YEARS:
        for code in files[y]:
            years = [z.replace("_", "/") for z in YEARS if dfe[z].get(code) == y]
            if not years:
                sys.exit(f"{y}/{code}.toml: the DfE's package has no rule {code} in lac{y}")
            p = ROOT / y / f"{code}.toml"
            text = p.read_text()
            text = re.sub(r"(?m)^years = \[.*\]$", "years = [" + ", ".join(f'"{x}"' for x in years) + "]", text)
            p.write_text(text)
    out = [
        "# The SSDA903 rule sets per collection year, as the DfE's csc-validator-be-903 declares them",
        "# (lac_validator/rules/lac20XX_YY: each year's registry inherits the year before, its folder's",
        "# rule files add or replace rules, and its del_list removes some). Only the rules Lantern declares",
        "# so far are listed: tests/dfe_903.rs names the others. Written by tools/dfe_sync_rulesets.py.",
    ]
    current = {}  # code -> the folder of the version this year inherits
    prev = None
    for y in YEARS:
        here = set(files[y])
        add = sorted(here - set(current))
        change = sorted(here & set(current))
        # inherited rules the DfE's registry of this year no longer has, or has in a version whose
        # file Lantern does not have yet (not declared this year)
        remove = sorted(c for c, f in current.items() if c not in here and dfe[y].get(c) != f)
        out.append("")
        out.append("[[ruleset]]")
        out.append(f'year = "{y.replace("_", "/")}"')
        if prev:
            out.append(f'inherit = "{prev.replace("_", "/")}"')
        if here:
            out.append(f'dir = "{y}"')
        if prev:
            for k, v in (("add", add), ("change", change), ("remove", remove)):
                if v:
                    out.append(f"{k} = [" + ", ".join(f'"{c}"' for c in v) + "]")
        for c in remove:
            del current[c]
        current.update({c: y for c in here})
        prev = y
    (ROOT / "rulesets.toml").write_text("\n".join(out) + "\n")


if __name__ == "__main__":
    main(sys.argv[1])
