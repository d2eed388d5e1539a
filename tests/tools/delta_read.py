"""Read Delta tables with the `deltalake` package, as a reader that knows only Delta does.

    delta_read.py BASE TABLE...

BASE is a warehouse folder or URL (s3://…, az://…); each TABLE is zone/source/table under it.
Store settings come from the environment (AWS_* for S3; AZURE_STORAGE_USE_EMULATOR and
AZURITE_BLOB_STORAGE_URL for Azurite), as Lantern takes them. Prints JSON
{table: {"version": v, "rows": n, "files": [paths from the table folder]}}, or
{table: {"error": "..."}} for a table that cannot be read.
"""
import json, os, sys

from deltalake import DeltaTable

base = sys.argv[1].rstrip("/")
options = {}
for k, v in os.environ.items():
    if k.startswith("AWS_"):
        options[k.lower()] = v
if os.environ.get("AZURE_STORAGE_USE_EMULATOR") == "true":
    options["azure_storage_use_emulator"] = "true"
out = {}
for table in sys.argv[2:]:
    uri = f"{base}/{table}"
    try:
        dt = DeltaTable(uri, storage_options=options or None)
        files = sorted(u[len(uri) + 1 :] if u.startswith(uri) else u for u in dt.file_uris())
        out[table] = {"version": dt.version(), "rows": dt.to_pyarrow_table().num_rows, "files": files}
    except Exception as e:  # the test says which table and why
        out[table] = {"error": f"{type(e).__name__}: {e}"}
print(json.dumps(out), flush=True)
# leave at once: pyarrow's and delta-rs's thread pools can abort the interpreter's shutdown
# ("terminate called without an active exception") after the work is done
os._exit(0)
