#!/usr/bin/python3
"""Regenerates the DKIM fixtures in this folder with python3-dkim (dkimpy).

These signatures come from an implementation other than smtpdoctor's, so
that test_dkim.c cross-checks our verifier against an independent signer.
Run it from anywhere with the Debian interpreter (python3-dkim and
python3-nacl are Debian packages):

    /usr/bin/python3 tests/data/dkim/generated/make-fixtures.py

The clock is pinned (SIGN_TIME) so that the output is reproducible: RSA
PKCS#1 v1.5 and Ed25519 signatures are deterministic.  The keys and base
messages are the dkimpy test data one folder up (see ../COPYRIGHT.debian).
What each fixture is expected to give is written in ../vectors.txt, not
here: the manifest is the single place the tests read expectations from.
"""
import os
import sys
import time

import dkim

SIGN_TIME = 1700000000  # 2023-11-14T22:13:20Z, fixed for reproducibility
HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.dirname(HERE)

dkim.time.time = lambda: SIGN_TIME  # dkimpy reads time.time() for t=


def data(name):
    with open(os.path.join(DATA, name), 'rb') as f:
        return f.read()


def write(name, content):
    with open(os.path.join(HERE, name), 'wb') as f:
        f.write(content)


CANONS = {'ss': (b'simple', b'simple'), 'sr': (b'simple', b'relaxed'),
          'rs': (b'relaxed', b'simple'), 'rr': (b'relaxed', b'relaxed')}


class ExtraTags(dkim.DKIM):
    """dkim.DKIM that adds tags (x=) before b= while signing."""

    extra = []

    def gen_header(self, fields, include_headers, canon_policy,
                   header_name, pk, standardize=False):
        at = [i for i, f in enumerate(fields) if f[0] == b'b'][0]
        fields[at:at] = self.extra
        return super().gen_header(fields, include_headers, canon_policy,
                                  header_name, pk, standardize)


def main():
    msg = data('test.message')
    key = data('test.private')
    for tag, canon in CANONS.items():
        # test.message, RSA 1024 (test.private / test.txt), four c= modes
        write('rsa-%s.eml' % tag, dkim.sign(
            msg, b'test', b'example.com', key, canonicalize=canon) + msg)
        # the same with LF line endings throughout
        lf = msg.replace(b'\r\n', b'\n')
        write('rsa-lf-%s.eml' % tag, dkim.sign(
            lf, b'test', b'example.com', key, canonicalize=canon,
            linesep=b'\n') + lf)
        # RFC 8463: ed25519 over ed25519test.msg (key: ed25519test.key)
        emsg = data('ed25519test.msg')
        write('ed25519-%s.eml' % tag, dkim.sign(
            emsg, b'test', b'example.net', data('ed25519test.key'),
            canonicalize=canon, signature_algorithm=b'ed25519-sha256')
            + emsg)
        # RFC 8032 7.1 key (brisbane) over the RFC 6376 sample message
        rmsg = data('rfc6376.msg')
        write('rfc8032-%s.eml' % tag, dkim.sign(
            rmsg, b'brisbane', b'football.example.com',
            data('rfc8032_7_1.key'), canonicalize=canon,
            signature_algorithm=b'ed25519-sha256') + rmsg)
        # message.mbox with every header signed, repeated Received included
        mbox = data('message.mbox')
        d = dkim.DKIM(mbox)
        d.should_not_sign.remove(b'received')
        write('mbox-all-%s.eml' % tag, d.sign(
            b'test', b'example.com', key,
            include_headers=d.all_sign_headers(), canonicalize=canon) + mbox)
        # Windows-1258 bytes in the header: signed as raw octets
        wmsg = data('rfc6376.w1258.msg')
        write('w1258-%s.eml' % tag, dkim.sign(
            wmsg, b'test', b'football.example.com', key,
            canonicalize=canon) + wmsg)

    # RSA key variants (dkimpy test_dkim_rsavariants): SubjectPublicKeyInfo
    # and bare RSAPublicKey records, 1024 and 2048 bits, a PKCS#8 key
    for sel, keyfile in ((b'test', '1024_testkey.key'),
                         (b'test2', '1024_testkey.key'),
                         (b'test3', '2048_testkey.key'),
                         (b'test4', '2048_testkey.key'),
                         (b'test5', '2048_testkey_PKCS8.key')):
        write('variant-%s.eml' % sel.decode(), dkim.sign(
            msg, sel, b'example.com', data(keyfile),
            canonicalize=(b'relaxed', b'relaxed')) + msg)

    # a 512-bit RSA key (rsa512.key, made once with openssl genpkey):
    # cryptographically fine, too short for any receiver (RFC 8301)
    write('short512.eml', dkim.sign(msg, b'short', b'example.com',
                                    data('generated/rsa512.key')) + msg)
    # l= body length, then text appended after signing
    write('length.eml', dkim.sign(msg, b'test', b'example.com', key,
                                  length=True) + msg + b'added more text\n')
    # rsa-sha1: cryptographically valid, refused under RFC 8301
    write('sha1.eml', dkim.sign(msg, b'test', b'example.com', key,
                                signature_algorithm=b'rsa-sha1') + msg)
    # i= in a subdomain of d=
    write('identity-sub.eml', dkim.sign(
        msg, b'test', b'example.com', key,
        identity=b'user@mail.example.com') + msg)
    # x=: expires an hour after signing
    d = ExtraTags(msg)
    d.extra = [(b'x', str(SIGN_TIME + 3600).encode())]
    write('expiry.eml', d.sign(b'test', b'example.com', key) + msg)
    # over-signed: Reply-To is absent but listed, so adding one breaks it
    write('oversigned.eml', dkim.sign(
        msg, b'test', b'example.com', key,
        include_headers=[b'from', b'to', b'subject', b'reply-to', b'from'],
        canonicalize=(b'relaxed', b'relaxed')) + msg)
    # h= without From: dkimpy's sign() refuses, so build the header the
    # way sign() does and skip only that check
    d = dkim.DKIM(msg)
    d.hasher = dkim.HASH_ALGORITHMS[b'rsa-sha256']
    policy = dkim.CanonicalizationPolicy.from_c_value(b'relaxed/relaxed')
    h = d.hasher()
    h.update(policy.canonicalize_body(d.body))
    import base64
    fields = [(b'v', b'1'), (b'a', b'rsa-sha256'), (b'c', b'relaxed/relaxed'),
              (b'd', b'example.com'), (b's', b'test'),
              (b't', str(SIGN_TIME).encode()), (b'h', b'to : subject'),
              (b'bh', base64.b64encode(h.digest())), (b'b', b'0' * 60)]
    pk = dkim.parse_pem_private_key(key)
    write('nofrom-h.eml', b'DKIM-Signature: ' + d.gen_header(
        fields, (b'to', b'subject'), policy, b'DKIM-Signature', pk) + msg)
    return 0


if __name__ == '__main__':
    sys.exit(main())
