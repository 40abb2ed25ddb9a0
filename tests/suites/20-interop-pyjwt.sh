#!/bin/sh
# 20-interop-pyjwt.sh — jwtx and PyJWT read each other's tokens.
#
# Run from the repository root (tests/run-all.sh does) after `make`. Uses
# Debian's /usr/bin/python3 with python3-jwt (PyJWT 2.6) and
# python3-cryptography; tests/interop/pyjwt_peer.py is the PyJWT side.
# For every algorithm: keys (or the HMAC secret) from `tools/jwtx keygen`, a
# conf file naming the key files, then
#   (a) `jwtx token create` -> PyJWT jwt.decode(algorithms=[alg]) accepts it;
#       header exactly {"alg":..,"typ":"JWT"}, Flask-JWT-Extended claims in order
#   (b) PyJWT jwt.encode -> `jwtx token verify` exits 0 and prints the claims
#   (c) PyJWT token signed with another key -> verify exits 1,
#       "Signature verification failed"
# and once per run, against an RS256 conf:
#   (d) HS256 signed with the public key PEM as HMAC secret (key confusion),
#       and alg "none" -> exit 1, "The specified alg value is not allowed".
# Every check prints "ok - ..." or "FAIL - ..."; the last line is
# "N passed, N failed"; the exit status is non-zero on any failure.
set -u

PY=/usr/bin/python3
PEER=tests/interop/pyjwt_peer.py
JWTX=tools/jwtx
SUB_A="rené-a"      # non-ASCII: the payload must carry \u00e9 as Python writes it
SUB_B="interop-b ☃"

pass=0
fail=0
ok() { pass=$((pass + 1)); echo "ok - $*"; }
bad() { fail=$((fail + 1)); echo "FAIL - $*"; }
show() { sed 's/^/    /' "$1" | head -n 20; }

finish() {
    echo "$pass passed, $fail failed"
    [ "$fail" -eq 0 ] && [ "$pass" -gt 0 ]
    exit $?
}

for f in "$PY" "$PEER" "$JWTX"; do
    if [ ! -e "$f" ]; then
        bad "setup: $f is missing (run make first)"
        finish
    fi
done
if ! "$PY" -c 'import jwt, cryptography' 2>/dev/null; then
    bad "setup: $PY cannot import jwt and cryptography (python3-jwt, python3-cryptography)"
    finish
fi

T=$(mktemp -d "${TMPDIR:-/tmp}/jwtx-pyjwt.XXXXXX") || { bad "setup: mktemp -d"; finish; }
trap 'rm -rf "$T"' EXIT
trap 'exit 130' INT TERM HUP

