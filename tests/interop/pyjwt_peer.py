#!/usr/bin/python3
"""pyjwt_peer.py - the PyJWT side of tests/suites/20-interop-pyjwt.sh.

Run with Debian's /usr/bin/python3 (python3-jwt 2.6, python3-cryptography).
Each subcommand does one thing the shell suite needs from PyJWT and exits 0
on success, or prints one line saying what is wrong on stderr and exits 1:

  check-created --alg A --key FILE --sub ID TOKEN
      TOKEN (made by `jwtx token create`) must decode with PyJWT under
      algorithms=[A] and the verification key in FILE, have the header exactly
      {"alg":A,"typ":"JWT"} and the Flask-JWT-Extended default access-token
      claims, in order: fresh, iat, jti, type, sub, nbf, csrf, exp; its payload
      bytes must be what Python's json.dumps writes for those claims.
  encode --alg A --key FILE --sub ID --payload-out FILE
      Prints a token PyJWT signs with the signing key in FILE for such a
      payload, and writes the payload (JSON) to --payload-out.
  compare --expected FILE OUTPUT
      OUTPUT (what `jwtx token verify` printed) must hold the claims in FILE,
      same values, same order.
  forge-hs256 --secret-file FILE --sub ID
      Prints an HS256 token whose HMAC key is the bytes of FILE (a public key
      PEM: the key-confusion attack). PyJWT refuses PEM secrets, so its HMAC
      algorithm is registered here without that check.
  forge-none --sub ID
      Prints an unsigned token (alg "none").

HMAC key files hold the secret as text; the key is those bytes without the
trailing newline, exactly what goes into the conf file's JWT_SECRET_KEY.
"""

import argparse
import base64
import json
import re
import sys
import time
import uuid

import jwt
from jwt.algorithms import HMACAlgorithm

ORDER = ["fresh", "iat", "jti", "type", "sub", "nbf", "csrf", "exp"]
UUID4 = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
ACCESS_EXPIRES = 900


class Fail(Exception):
    pass


def compact(obj, sort_keys=False):
    return json.dumps(obj, separators=(",", ":"), sort_keys=sort_keys).encode()


def b64d(seg):
    if not re.fullmatch(r"[A-Za-z0-9_-]*", seg):
        raise Fail("segment is not base64url: %r" % seg[:40])
    return base64.urlsafe_b64decode(seg + "=" * (-len(seg) % 4))


def read_key(path, alg):
    with open(path, "rb") as f:
        data = f.read()
    if alg.startswith("HS"):
        return data.rstrip(b"\n")
    return data


def payload_for(sub):
    now = int(time.time())
    return {
        "fresh": False,
        "iat": now,
        "jti": str(uuid.uuid4()),
        "type": "access",
        "sub": sub,
        "nbf": now,
        "csrf": str(uuid.uuid4()),
        "exp": now + ACCESS_EXPIRES,
    }


def cmd_check_created(a):
    token = a.token.strip()
    parts = token.split(".")
    if len(parts) != 3:
        raise Fail("token has %d segments, want 3" % len(parts))
    key = read_key(a.key, a.alg)
    try:
        claims = jwt.decode(token, key, algorithms=[a.alg])
    except jwt.PyJWTError as e:
        raise Fail("PyJWT rejects the token: %s: %s" % (type(e).__name__, e))
    raw_header = b64d(parts[0])
    want_header = compact({"alg": a.alg, "typ": "JWT"}, sort_keys=True)
    if raw_header != want_header:
        raise Fail("PyJWT accepts it, but the header is %r, want exactly %r"
                   % (raw_header, want_header))
    if list(claims) != ORDER:
        raise Fail("claims are %s, want %s" % (list(claims), ORDER))
    raw_payload = b64d(parts[1])
    if raw_payload != compact(claims):
        raise Fail("payload bytes %r differ from Python's json.dumps %r"
                   % (raw_payload, compact(claims)))
    now = time.time()
    if claims["fresh"] is not False:
        raise Fail("fresh is %r, want false" % (claims["fresh"],))
    if claims["type"] != "access":
        raise Fail("type is %r, want 'access'" % (claims["type"],))
    if claims["sub"] != a.sub:
        raise Fail("sub is %r, want %r" % (claims["sub"], a.sub))
    for k in ("iat", "nbf", "exp"):
        if type(claims[k]) is not int:
            raise Fail("%s is %r, want an integer" % (k, claims[k]))
    if abs(claims["iat"] - now) > 60:
        raise Fail("iat %d is not now (%d)" % (claims["iat"], now))
    if claims["nbf"] != claims["iat"]:
        raise Fail("nbf %d != iat %d" % (claims["nbf"], claims["iat"]))
    if claims["exp"] != claims["iat"] + ACCESS_EXPIRES:
        raise Fail("exp %d != iat + %d" % (claims["exp"], ACCESS_EXPIRES))
    for k in ("jti", "csrf"):
        if not isinstance(claims[k], str) or not UUID4.match(claims[k]):
            raise Fail("%s is %r, want a lowercase UUID4" % (k, claims[k]))
    if claims["jti"] == claims["csrf"]:
        raise Fail("jti and csrf are the same UUID")
    print(json.dumps(claims))


