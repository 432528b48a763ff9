"""Serve the zone data of the SPF test suites from a real nsd on loopback.

Shared by tests/spf/run-real-dns and bench/spf/run.  Conventions of the
suites' drivers (and of tests/unit/mailauth/test_spf_zone.c):

* "SPF" records are also served as TXT unless the name lists TXT records
  of its own ("TXT: NONE" means "no TXT records").
* "TIMEOUT": a name whose TXT records come before it is served with the
  records before it; any other name holding TIMEOUT becomes a zone that nsd
  is told to serve but cannot load, so every query under it gets SERVFAIL,
  which a resolver reports as a failed lookup (temperror).  Names below
  such a name get zones of their own so that they are still answered.

Everything here talks to 127.0.0.1 only.
"""

import os
import signal
import socket
import struct
import subprocess
import tempfile
import time

import yaml


def load_suite(path):
    """The scenarios of a suite file: [{description, tests, zonedata}]."""
    with open(path, 'rb') as f:
        return [d for d in yaml.safe_load_all(f) if d]


def _norm(name):
    return name.rstrip('.')


def _label_text(label):
    out = []
    for ch in label.encode('utf-8'):
        c = chr(ch)
        if c.isascii() and (c.isalnum() or c in '-_/:%'):
            out.append(c)
        else:
            out.append('\\%03d' % ch)
    return ''.join(out)


def name_text(name):
    """A domain name in zone-file syntax, absolute."""
    name = _norm(name)
    if not name:
        return '.'
    return '.'.join(_label_text(l) for l in name.split('.')) + '.'


def _txt_strings(value):
    """TXT rdata in zone-file syntax from a string or a list of strings."""
    parts = value if isinstance(value, list) else [value]
    if not parts:
        parts = ['']   # a TXT record needs one string; "" is not SPF either
    out = []
    for p in parts:
        data = p.encode('utf-8') if isinstance(p, str) else bytes(p)
        chunks = [data[i:i + 255] for i in range(0, len(data), 255)] or [b'']
        for c in chunks:
            s = []
            for b in c:
                if 0x20 <= b < 0x7f and chr(b) not in '"\\':
                    s.append(chr(b))
                else:
                    s.append('\\%03d' % b)
            out.append('"' + ''.join(s) + '"')
    return ' '.join(out)


def _owner_records(items):
    """(records, broken): records as (type, rdata text) before any TIMEOUT."""
    items = items or []
    has_txt = any(isinstance(m, dict) and 'TXT' in m for m in items)
    records, generated, txt_before = [], [], False
    broken = False
    for m in items:
        if m == 'TIMEOUT':
            broken = not txt_before
            break
        if not isinstance(m, dict):
            continue
        for t, v in m.items():
            if v == 'NONE':
                continue
            if t in ('TXT', 'SPF'):
                records.append((t, _txt_strings(v)))
                if t == 'TXT':
                    txt_before = True
                elif not has_txt:
                    generated.append(('TXT', _txt_strings(v)))
            elif t == 'MX':
                pref, host = v
                records.append(('MX', '%d %s' % (int(pref), name_text(host))))
            elif t in ('PTR', 'CNAME'):
                records.append((t, name_text(v)))
            elif t in ('A', 'AAAA'):
                records.append((t, str(v)))
            else:
                raise ValueError('unknown record type %s' % t)
    if not broken:
        records.extend(generated)
    return records, broken


def _under(name, apex):
    n, a = name.lower(), apex.lower()
    return n == a or n.endswith('.' + a)


def build_zones(zonedata):
    """{apex: [zone-file lines]} and the set of apexes nsd must fail on."""
    owners = {}
    for owner, items in (zonedata or {}).items():
        owners[_norm(owner)] = _owner_records(items)
    broken = {o for o, (_, b) in owners.items() if b}
    zones = {'': []}
    for owner, (records, b) in owners.items():
        if b:
            continue
        apex = ''
        if any(_under(owner, x) for x in broken):
            if any(t == 'CNAME' for t, _ in records):
                raise ValueError('CNAME %s below a failing name' % owner)
            apex = owner   # a zone of its own, answered despite its parent
            zones.setdefault(apex, [])
        for t, rdata in records:
            zones[apex].append('%s 60 IN %s %s' % (name_text(owner), t, rdata))
    return zones, broken


