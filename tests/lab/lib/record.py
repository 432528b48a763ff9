#!/usr/bin/python3
"""Keep the facts of one passing lab run for the unit tests.

Usage: record.py REPORT_JSON OUT_JSON SCENARIO EXIT_STATUS

Writes what the rules read (command, config, facts without their
"detail" words for people) and what the run concluded (its verdict and exit
status) to OUT_JSON, one fact a line.
tests/unit/core/test_check_recorded.c replays every file there through the
rules and asserts the same verdict: the rules are tested on the facts the
probes really write.  Run by `tests/lab/run --record`.
"""
import json
import sys


def main():
    src, out, scenario, rc = sys.argv[1:5]
    with open(src, encoding="utf-8") as f:
        report = json.load(f)
    kept = {
        "scenario": scenario,
        "command": report["command"],
        "expect": {"cause": report["verdict"]["cause"],
                   "status": report["verdict"]["status"],
                   "exit": int(rc)},
        "config": report.get("config"),
        "facts": [{k: v for k, v in fact.items() if k != "detail"}
                  for fact in report["facts"]],
    }
    write(out, kept)


def write(out, kept):
    """One member a line, one fact a line: small, and diffs read well."""
    dump = lambda v: json.dumps(v, sort_keys=True, ensure_ascii=False)
    lines = ['{']
    for key in ("scenario", "command", "expect", "config"):
        lines.append(' %s: %s,' % (dump(key), dump(kept[key])))
    lines.append(' "facts": [')
    lines.append(',\n'.join('  ' + dump(f) for f in kept["facts"]))
    lines.append(' ]')
    lines.append('}')
    with open(out, "w", encoding="utf-8") as f:
        f.write('\n'.join(lines) + '\n')


if __name__ == "__main__":
    main()
