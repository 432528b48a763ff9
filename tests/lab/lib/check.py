#!/usr/bin/python3
"""Judge one lab run of smtpdoctor against its scenario's expectations.

Usage: check.py REPORT_JSON EXIT_STATUS EXPECT_CAUSE MUST MUST_NOT EXIT STATUS
                SECONDS MAX_SECONDS
(MUST and MUST_NOT are space-separated finding codes; EXIT, STATUS and
MAX_SECONDS may be empty; EXPECT_CAUSE "any" accepts every verdict of a
well-formed report). Prints one line: "pass|fail<TAB>GOT<TAB>reasons" and
exits 0.
GOT is the verdict cause, or a short word when there is no usable report.
"""
import json
import sys

MAX_REPORT = 8 * 1024 * 1024     # bytes of a report we are willing to parse


def main():
    path, rc, cause, must, must_not, want_exit, want_status, secs, max_secs = sys.argv[1:10]
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
    for key in ("summary", "fix", "evidence"):
        if key not in verdict:
            reasons.append("verdict has no %s" % key)
    print("%s\t%s\t%s" % ("fail" if reasons else "pass", got, "; ".join(reasons)))


if __name__ == "__main__":
    main()