def free_port():
    """A port free on 127.0.0.1 for both UDP and TCP (best effort)."""
    for _ in range(50):
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        u.bind(('127.0.0.1', 0))
        port = u.getsockname()[1]
        t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            t.bind(('127.0.0.1', port))
            return port
        except OSError:
            continue
        finally:
            t.close()
            u.close()
    raise RuntimeError('no free port on 127.0.0.1')


def _probe(port, timeout=0.3):
    """True when something answers a DNS query for ". SOA" on the port."""
    q = struct.pack('>HHHHHH', 0x5344, 0, 1, 0, 0, 0) + b'\x00' + \
        struct.pack('>HH', 6, 1)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(timeout)
    try:
        s.sendto(q, ('127.0.0.1', port))
        data, _ = s.recvfrom(512)
        return data[:2] == q[:2]
    except OSError:
        return False
    finally:
        s.close()


class Nsd:
    """One nsd serving a scenario's zones on 127.0.0.1:port."""

    SOA = '@ 60 IN SOA ns.nsd.invalid. hostmaster.nsd.invalid. 1 3600 600 86400 60'
    NS = '@ 60 IN NS ns.nsd.invalid.'

    def __init__(self, zonedata, workdir=None):
        self.zones, self.broken = build_zones(zonedata)
        self.tmp = None
        if workdir is None:
            self.tmp = tempfile.TemporaryDirectory(prefix='spf-nsd-')
            workdir = self.tmp.name
        self.dir = workdir
        self.port = None
        self.proc = None

    def _write(self):
        conf = [
            'server:',
            '  ip-address: 127.0.0.1@%d' % self.port,
            '  username: ""',
            '  chroot: ""',
            '  zonesdir: "%s"' % self.dir,
            '  database: ""',
            '  pidfile: "%s/nsd.pid"' % self.dir,
            '  xfrdfile: "%s/xfrd.state"' % self.dir,
            '  zonelistfile: "%s/zone.list"' % self.dir,
            '  logfile: "%s/nsd.log"' % self.dir,
            '  server-count: 1',
            '  verbosity: 0',
            '  hide-version: yes',
            # No response rate limiting (nsd's default is 200 answers a
            # second to one address): the suite and the benchmark ask
            # faster, and a dropped answer costs a retransmission's wait.
            '  rrl-ratelimit: 0',
            'remote-control:',
            '  control-enable: no',
        ]
        for i, (apex, lines) in enumerate(sorted(self.zones.items())):
            fname = 'z%d.zone' % i
            with open(os.path.join(self.dir, fname), 'w') as f:
                f.write('$ORIGIN %s\n' % name_text(apex))
                f.write(self.SOA + '\n' + self.NS + '\n')
                for line in lines:
                    f.write(line + '\n')
            conf += ['zone:', '  name: "%s"' % name_text(apex),
                     '  zonefile: "%s"' % fname]
        for i, apex in enumerate(sorted(self.broken)):
            # configured, never loadable: nsd answers SERVFAIL below it
            conf += ['zone:', '  name: "%s"' % name_text(apex),
                     '  zonefile: "missing-%d.zone"' % i]
        with open(os.path.join(self.dir, 'nsd.conf'), 'w') as f:
            f.write('\n'.join(conf) + '\n')

    def start(self, tries=3, port=None):
        """Starts nsd; on `port` if given (bench: 53 in its own netns)."""
        for _ in range(tries):
            self.port = port or free_port()
            self._write()
            self.proc = subprocess.Popen(
                ['nsd', '-d', '-c', os.path.join(self.dir, 'nsd.conf')],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                start_new_session=True)
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:
                if self.proc.poll() is not None:
                    break
                if _probe(self.port):
                    return self.port
                time.sleep(0.05)
            self.stop()
        raise RuntimeError('nsd did not start; see %s/nsd.log' % self.dir)

    def stop(self):
        if self.proc and self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self.proc = None

    def close(self):
        self.stop()
        if self.tmp:
            self.tmp.cleanup()
            self.tmp = None

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.close()


def accepted(test):
    r = test.get('result')
    return r if isinstance(r, list) else [r]


def install_signal_handlers():
    """SIGTERM/SIGHUP raise SystemExit so that `with Nsd(...)` cleans up."""
    def handler(signum, frame):
        raise SystemExit(128 + signum)
    for s in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(s, handler)