# find_pem DIR KIND: the one .pem file in DIR whose first line says KIND
# ("PRIVATE KEY" or "PUBLIC KEY").
find_pem() {
    for p in "$1"/*.pem "$1"/*.key "$1"/*.pub; do
        [ -f "$p" ] || continue
        if head -n 1 "$p" | grep -q -- "-----BEGIN .*$2-----"; then
            echo "$p"
            return 0
        fi
    done
    return 1
}

# key_type FILE: openssl's name of the key in a public PEM file.
key_type() {
    openssl pkey -pubin -in "$1" -noout -text 2>/dev/null | head -n 1
}

# make_keys ALG CURVE DIR: `jwtx keygen ALG [--curve CURVE] --out DIR`; sets
# PRIV and PUB to the signing and verification key files (both the secret
# file for HS*).
make_keys() {
    if ! "$JWTX" keygen "$1" ${2:+--curve "$2"} --out "$3" >"$T/keygen.out" 2>&1; then
        echo "    jwtx keygen $1 ${2:+--curve $2 }failed:"
        show "$T/keygen.out"
        return 1
    fi
    case $1 in
    HS*)
        PRIV=$3/secret.key
        PUB=$PRIV
        [ -s "$PRIV" ] && return 0
        echo "    jwtx keygen $1 wrote no $PRIV"
        return 1
        ;;
    esac
    PRIV=$(find_pem "$3" "PRIVATE KEY") && PUB=$(find_pem "$3" "PUBLIC KEY") || {
        echo "    jwtx keygen $1 wrote no private/public PEM pair into $3:"
        ls -l "$3" | sed 's/^/    /'
        return 1
    }
}

# write_conf FILE ALG PRIV PUB
write_conf() {
    case $2 in
    HS*)
        printf 'JWT_ALGORITHM = "%s"\nJWTX_SECRET_KEY_FILE = "%s"\n' "$2" "$3" >"$1"
        ;;
    *)
        printf 'JWT_ALGORITHM = "%s"\nJWTX_PRIVATE_KEY_FILE = "%s"\nJWTX_PUBLIC_KEY_FILE = "%s"\n' \
            "$2" "$3" "$4" >"$1"
        ;;
    esac
}

# expect_reject NAME CONF TOKEN MESSAGE: verify must exit 1 and say MESSAGE.
expect_reject() {
    "$JWTX" token verify --conf "$2" "$3" >"$T/rej.out" 2>&1
    rc=$?
    if [ "$rc" -eq 1 ] && grep -qF -- "$4" "$T/rej.out"; then
        ok "$1"
    else
        bad "$1: jwtx token verify exited $rc, want 1 with \"$4\""
        show "$T/rej.out"
    fi
}

# Ed448 is supported by PyJWT 2.6 (OKPAlgorithm takes Ed448 keys).
CASES="HS256 HS384 HS512 RS256 RS384 RS512 PS256 PS384 PS512 ES256 ES384 ES512 EdDSA:Ed25519 EdDSA:Ed448"

for c in $CASES; do
    alg=${c%%:*}
    curve=${c#*:}
    [ "$curve" = "$c" ] && curve=""
    label=$alg${curve:+ ($curve)}
    d=$T/$alg$curve

    # The second ("wrong") key: RSA keys are slow to make, so the RS and PS
    # cases share one.
    case $alg in RS* | PS*) k2=$T/rsa-k2 ;; *) k2=$d/k2 ;; esac
    if ! make_keys "$alg" "$curve" "$d/k1"; then
        bad "$label: keys"
        continue
    fi
    K1PRIV=$PRIV
    K1PUB=$PUB
    if [ -d "$k2" ]; then
        K2PRIV=$(find_pem "$k2" "PRIVATE KEY")
    elif make_keys "$alg" "$curve" "$k2"; then
        K2PRIV=$PRIV
    else
        bad "$label: second key"
        continue
    fi
    if [ -n "$curve" ]; then
        kt=$(key_type "$K1PUB")
        case $(echo "$kt" | tr '[:lower:]' '[:upper:]') in
        *"$(echo "$curve" | tr '[:lower:]' '[:upper:]')"*) ;;
        *)
            bad "$label: jwtx keygen EdDSA --curve $curve made a \"$kt\" key"
            continue
            ;;
        esac
    fi
    conf=$d/jwtx.conf
    write_conf "$conf" "$alg" "$K1PRIV" "$K1PUB"

    # (a) jwtx creates, PyJWT verifies.
    if "$JWTX" token create --conf "$conf" --identity "$SUB_A" >"$d/a.tok" 2>"$d/a.err"; then
        tok=$(tr -d '\r\n' <"$d/a.tok")
        if "$PY" "$PEER" check-created --alg "$alg" --key "$K1PUB" --sub "$SUB_A" "$tok" \
            >"$d/a.out" 2>&1; then
            ok "$label: jwtx token create -> PyJWT jwt.decode, header and claims layout"
        else
            bad "$label: jwtx token create -> PyJWT jwt.decode"
            show "$d/a.out"
        fi
    else
        bad "$label: jwtx token create failed"
        show "$d/a.err"
    fi

    # (b) PyJWT creates, jwtx verifies and prints the same claims.
    if tok=$("$PY" "$PEER" encode --alg "$alg" --key "$K1PRIV" --sub "$SUB_B" \
        --payload-out "$d/b.json" 2>"$d/b.err"); then
        "$JWTX" token verify --conf "$conf" "$tok" >"$d/b.out" 2>"$d/b.verr"
        rc=$?
        if [ "$rc" -ne 0 ]; then
            bad "$label: PyJWT jwt.encode -> jwtx token verify exited $rc"
            show "$d/b.verr"
        elif "$PY" "$PEER" compare --expected "$d/b.json" "$d/b.out" >"$d/b.cmp" 2>&1; then
            ok "$label: PyJWT jwt.encode -> jwtx token verify, same claims"
        else
            bad "$label: PyJWT jwt.encode -> jwtx token verify printed other claims"
            show "$d/b.cmp"
        fi
    else
        bad "$label: PyJWT jwt.encode failed"
        show "$d/b.err"
    fi

    # (c) signed by PyJWT with another key: rejected.
    if tok=$("$PY" "$PEER" encode --alg "$alg" --key "$K2PRIV" --sub "$SUB_B" \
        --payload-out "$d/c.json" 2>"$d/c.err"); then
        expect_reject "$label: PyJWT token signed with another key -> Signature verification failed" \
            "$conf" "$tok" "Signature verification failed"
    else
        bad "$label: PyJWT jwt.encode with the second key failed"
        show "$d/c.err"
    fi
done

# (d) attacks against an RS256 gateway.
d=$T/attack
if make_keys RS256 "" "$d"; then
    write_conf "$d/jwtx.conf" RS256 "$PRIV" "$PUB"
    if tok=$("$PY" "$PEER" forge-hs256 --secret-file "$PUB" --sub attacker 2>"$d/f.err"); then
        expect_reject "RS256 conf: HS256 token keyed with the public key PEM (key confusion) -> not allowed" \
            "$d/jwtx.conf" "$tok" "The specified alg value is not allowed"
    else
        bad "key confusion: PyJWT could not forge the token"
        show "$d/f.err"
    fi
    if tok=$("$PY" "$PEER" forge-none --sub attacker 2>"$d/n.err"); then
        expect_reject "RS256 conf: alg none token -> not allowed" \
            "$d/jwtx.conf" "$tok" "The specified alg value is not allowed"
    else
        bad "alg none: PyJWT could not make the token"
        show "$d/n.err"
    fi
else
    bad "attack checks: RS256 keys"
fi

# (e) NumericDate claims: PyJWT reads exp through int(), so it accepts the
# string "9999999999"; jwtx refuses it (a deliberate difference, RFC 7519
# NumericDate), and both accept the number.
d=$T/numdate
if make_keys HS256 "" "$d"; then
    write_conf "$d/jwtx.conf" HS256 "$PRIV" "$PUB"
    for exp in '"9999999999"' 9999999999; do
        if tok=$("$PY" - "$PRIV" "$exp" 2>"$d/e.err" <<'PYEOF'
import json, sys, jwt
key = open(sys.argv[1], "rb").read().rstrip(b"\r\n")
tok = jwt.encode({"sub": "numdate", "exp": json.loads(sys.argv[2])}, key, algorithm="HS256")
jwt.decode(tok, key, algorithms=["HS256"])  # PyJWT accepts it
print(tok)
PYEOF
        ); then
            case $exp in
            '"'*)
                expect_reject "exp $exp: PyJWT accepts it, jwtx refuses a string date" \
                    "$d/jwtx.conf" "$tok" "Expiration Time claim (exp) must be an integer."
                ;;
            *)
                if "$JWTX" token verify --conf "$d/jwtx.conf" "$tok" >"$d/e.out" 2>&1; then
                    ok "exp $exp: PyJWT and jwtx accept the number"
                else
                    bad "exp $exp: jwtx token verify refused the number"
                    show "$d/e.out"
                fi
                ;;
            esac
        else
            bad "exp $exp: PyJWT could not make or decode the token"
            show "$d/e.err"
        fi
    done
else
    bad "NumericDate checks: HS256 key"
fi

finish
