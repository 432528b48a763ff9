#!/usr/bin/python3
"""Judge one lab run of smtpdoctor against its scenario's expectations.

Usage: check.py REPORT_JSON EXIT_STATUS EXPECT_CAUSE MUST MUST_NOT EXIT STATUS
                SECONDS MAX_SECONDS [JSON_ASSERTIONS [FIX_CONTAINS [NEVER_SENT
                [SUMMARY_CONTAINS [EVIDENCE]]]]]
(MUST and MUST_NOT are space-separated finding codes; EXIT, STATUS and
MAX_SECONDS may be empty; EXPECT_CAUSE "any" accepts every verdict of a
well-formed report). Prints one line: "pass|fail<TAB>GOT<TAB>reasons" and
exits 0.
JSON_ASSERTIONS: lines "a.b.c = VALUE" (a member path, an array index as a
number, "[ID]" the member of an array whose "id" is ID: facts[tls.587.x].ok;
VALUE compared as text, JSON null as "null", booleans as "true" /
"false"). FIX_CONTAINS: lines that must each appear, whole, inside one line
of verdict.fix. NEVER_SENT: lines (a command word, such as AUTH) with which
no line the client sent in the report's transcript may begin.
SUMMARY_CONTAINS: lines that must each appear, whole, in verdict.summary.
EVIDENCE: lines (a fact id) that must each be in verdict.evidence.
GOT is the verdict cause, or a short word when there is no usable report.

With "hostile" as the first argument it judges instead what every run
against a hostile peer must hold, whatever the verdict (docs/lab.md, key
`hostile`):

check.py hostile SECRETS_DIR RUN_BASE -- ARGV...
RUN_BASE.{json,text}.{out,err,stat} are the --json and the text run
(stat: "EXIT MAXRSS_KIB SECONDS" from measure.py), RUN_BASE.explain.*
the text `explain` of the saved JSON report; ARGV is the command line
(for --timeout and --user). Prints "pass|fail<TAB>reasons".
"""
import base64
import binascii
import json
import os
import sys
import urllib.parse

MAX_REPORT = 8 * 1024 * 1024     # bytes of a report we are willing to parse


def path_parts(path):
    """"a.0.b[x.y].c" -> ["a", "0", "b", "[x.y]", "c"]: an id in brackets
    keeps its dots."""
    parts, cur, i = [], "", 0
    while i < len(path):
        ch = path[i]
        if ch == "[":
            end = path.find("]", i)
            end = len(path) if end < 0 else end
            if cur:
                parts.append(cur)
            parts.append(path[i:end + 1])
            cur, i = "", end + 1
            continue
        if ch == ".":
            if cur:
                parts.append(cur)
            cur = ""
        else:
            cur += ch
        i += 1
    if cur:
        parts.append(cur)
    return parts


def member(doc, path):
    """The value at a dotted path (numbers index arrays, "[ID]" picks the
    array's member whose "id" is ID), or None."""
    for part in path_parts(path):
        if isinstance(doc, list) and part.startswith("["):
            doc = next((x for x in doc if isinstance(x, dict) and x.get("id") == part[1:-1]), None)
        elif isinstance(doc, list) and part.isdigit() and int(part) < len(doc):
            doc = doc[int(part)]
        elif isinstance(doc, dict):
            doc = doc.get(part)
        else:
            return None
    return doc


