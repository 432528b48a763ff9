#!/usr/bin/python3
"""Scrapes `smtpdoctor exporter` 50 at a time and measures it.

Run inside the lab's client namespace by bench/exporter/run: starts the
exporter (argv after --), then for each state of the table below sends
ROUNDS bursts of 50 concurrent scrapes (each with Prometheus' timeout
header), and prints a Markdown table: per-scrape latency (median, 95th
percentile, max), how far the slowest answer came past the scrape's
deadline (the timeout header minus 0.5 s), the burst's wall time, answers
by status and verdict ("timed out": answered at the deadline before the
probe's end), probes run and shared (from the exporter's own /metrics),
and the exporter's resident memory (sampled every 20 ms during the
bursts, and its peak VmHWM).
"""
import json
import os
import statistics
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request

PORT = 9126
BASE = "http://127.0.0.1:%d" % PORT
BURST = 50
ROUNDS = int(sys.argv[1])
SCRAPE_TIMEOUT = sys.argv[2]
STATES = json.loads(sys.argv[3])   # [[name, [paths...]], ...]
EXPORTER = sys.argv[sys.argv.index("--") + 1:]


def rss_kib(pid, field="VmRSS"):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def scrape(path, out, i):
    t0 = time.monotonic()
    req = urllib.request.Request(BASE + path, headers={
        "X-Prometheus-Scrape-Timeout-Seconds": SCRAPE_TIMEOUT})
    try:
        with urllib.request.urlopen(req, timeout=60) as r:
            body = r.read().decode()
            status = r.status
        for line in body.splitlines():
            if line.startswith("smtpdoctor_verdict{"):
                status = "200 " + line.split('cause="')[1].split('"')[0]
            elif line == "smtpdoctor_probe_timed_out 1":
                status = "200 timed out"
    except urllib.error.HTTPError as e:
        status = e.code
    except Exception:
        status = 0
    out[i] = (time.monotonic() - t0, status)


def own_metrics():
    with urllib.request.urlopen(BASE + "/metrics", timeout=10) as r:
        text = r.read().decode()
    vals = {}
    for line in text.splitlines():
        if line and not line.startswith("#") and "{" not in line:
            name, value = line.split(" ", 1)
            vals[name] = float(value)
    return vals


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100.0 * (len(xs) - 1))))]


def main():
    ex = subprocess.Popen(EXPORTER + ["--listen", "127.0.0.1:%d" % PORT],
                          stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                          stderr=open("/tmp/sd-exporter-bench.err", "w"))
    if os.environ.get("SD_BENCH_CGROUP"):
        # bench/exporter/run moves the exporter (alone, not this load)
        # into its cgroup from outside the namespace: give it the time
        time.sleep(1)
    for _ in range(100):
        try:
            own_metrics()
            break
        except Exception:
            time.sleep(0.1)
    base_rss = rss_kib(ex.pid)
    deadline = float(SCRAPE_TIMEOUT) - 0.5
    print("| state | scrapes | latency median / p95 / max (s) | slowest past the %.1f s deadline (s) | burst wall (s) "
          "| answers (status, verdict) | probes run | shared | RSS during bursts: median / max (MiB) |" % deadline)
    print("|---|---:|---|---:|---|---|---:|---:|---|")
    for name, paths in STATES:
        lat, statuses, walls, samples = [], {}, [], []
        m0 = own_metrics()
        for _ in range(ROUNDS):
            out = [None] * BURST
            stop = threading.Event()

            def sample():
                while not stop.is_set():
                    samples.append(rss_kib(ex.pid))
                    time.sleep(0.02)
            smp = threading.Thread(target=sample)
            smp.start()
            threads = [threading.Thread(target=scrape, args=(
                paths[i % len(paths)], out, i)) for i in range(BURST)]
            t0 = time.monotonic()
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            walls.append(time.monotonic() - t0)
            stop.set()
            smp.join()
            for d, s in out:
                lat.append(d)
                statuses[s] = statuses.get(s, 0) + 1
        m1 = own_metrics()
        probes = m1["smtpdoctor_exporter_probes_total"] - \
            m0["smtpdoctor_exporter_probes_total"]
        shared = m1["smtpdoctor_exporter_probes_shared_total"] - \
            m0["smtpdoctor_exporter_probes_shared_total"]
        answers = ", ".join("%d x %s" % (n, s) for s, n in
                            sorted(statuses.items(), key=lambda x: str(x[0])))
        print("| %s | %d | %.2f / %.2f / %.2f | %+.2f | %.2f (max %.2f) | %s | %d | %d | %.1f / %.1f |" % (
            name, len(lat), statistics.median(lat), pct(lat, 95), max(lat),
            max(lat) - deadline,
            statistics.median(walls), max(walls), answers, probes, shared,
            statistics.median(samples) / 1024, max(samples) / 1024))
        sys.stdout.flush()
    hwm = rss_kib(ex.pid, "VmHWM")
    print()
    print("Exporter RSS before the first burst: %.1f MiB; peak over the run "
          "(VmHWM): %.1f MiB." % (base_rss / 1024, hwm / 1024))
    ex.terminate()
    try:
        ex.wait(timeout=30)
    except subprocess.TimeoutExpired:
        ex.kill()


main()
