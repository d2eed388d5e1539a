"""Count the data rows of export files independently of Lantern's readers.

CSV: Python's csv module after decoding (BOM-aware); XLSX: the sheet XML inside the zip;
XML: the record elements the CIN census / SSDA903 tables are built from.
Prints JSON {file name: row count}.
"""
import csv, io, json, re, sys, zipfile
import xml.etree.ElementTree as ET

CIN_RECORDS = {"Child", "Disability", "CINdetails", "Assessments", "AssessmentFactors",
               "CINPlanDates", "Section47", "ChildProtectionPlans", "CPPreviewDate",
               "PreProceedingsandFGDM"}
SSDA903_RECORDS = {"HEADER", "EPISODE", "AREVIEW", "AMISSING"}


def count_csv(path):
    raw = open(path, "rb").read()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = raw.decode("cp1252")
    rows = list(csv.reader(io.StringIO(text)))
    return sum(1 for r in rows[1:] if any(c.strip() for c in r))


def count_xlsx(path):
    z = zipfile.ZipFile(path)
    total = 0
    for name in z.namelist():
        if not re.match(r"xl/worksheets/sheet\d+\.xml$", name):
            continue
        root = ET.fromstring(z.read(name))
        ns = {"m": root.tag.split("}")[0].strip("{")}
        rows = []
        for row in root.iter("{%s}row" % ns["m"]):
            values = [v.text for v in row.iter("{%s}v" % ns["m"]) if v.text not in (None, "")]
            values += [t.text for t in row.iter("{%s}t" % ns["m"]) if t.text not in (None, "")]
            rows.append(bool(values))
        nonempty = [r for r in rows if r]
        total += max(len(nonempty) - 1, 0)
    return total


def count_xml(path):
    root = ET.parse(path).getroot()
    names = [el.tag.split("}")[-1] for el in root.iter()]
    records = SSDA903_RECORDS if root.tag.split("}")[-1] == "EXPSSDA903" else CIN_RECORDS
    return sum(1 for n in names if n in records)


def main():
    out = {}
    for p in sys.argv[1:]:
        low = p.lower()
        if low.endswith(".xlsx"):
            out[p] = count_xlsx(p)
        elif low.endswith(".xml"):
            out[p] = count_xml(p)
        else:
            out[p] = count_csv(p)
    print(json.dumps(out))


main()