def main():
    path, rc, cause, must, must_not, want_exit, want_status, secs, max_secs = sys.argv[1:10]
    json_asserts = sys.argv[10] if len(sys.argv) > 10 else ""
    fix_contains = sys.argv[11] if len(sys.argv) > 11 else ""
    never_sent = sys.argv[12] if len(sys.argv) > 12 else ""
    summary_contains = sys.argv[13] if len(sys.argv) > 13 else ""
    evidence = sys.argv[14] if len(sys.argv) > 14 else ""
    rc = int(rc)
    reasons = []
    try:
        with open(path, "rb") as f:
            raw = f.read(MAX_REPORT + 1)
        if len(raw) > MAX_REPORT:
            raise ValueError("report larger than %d bytes" % MAX_REPORT)
        report = json.loads(raw.decode("utf-8"))
        if not isinstance(report, dict):
            raise ValueError("report is not a JSON object")
    except (OSError, ValueError, UnicodeDecodeError) as e:
        got = "no-report"
        if rc == 124:
            got = "killed-by-runner-timeout"
        print("fail\t%s\texit %d, %s" % (got, rc, str(e)[:160]))
        return
    if "error" in report and "verdict" not in report:
        err = report.get("error") or {}
        print("fail\terror\texit %d, %s: %s" % (rc, err.get("code"), str(err.get("message"))[:160]))
        return
    verdict = report.get("verdict") or {}
    got = str(verdict.get("cause"))
    codes = [str(f.get("code")) for f in report.get("findings") or [] if isinstance(f, dict)]
    if cause != "any" and got != cause:
        reasons.append("verdict %s" % got)
    for c in must.split():
        if c not in codes and c != got:
            reasons.append("missing finding %s" % c)
    for c in must_not.split():
        if c in codes or c == got:
            reasons.append("unexpected finding %s" % c)
    if want_exit and rc != int(want_exit):
        reasons.append("exit %d, expected %s" % (rc, want_exit))
    if want_status and verdict.get("status") != want_status:
        reasons.append("status %s, expected %s" % (verdict.get("status"), want_status))
    if max_secs and float(secs) > float(max_secs):
        reasons.append("took %s s, limit %s s" % (secs, max_secs))
    if not verdict.get("cause") or not verdict.get("status"):
        reasons.append("verdict without cause or status")
    for line in json_asserts.splitlines():
        if not line.strip():
            continue
        where, _, want = line.partition("=")
        v = member(report, where.strip())
        text = "null" if v is None else ("true" if v is True else "false" if v is False else str(v))
        if text != want.strip():
            reasons.append("%s is %s, expected %s" % (where.strip(), text[:80], want.strip()))
    fixes = [str(x) for x in verdict.get("fix") or []]
    for line in fix_contains.splitlines():
        if line.strip() and not any(line.strip() in f for f in fixes):
            reasons.append("no fix line holds '%s'" % line.strip()[:80])
    sent = [str(t.get("line", "")).upper() for t in report.get("transcript") or []
            if isinstance(t, dict) and t.get("dir") == "C"]
    for word in never_sent.split("\n"):
        word = word.strip().upper()
        if word and any(line.startswith(word) for line in sent):
            reasons.append("the client sent %s" % word[:40])
    summary = str(verdict.get("summary") or "")
    for line in summary_contains.splitlines():
        if line.strip() and line.strip() not in summary:
            reasons.append("the summary lacks '%s'" % line.strip()[:80])
    ids = [str(x) for x in verdict.get("evidence") or []]
    for line in evidence.splitlines():
        if line.strip() and line.strip() not in ids:
            reasons.append("no evidence %s" % line.strip()[:80])
    for key in ("summary", "fix", "evidence"):
        if key not in verdict:
            reasons.append("verdict has no %s" % key)
    print("%s\t%s\t%s" % ("fail" if reasons else "pass", got, "; ".join(reasons)))


MAX_RSS_KIB = 64 * 1024          # peak resident set a run may reach
DEADLINE_SLACK = 1.0             # seconds a run may take beyond --timeout
DEFAULT_TIMEOUT = 30.0           # smtpdoctor's own default --timeout
# what a terminal must never get raw: C0 but tab and newline, DEL, C1,
# and the bidi controls that reorder what a reader sees
BIDI = set(range(0x202A, 0x202F)) | set(range(0x2066, 0x206A)) | {0x200E, 0x200F, 0x061C}