def cmd_encode(a):
    payload = payload_for(a.sub)
    key = read_key(a.key, a.alg)
    token = jwt.encode(payload, key, algorithm=a.alg)
    with open(a.payload_out, "w") as f:
        json.dump(payload, f)
    print(token)


def find_claims(text, want_keys):
    """The JSON object in text that holds the claims: the whole output, a
    member of it ("claims"/"payload"), or one line of it."""
    candidates = []
    for chunk in [text] + text.splitlines():
        chunk = chunk.strip()
        if not chunk.startswith("{"):
            continue
        try:
            candidates.append(json.loads(chunk))
        except ValueError:
            continue
    for obj in candidates:
        if not isinstance(obj, dict):
            continue
        if set(want_keys) <= set(obj):
            return obj
        for k in ("claims", "payload"):
            if isinstance(obj.get(k), dict) and set(want_keys) <= set(obj[k]):
                return obj[k]
    return None


def cmd_compare(a):
    with open(a.expected) as f:
        want = json.load(f)
    with open(a.output, encoding="utf-8", errors="replace") as f:
        text = f.read()
    got = find_claims(text, list(want))
    if got is None:
        raise Fail("no claims object in the output: %r" % text[:300])
    if got != want:
        raise Fail("claims differ: got %r, want %r" % (got, want))
    order = [k for k in got if k in want]
    if order != list(want):
        raise Fail("claims order %s, want %s" % (order, list(want)))


class PemHMAC(HMACAlgorithm):
    """HMAC that takes any bytes as key, PEM included (the attacker's tool)."""

    def prepare_key(self, key):
        return key


def cmd_forge_hs256(a):
    with open(a.secret_file, "rb") as f:
        secret = f.read()
    jws = jwt.PyJWS(algorithms=[])
    jws.register_algorithm("HS256", PemHMAC(PemHMAC.SHA256))
    print(jws.encode(compact(payload_for(a.sub)), secret, algorithm="HS256"))


def cmd_forge_none(a):
    print(jwt.encode(payload_for(a.sub), None, algorithm="none"))


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("check-created")
    c.add_argument("--alg", required=True)
    c.add_argument("--key", required=True)
    c.add_argument("--sub", required=True)
    c.add_argument("token")
    c.set_defaults(fn=cmd_check_created)
    e = sub.add_parser("encode")
    e.add_argument("--alg", required=True)
    e.add_argument("--key", required=True)
    e.add_argument("--sub", required=True)
    e.add_argument("--payload-out", required=True)
    e.set_defaults(fn=cmd_encode)
    m = sub.add_parser("compare")
    m.add_argument("--expected", required=True)
    m.add_argument("output")
    m.set_defaults(fn=cmd_compare)
    h = sub.add_parser("forge-hs256")
    h.add_argument("--secret-file", required=True)
    h.add_argument("--sub", required=True)
    h.set_defaults(fn=cmd_forge_hs256)
    n = sub.add_parser("forge-none")
    n.add_argument("--sub", required=True)
    n.set_defaults(fn=cmd_forge_none)
    a = p.parse_args()
    try:
        a.fn(a)
    except Fail as e:
        print("pyjwt_peer: %s" % e, file=sys.stderr)
        return 1
    except (OSError, ValueError, TypeError, jwt.PyJWTError) as e:
        print("pyjwt_peer: %s: %s" % (type(e).__name__, e), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
