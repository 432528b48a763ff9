#!/usr/bin/python3
"""Judge one lab run of smtpdoctor against its scenario's expectations.

Usage: check.py REPORT_JSON EXIT_STATUS EXPECT_CAUSE MUST MUST_NOT EXIT STATUS
                SECONDS MAX_SECONDS [JSON_ASSERTIONS [FIX_CONTAINS]]
(MUST and MUST_NOT are space-separated finding codes; EXIT, STATUS and
MAX_SECONDS may be empty; EXPECT_CAUSE "any" accepts every verdict of a
well-formed report). Prints one line: "pass|fail<TAB>GOT<TAB>reasons" and
exits 0.
JSON_ASSERTIONS: lines "a.b.c = VALUE" (a member path, an array index as a
number; VALUE compared as text, JSON null as "null", booleans as "true" /
"false"). FIX_CONTAINS: lines that must each appear, whole, inside one line
of verdict.fix.
GOT is the verdict cause, or a short word when there is no usable report.
"""
import json
import sys

MAX_REPORT = 8 * 1024 * 1024     # bytes of a report we are willing to parse


def member(doc, path):
    """The value at a dotted path (numbers index arrays), or None."""
    for part in path.split("."):
        if isinstance(doc, list) and part.isdigit() and int(part) < len(doc):
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
    for key in ("summary", "fix", "evidence"):
        if key not in verdict:
            reasons.append("verdict has no %s" % key)
    print("%s\t%s\t%s" % ("fail" if reasons else "pass", got, "; ".join(reasons)))


if __name__ == "__main__":
    main()
