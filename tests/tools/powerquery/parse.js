// Parses Power Query (M) documents with Microsoft's parser (@microsoft/powerquery-parser) and
// prints one JSON line per document:
//
//   {"file": "...", "ok": true, "tokens": [[kind, text, line], ...]}
//   {"file": "...", "ok": false, "line": 12, "column": 5, "message": "..."}
//
// Lines and columns are 1-based. Arguments are files to read; `-` reads a JSON array of
// {"file": name, "text": M} from stdin instead (for documents that are not files: the guide's
// code blocks, the tests' broken snippets). Exits 0 when every document parsed, 1 when any did
// not, 2 when the parser itself could not run.
"use strict";
const fs = require("fs");
const PQP = require("@microsoft/powerquery-parser");

// Where an error is: the position the parser gives, else the token it stopped at, else (a
// lexer error) the first line in the lexer's error map.
function where(error) {
    const seen = new Set();
    let e = error;
    while (e && typeof e === "object" && !seen.has(e)) {
        seen.add(e);
        const p = e.positionStart || e.graphemePosition;
        if (p && typeof p.lineNumber === "number") {
            return { line: p.lineNumber + 1, column: (p.columnNumber ?? p.lineCodeUnit ?? 0) + 1 };
        }
        const t = e.foundToken?.token ?? e.startToken ?? e.firstUnusedToken;
        if (t && t.positionStart) {
            return { line: t.positionStart.lineNumber + 1, column: t.positionStart.lineCodeUnit + 1 };
        }
        if (e.errorLineMap instanceof Map && e.errorLineMap.size > 0) {
            const [line, entry] = [...e.errorLineMap.entries()].sort((a, b) => a[0] - b[0])[0];
            const inner = where(entry.error);
            return inner ?? { line: line + 1, column: 1 };
        }
        e = e.innerError;
    }
    return null;
}

// The deepest message: a ParseError's own message is generic, its innerError says what.
function message(error) {
    let e = error;
    let text = e?.message ?? String(e);
    const seen = new Set();
    while (e && e.innerError && !seen.has(e)) {
        seen.add(e);
        e = e.innerError;
        if (e.message) text = e.message;
    }
    if (error?.errorLineMap instanceof Map || error?.innerError?.errorLineMap instanceof Map) {
        const map = error.errorLineMap ?? error.innerError.errorLineMap;
        const first = [...map.values()][0];
        if (first?.error?.message) text = first.error.message;
    }
    return text;
}

async function parse(file, text) {
    const result = await PQP.TaskUtils.tryLexParse(PQP.DefaultSettings, text);
    if (PQP.TaskUtils.isOk(result)) {
        const tokens = result.lexerSnapshot.tokens.map((t) => [t.kind, t.data, t.positionStart.lineNumber + 1]);
        return { file, ok: true, tokens };
    }
    const at = where(result.error) ?? { line: 0, column: 0 };
    return { file, ok: false, line: at.line, column: at.column, message: `${result.stage} error: ${message(result.error)}` };
}

async function main() {
    const args = process.argv.slice(2);
    let docs;
    if (args.length === 1 && args[0] === "-") {
        docs = JSON.parse(fs.readFileSync(0, "utf8"));
    } else {
        docs = args.map((file) => ({ file, text: fs.readFileSync(file, "utf8") }));
    }
    let failed = false;
    for (const doc of docs) {
        // a byte order mark is not M; Power BI Desktop's editor does not keep one either
        const out = await parse(doc.file, doc.text.replace(/^\uFEFF/, ""));
        failed ||= !out.ok;
        process.stdout.write(JSON.stringify(out) + "\n");
    }
    process.exitCode = failed ? 1 : 0;
}

main().catch((e) => {
    process.stderr.write(`the Power Query parser could not run: ${e?.stack ?? e}\n`);
    process.exitCode = 2;
});
