#!/usr/bin/python3
"""Run a command and measure it, for the hostile-peer assertions.

Usage: measure.py STDOUT STDERR -- COMMAND...
Runs COMMAND with stdin from /dev/null and its output in the two files,
waits for it with wait4() and prints one line "EXIT MAXRSS_KIB SECONDS":
EXIT is the exit status, or -N when signal N ended it; MAXRSS_KIB is the
largest resident set of the command and of every descendant it waited for
(the kernel's ru_maxrss, so `timeout` and `ip netns exec` around the
program under test are counted with it); SECONDS is the wall time.
"""
import os
import sys
import time


def main():
    if len(sys.argv) < 5 or sys.argv[3] != "--":
        sys.stderr.write(__doc__)
        sys.exit(2)
    out, err, argv = sys.argv[1], sys.argv[2], sys.argv[4:]
    t0 = time.monotonic()
    pid = os.fork()
    if pid == 0:
        try:
            fd = os.open("/dev/null", os.O_RDONLY)
            os.dup2(fd, 0)
            os.dup2(os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644), 1)
            os.dup2(os.open(err, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644), 2)
            os.execvp(argv[0], argv)
        finally:
            os._exit(127)
    _, status, ru = os.wait4(pid, 0)
    secs = time.monotonic() - t0
    code = -os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status)
    print("%d %d %.2f" % (code, ru.ru_maxrss, secs))


if __name__ == "__main__":
    main()
