#!/usr/bin/python3
# The progress line on stderr, seen through a pseudo-terminal as a user
# sees it: a server that accepts and never speaks keeps smtpdoctor waiting
# for its greeting.  Prints one "ok - NAME" / "not ok - NAME" line per
# check (tests/cli/run numbers and counts them).
import os, pty, re, select, socket, subprocess, sys, threading

sd = sys.argv[1]
listener = socket.socket()
listener.bind(("127.0.0.1", 0))
listener.listen(64)
port = listener.getsockname()[1]
held = []


def accept():
    while True:
        try:
            held.append(listener.accept()[0])
        except OSError:
            return


threading.Thread(target=accept, daemon=True).start()
base = ["check", "--server", "127.0.0.1", "--port", str(port),
        "--no-control", "--timeout", "2", "--connect-timeout", "1"]


def run(args, stderr_tty=True, stdout_tty=True):
    """Runs smtpdoctor; returns (what the terminal showed, stderr of a pipe)."""
    master, slave = pty.openpty()
    p = subprocess.Popen([sd] + args, stdin=subprocess.DEVNULL,
                         stdout=slave if stdout_tty else subprocess.PIPE,
                         stderr=slave if stderr_tty else subprocess.PIPE)
    os.close(slave)
    seen = b""
    while True:
        ready, _, _ = select.select([master], [], [], 0.2)
        if ready:
            try:
                chunk = os.read(master, 65536)
            except OSError:
                break
            if not chunk:
                break
            seen += chunk
        elif p.poll() is not None:
            break
    out, err = p.communicate()
    os.close(master)
    return seen.decode("utf-8", "replace"), (err or b"").decode("utf-8", "replace"), (out or b"").decode("utf-8", "replace")


# The progress line's own shape: a report may say "waiting for the
# greeting" in a finding when the run's deadline came first (a loaded
# machine), which is not a progress line.
progress_line = re.compile(r"waiting for 127\.0\.0\.1:%d \(" % port)


def check(name, cond, why=""):
    print(("ok - " if cond else "not ok - ") + name)
    if not cond and why:
        for line in why.splitlines()[-6:]:
            print("# " + line)


seen, _, _ = run(base + ["--no-color"])
waiting = re.search(r"waiting for 127\.0\.0\.1:%d \(greeting, \d+\.\d s of [\d.]+\)" % port, seen)
check("a terminal shows what is being waited for", waiting is not None, seen[:300])
m = re.search(r"smtpdoctor [0-9.]+, check, ", seen)
verdict = m.start() if m else -1
last_wait = seen.rfind("waiting for")
check("the line is cleared before the report",
      verdict > 0 and last_wait < verdict and "\r\x1b[K" in seen[last_wait:verdict], seen[-400:])
check("the line is redrawn in place, never scrolled",
      "\nwaiting for" not in seen and seen.count("waiting for") >= 2)

seen, err, out = run(base, stderr_tty=False, stdout_tty=True)
check("no progress when stderr is a pipe",
      not progress_line.search(err) and not progress_line.search(seen), err[:300])
seen, _, _ = run(base + ["-q"])
check("no progress with -q", not progress_line.search(seen), seen[:300])
seen, _, _ = run(base + ["--json"])
check("no progress with --json", not progress_line.search(seen), seen[:300])

seen, err, out = run(base + ["-v"], stderr_tty=False, stdout_tty=False)
check("-v prints each stage as it ends",
      re.search(r"^  ok 127\.0\.0\.1 port %d \([a-z ]+\): connected" % port, err, re.M) is not None
      and err.find("connected") < len(err), err[:400])