def b64_anywhere(secret):
    """The base64 text that stands for `secret` wherever it sits in an
    encoded payload: one string for each of the three byte alignments."""
    forms = []
    n = len(secret)
    for k in range(3):
        enc = base64.b64encode(b"\0" * k + secret).decode()
        first = -(-8 * k // 6)
        last = (8 * (k + n)) // 6
        if last - first >= 4:
            forms.append(enc[first:last])
    return forms


def secret_forms(secret, users):
    forms = {"raw": [secret.decode("latin-1")]}
    forms["base64"] = b64_anywhere(secret)
    for u in users:
        for lead in (b"", u):
            forms["base64"].append(base64.b64encode(lead + b"\0" + u + b"\0" + secret).decode().rstrip("="))
    forms["hex"] = [binascii.hexlify(secret).decode(), binascii.hexlify(secret).decode().upper()]
    forms["url"] = [urllib.parse.quote(secret, safe=""), urllib.parse.quote_plus(secret)]
    return forms


def json_strings(doc, out):
    if isinstance(doc, str):
        out.append(doc)
    elif isinstance(doc, dict):
        for k, v in doc.items():
            out.append(k)
            json_strings(v, out)
    elif isinstance(doc, list):
        for v in doc:
            json_strings(v, out)


def raw_controls(data):
    """The first raw control character in a text output, or None."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        return "a byte that is not UTF-8 at offset %d" % e.start
    for i, ch in enumerate(text):
        o = ord(ch)
        if (o < 0x20 and ch not in "\n\t") or 0x7f <= o <= 0x9f or o in BIDI:
            return "U+%04X at offset %d" % (o, i)
    return None


def read(path):
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError:
        return b""


def hostile(argv):
    secrets_dir, base = argv[0], argv[1]
    cmd = argv[3:] if len(argv) > 2 and argv[2] == "--" else []
    timeout = DEFAULT_TIMEOUT
    users = []
    for i, a in enumerate(cmd[:-1]):
        if a == "--timeout":
            timeout = float(cmd[i + 1])
        elif a == "--user":
            users.append(cmd[i + 1].encode())
    reasons = []
    for form in ("json", "text", "explain"):
        stat = read("%s.%s.stat" % (base, form)).split()
        if len(stat) != 3:
            reasons.append("%s: not measured" % form)
            continue
        code, rss, secs = int(stat[0]), int(stat[1]), float(stat[2])
        if code < 0 or code in (124, 137) or code >= 128:
            what = ("killed by the runner at its deadline" if code in (124, 137) else
                    "died of signal %d" % (-code if code < 0 else code - 128))
            reasons.append("%s: %s" % (form, what))
        if rss > MAX_RSS_KIB:
            reasons.append("%s: peak RSS %.1f MiB over %d MiB" % (form, rss / 1024, MAX_RSS_KIB // 1024))
        if form != "explain" and secs > timeout + DEADLINE_SLACK:
            reasons.append("%s: took %.2f s, --timeout %g s + %g" % (form, secs, timeout, DEADLINE_SLACK))
    outputs = {}
    for form in ("json", "text", "explain"):
        for stream in ("out", "err"):
            outputs["%s %s" % (form, "stdout" if stream == "out" else "stderr")] = \
                read("%s.%s.%s" % (base, form, stream))
    try:
        strings = []
        json_strings(json.loads(outputs["json stdout"].decode("utf-8")), strings)
        outputs["json strings"] = "\n".join(strings).encode("utf-8", "surrogatepass")
    except (ValueError, UnicodeDecodeError):
        reasons.append("json: stdout is not a JSON document")
    for name in sorted(os.listdir(secrets_dir)):
        secret = read(os.path.join(secrets_dir, name)).split(b"\n")[0]
        if len(secret) < 4:
            continue
        for kind, forms in secret_forms(secret, users).items():
            for where, data in outputs.items():
                text = data.decode("latin-1")
                if any(f and f in text for f in forms):
                    reasons.append("secret '%s' (%s) in %s" % (name, kind, where))
    for where in ("text stdout", "text stderr", "explain stdout", "explain stderr"):
        bad = raw_controls(outputs[where])
        if bad:
            reasons.append("raw control character in %s: %s" % (where, bad))
    print("%s\t%s" % ("fail" if reasons else "pass", "; ".join(reasons)))


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "hostile":
        hostile(sys.argv[2:])
    else:
        main()
