"""Independent Python implementation of envelope v2 (docs/PROTOCOL.md §8).

Written from the text of §8 only (plus the v1 helpers of protocol_v1.py, which
were themselves written from §1-§6). Covers: the recipient tree (§8.1), the
sealed form and its strict parsing (§8.2), the delivered form (§8.3),
splitting (§8.4), sealing (§8.5) and opening with the check order and error
names of §8.6. `open_delivered` reads both versions (an object with exactly
the v1 members goes to protocol_v1.open_envelope, sharing `seen`), as the
introduction of the document says every chatd does.

Interpretation choices where the text leaves room (each is in the review
report as well):

* "v must fit in 32 bits" (§6.3 step 1, applied to v2 by §8.2/§8.6) is read as
  an unsigned 32-bit integer: 0 <= v < 2^32; a negative or larger `v` is
  `malformed`.  The same range is applied to a v1-shaped object before it is
  handed to protocol_v1 (which does not check it).
* Step 2 of §8.6 comes after all of step 1: an object with the delivered
  member set but v != 2 gets `unsupported_version` only if everything else
  in it is well-formed under §8.3 (including `n`, `i` and the path length).
* `n` and `i` follow the number rule of the notation section: JSON integers
  written without fraction or exponent (booleans are not numbers).
* `u32be(n)` (used in ad2 but not defined in the notation list) is the
  4-byte unsigned big-endian encoding, by analogy with `u64be`.
* The sender may or may not be among the recipients; the text neither
  requires nor forbids it, so neither sealing nor parsing checks it.
* Sealed-form refusals (which have no error names in §8: the relay answers
  400) are raised as ProtocolError("malformed"), or
  ProtocolError("unsupported_version") for a well-shaped sealed form whose
  `v` is an integer other than 2.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import struct
import time
from dataclasses import dataclass
from typing import Callable

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

import protocol_v1 as v1
from protocol_v1 import (  # re-exported for callers
    OAEP,
    PSS,
    Card,
    CardError,
    ProtocolError,
    as_card,
    b64_len,
    b64d_strict,
    b64e,
    compact_json,
    is_id,
    is_int,
    is_username,
    lp,
    pad,
    strict_json_loads,
    u64be,
    unpad,
)

# ---------------------------------------------------------------------------
# Constants

SEALED_MAX_BYTES = 7 * 1024 * 1024  # 7,340,032 (§8.2)
DELIVERED_MAX_BYTES = 6 * 1024 * 1024  # 6,291,456 (§8.3)
MAX_RECIPIENTS = 1000
HASH_LEN = 32

ENV2_TAG = b"chat-env-v2\0"
SIG2_TAG = b"chat-sig-v2\0"
KC_TAG = b"chat-kc-v2\0"

COMMON_MEMBERS = ("v", "id", "from", "ts", "kc", "iv", "ct", "tag", "sig")
SEALED_MEMBERS = frozenset(COMMON_MEMBERS + ("to",))
SEALED_ENTRY_MEMBERS = frozenset(["user", "wk"])
DELIVERED_MEMBERS = frozenset(COMMON_MEMBERS + ("n", "to"))
DELIVERED_TO_MEMBERS = frozenset(["user", "wk", "i", "path"])

U32_MAX = 2**32 - 1

_RSA_B64_MAX = b64_len(max(v1.RSA_BYTES))
_IV_B64_MAX = b64_len(16)
_HASH_B64_MAX = b64_len(HASH_LEN)
_CT_B64_MAX = b64_len(v1.CT_MAX_BYTES)

# ---------------------------------------------------------------------------
# Identities


@dataclass(frozen=True)
class Identity:
    """A local user: name and both private keys."""

    user: str
    enc_private: rsa.RSAPrivateKey
    sig_private: rsa.RSAPrivateKey

    def card(self) -> Card:
        return v1.make_card(self.user, self.enc_private, self.sig_private)


# ---------------------------------------------------------------------------
# Small helpers


def u32be(n: int) -> bytes:
    return struct.pack(">I", n)


def sha256(*parts: bytes) -> bytes:
    h = hashlib.sha256()
    for x in parts:
        h.update(x)
    return h.digest()


def key_commitment(enc_key: bytes, mac_key: bytes) -> bytes:
    return sha256(KC_TAG, enc_key, mac_key)


def _malformed(detail: str) -> ProtocolError:
    return ProtocolError("malformed", detail)


# ---------------------------------------------------------------------------
# Recipient tree (§8.1)


def leaf(user: str, wk: bytes) -> bytes:
    return sha256(b"\x00", lp(user.encode("ascii")), lp(wk))


def node(l: bytes, r: bytes) -> bytes:  # noqa: E741
    return sha256(b"\x01", l, r)


def levels(leaves: list[bytes]) -> list[list[bytes]]:
    """All levels of the tree, level 0 (the leaves) first, the root's last.
    Neighbours are paired; an odd last hash moves up unchanged."""
    if not leaves:
        raise ValueError("no leaves")
    out = [list(leaves)]
    while len(out[-1]) > 1:
        level = out[-1]
        nxt = [node(level[k], level[k + 1]) for k in range(0, len(level) - 1, 2)]
        if len(level) % 2:
            nxt.append(level[-1])
        out.append(nxt)
    return out


def root(leaves: list[bytes]) -> bytes:
    return levels(leaves)[-1][0]


def path_len(i: int, n: int) -> int:
    """Number of levels on which entry i of n has a neighbour."""
    if not (0 <= i < n):
        raise ValueError("index out of range")
    j, m, count = i, n, 0
    while m > 1:
        if j % 2 == 1 or j + 1 < m:
            count += 1
        j //= 2
        m = (m + 1) // 2
    return count


def path(leaves_or_levels, i: int) -> list[bytes]:
    """The path of entry i (§8.1), bottom up. Accepts the leaves or the
    result of levels()."""
    lv = leaves_or_levels
    if not lv or not isinstance(lv[0], list):
        lv = levels(lv)
    n = len(lv[0])
    if not (0 <= i < n):
        raise ValueError("index out of range")
    j, m, depth = i, n, 0
    out: list[bytes] = []
    while m > 1:
        level = lv[depth]
        assert len(level) == m
        if j % 2 == 1:
            out.append(level[j - 1])
        elif j + 1 < m:
            out.append(level[j + 1])
        j //= 2
        m = (m + 1) // 2
        depth += 1
    return out


def root_from_path(user: str, wk: bytes, i: int, n: int, pth: list[bytes]) -> bytes:
    """Recompute the root from one entry and its path; ValueError if the path
    does not have exactly the right number of hashes."""
    if not (0 <= i < n):
        raise ValueError("index out of range")
    h = leaf(user, wk)
    j, m, k = i, n, 0
    while m > 1:
        if j % 2 == 1 or j + 1 < m:
            if k >= len(pth):
                raise ValueError("path too short")
            p = pth[k]
            k += 1
            h = node(p, h) if j % 2 == 1 else node(h, p)
        j //= 2
        m = (m + 1) // 2
    if k != len(pth):
        raise ValueError("path too long")
    return h


# ---------------------------------------------------------------------------
# Associated data and MAC / signature inputs (§8.5)


def ad2(id_hex: str, frm: str, ts: int, n: int, root_hash: bytes, kc: bytes) -> bytes:
    assert len(root_hash) == HASH_LEN and len(kc) == HASH_LEN
    return (
        ENV2_TAG
        + lp(id_hex.encode("ascii"))
        + lp(frm.encode("ascii"))
        + u64be(ts)
        + u32be(n)
        + root_hash
        + kc
    )


def mac_input2(ad: bytes, iv: bytes, ct: bytes) -> bytes:
    return ad + lp(iv) + lp(ct)


def sig_input2(ad: bytes, iv: bytes, ct: bytes, tag: bytes) -> bytes:
    return SIG2_TAG + ad + lp(iv) + lp(ct) + lp(tag)


# ---------------------------------------------------------------------------
# Strict member checks shared by the sealed and delivered forms


def _b64(obj: dict, name: str, max_len: int, sizes, where: str = "") -> bytes:
    """b64 member: string, at most b64_len(max) characters before decoding,
    canonical, decoded size in `sizes` (a predicate)."""
    s = obj[name]
    label = f"{where}{name}"
    if not isinstance(s, str):
        raise _malformed(f"{label} is not a string")
    if len(s) > max_len:
        raise _malformed(f"{label}: b64 text longer than {max_len} characters")
    try:
        raw = b64d_strict(s)
    except ValueError as e:
        raise _malformed(f"{label}: {e}") from None
    if not sizes(len(raw)):
        raise _malformed(f"{label}: {len(raw)} bytes is not an allowed size")
    return raw


def _rsa_size(n: int) -> bool:
    return n in v1.RSA_BYTES


def _ct_size(n: int) -> bool:
    return 0 < n <= v1.CT_MAX_BYTES and n % 16 == 0


def _load_obj(data, cap: int, what: str) -> dict:
    if isinstance(data, dict):
        data = compact_json(data)
    if not isinstance(data, (bytes, bytearray)):
        raise TypeError("expected JSON bytes or a dict")
    data = bytes(data)
    if len(data) > cap:
        raise _malformed(f"{what} text over {cap} bytes")
    try:
        obj = strict_json_loads(data)
    except ValueError as e:  # JSONDecodeError, UnicodeDecodeError, duplicates
        raise _malformed(f"not JSON: {e}") from None
    if not isinstance(obj, dict):
        raise _malformed("not a JSON object")
    return obj


def _members(obj: dict, want: frozenset, where: str) -> None:
    keys = set(obj.keys())
    if keys != want:
        raise _malformed(
            f"{where}unknown {sorted(keys - want)} / missing {sorted(want - keys)}"
        )


@dataclass
class _Common:
    v: int
    id: str
    frm: str
    ts: int
    kc: bytes
    iv: bytes
    ct: bytes
    tag: bytes
    sig: bytes


def _parse_common(obj: dict) -> _Common:
    v = obj["v"]
    if not is_int(v) or not (0 <= v <= U32_MAX):
        raise _malformed("v is not an integer that fits in 32 bits")
    if not is_id(obj["id"]):
        raise _malformed("id is not 32 lowercase hex digits")
    if not is_username(obj["from"]):
        raise _malformed("from is not a valid username")
    ts = obj["ts"]
    if not is_int(ts) or not (0 <= ts < 2**64):
        raise _malformed("ts is not an integer in [0, 2^64)")
    kc = _b64(obj, "kc", _HASH_B64_MAX, lambda n: n == HASH_LEN)
    iv = _b64(obj, "iv", _IV_B64_MAX, lambda n: n == 16)
    ct = _b64(obj, "ct", _CT_B64_MAX, _ct_size)
    tag = _b64(obj, "tag", _HASH_B64_MAX, lambda n: n == HASH_LEN)
    sig = _b64(obj, "sig", _RSA_B64_MAX, _rsa_size)
    return _Common(v, obj["id"], obj["from"], ts, kc, iv, ct, tag, sig)


# ---------------------------------------------------------------------------
# Sealed form (§8.2)


@dataclass
class Sealed:
    c: _Common
    entries: list  # [(user, wk bytes)]
    obj: dict  # the parsed JSON object (b64 texts are canonical)


def parse_sealed(data) -> Sealed:
    """Strict §8.2 shape check (what the relay does). `data` is the JSON text
    (bytes) or an already-decoded dict (serialized compactly first). Raises
    ProtocolError on refusal."""
    obj = _load_obj(data, SEALED_MAX_BYTES, "sealed")
    _members(obj, SEALED_MEMBERS, "")
    c = _parse_common(obj)
    to = obj["to"]
    if not isinstance(to, list):
        raise _malformed("to is not an array")
    if not (1 <= len(to) <= MAX_RECIPIENTS):
        raise _malformed(f"to has {len(to)} entries, not 1 to {MAX_RECIPIENTS}")
    entries = []
    prev = None
    for k, e in enumerate(to):
        where = f"to[{k}]."
        if not isinstance(e, dict):
            raise _malformed(f"to[{k}] is not an object")
        _members(e, SEALED_ENTRY_MEMBERS, where)
        user = e["user"]
        if not is_username(user):
            raise _malformed(f"{where}user is not a valid username")
        wk = _b64(e, "wk", _RSA_B64_MAX, _rsa_size, where)
        ub = user.encode("ascii")
        if prev is not None and not (prev < ub):
            raise _malformed(f"{where}user not in strictly increasing byte order")
        prev = ub
        entries.append((user, wk))
    if c.v != 2:
        raise ProtocolError("unsupported_version", f"sealed v={c.v}")
    return Sealed(c, entries, obj)


# ---------------------------------------------------------------------------
# Splitting (§8.4)


def split(sealed) -> dict:
    """{user: delivered form (dict)} for every entry of a sealed form."""
    s = parse_sealed(sealed)
    obj = s.obj
    lv = levels([leaf(u, wk) for u, wk in s.entries])
    n = len(s.entries)
    out = {}
    for i, (user, _wk) in enumerate(s.entries):
        entry = obj["to"][i]
        out[user] = {
            "v": obj["v"],
            "id": obj["id"],
            "from": obj["from"],
            "ts": obj["ts"],
            "n": n,
            "to": {
                "user": entry["user"],
                "wk": entry["wk"],
                "i": i,
                "path": [b64e(h) for h in path(lv, i)],
            },
            "kc": obj["kc"],
            "iv": obj["iv"],
            "ct": obj["ct"],
            "tag": obj["tag"],
            "sig": obj["sig"],
        }
    return out


# ---------------------------------------------------------------------------
# Sealing (§8.5)


def seal_v2(
    sender,
    recipients,
    payload: bytes,
    ts: int | None = None,
    *,
    rng: Callable[[int], bytes] = os.urandom,
    _hooks: dict | None = None,
) -> dict:
    """§8.5. `sender` is an Identity or a (username, sig private key) pair;
    `recipients` an iterable of cards (Card, dict, or JSON text). Returns the
    sealed form as a JSON-ready dict (members in the order of §8.2).

    `_hooks` is for negative tests only: optional callables
    "km"(user, km) -> bytes wrapped for that user, "wk"(user, wk) -> wk,
    "kc"(kc) -> kc,
    "tag"(tag) -> tag, "plain"(pkcs7_padded) -> bytes encrypted."""
    hooks = _hooks or {}
    if isinstance(sender, Identity):
        s_user, s_sig = sender.user, sender.sig_private
    else:
        s_user, s_sig = sender
    if not is_username(s_user):
        raise ValueError("invalid sender username")
    if ts is None:
        ts = int(time.time() * 1000)
    if not is_int(ts) or not (0 <= ts < 2**64):
        raise ValueError("ts out of range")
    cards = sorted((as_card(c) for c in recipients), key=lambda c: c.user.encode("ascii"))
    if not cards:
        raise ValueError("no recipients")
    if len(cards) > MAX_RECIPIENTS:
        raise ValueError("more than 1000 recipients")
    for a, b in zip(cards, cards[1:]):
        if a.user == b.user:
            raise ValueError(f"recipient {a.user!r} repeated")

    padded = pad(payload)  # 1
    id_hex = rng(16).hex()  # 2
    enc_key = rng(32)
    mac_key = rng(32)
    iv = rng(16)
    plain = v1._pkcs7_pad(padded)  # 3
    if "plain" in hooks:
        plain = hooks["plain"](plain)
    enc = Cipher(algorithms.AES(enc_key), modes.CBC(iv)).encryptor()
    ct = enc.update(plain) + enc.finalize()
    km = enc_key + mac_key
    entries = []  # 4
    for c in cards:
        this_km = hooks["km"](c.user, km) if "km" in hooks else km
        wk = c.enc_key.encrypt(this_km, OAEP)
        if "wk" in hooks:
            wk = hooks["wk"](c.user, wk)
        entries.append((c.user, wk))
    kc = key_commitment(enc_key, mac_key)  # 5
    if "kc" in hooks:
        kc = hooks["kc"](kc)
    r = root([leaf(u, wk) for u, wk in entries])
    ad = ad2(id_hex, s_user, ts, len(entries), r, kc)
    tag = hmac.new(mac_key, mac_input2(ad, iv, ct), hashlib.sha256).digest()  # 6
    if "tag" in hooks:
        tag = hooks["tag"](tag)
    sig = s_sig.sign(sig_input2(ad, iv, ct, tag), PSS, hashes.SHA256())  # 7
    return {  # 8
        "v": 2,
        "id": id_hex,
        "from": s_user,
        "ts": ts,
        "to": [{"user": u, "wk": b64e(wk)} for u, wk in entries],
        "kc": b64e(kc),
        "iv": b64e(iv),
        "ct": b64e(ct),
        "tag": b64e(tag),
        "sig": b64e(sig),
    }


# ---------------------------------------------------------------------------
# Delivered form (§8.3) and opening (§8.6)


@dataclass
class Delivered:
    c: _Common
    n: int
    user: str
    wk: bytes
    i: int
    path: list  # of 32-byte hashes


def parse_delivered_obj(obj: dict) -> Delivered:
    """§8.6 step 1 after the cap and JSON decoding."""
    _members(obj, DELIVERED_MEMBERS, "")
    c = _parse_common(obj)
    n = obj["n"]
    if not is_int(n) or not (1 <= n <= MAX_RECIPIENTS):
        raise _malformed("n is not an integer from 1 to 1000")
    to = obj["to"]
    if not isinstance(to, dict):
        raise _malformed("to is not an object")
    _members(to, DELIVERED_TO_MEMBERS, "to.")
    user = to["user"]
    if not is_username(user):
        raise _malformed("to.user is not a valid username")
    wk = _b64(to, "wk", _RSA_B64_MAX, _rsa_size, "to.")
    i = to["i"]
    if not is_int(i) or not (0 <= i < n):
        raise _malformed("to.i is not an integer with 0 <= i < n")
    pth = to["path"]
    if not isinstance(pth, list):
        raise _malformed("to.path is not an array")
    want = path_len(i, n)
    if len(pth) != want:
        raise _malformed(f"to.path has {len(pth)} hashes, i={i} n={n} needs {want}")
    hashes_ = []
    for k in range(len(pth)):
        hashes_.append(_b64(pth, k, _HASH_B64_MAX, lambda x: x == HASH_LEN, "to.path#"))
    return Delivered(c, n, user, wk, i, hashes_)


def parse_delivered(data) -> Delivered:
    return parse_delivered_obj(_load_obj(data, DELIVERED_MAX_BYTES, "delivered"))


def open_delivered(me: Identity, data, contacts: dict, seen: set) -> bytes:
    """§8.6 (and §6.3 for an object with exactly the v1 members). `data` is
    the JSON text (bytes; a dict is serialized compactly first); `contacts`
    maps username -> card; `seen` is the set of accepted (from, id) pairs,
    shared by both versions. Returns the payload bytes or raises
    ProtocolError with the §8.6 / §6.3 error name."""
    if isinstance(data, dict):
        data = compact_json(data)
    data = bytes(data)
    # 1. parse strictly (6 MiB cap first; same cap as v1)
    obj = _load_obj(data, DELIVERED_MAX_BYTES, "envelope")
    if set(obj.keys()) == v1.ENVELOPE_MEMBERS:
        v = obj["v"]
        if is_int(v) and not (0 <= v <= U32_MAX):
            raise _malformed("v does not fit in 32 bits")
        return v1.open_envelope(me.user, me.enc_private, contacts, seen, data)
    d = parse_delivered_obj(obj)
    c = d.c
    # 2. version
    if c.v != 2:
        raise ProtocolError("unsupported_version", f"v={c.v}")
    # 3. to.user is me
    if d.user != me.user:
        raise ProtocolError("wrong_recipient", f"to.user={d.user!r}")
    # 4. from is a contact
    if c.frm not in contacts:
        raise ProtocolError("unknown_sender", f"from={c.frm!r}")
    sender = as_card(contacts[c.frm])
    # 5. root from path, ad2, signature
    r = root_from_path(d.user, d.wk, d.i, d.n, d.path)  # length checked in 1
    ad = ad2(c.id, c.frm, c.ts, d.n, r, c.kc)
    if len(c.sig) * 8 != sender.sig_key.key_size:
        raise ProtocolError("bad_signature", "sig length != sender modulus length")
    try:
        sender.sig_key.verify(c.sig, sig_input2(ad, c.iv, c.ct, c.tag), PSS, hashes.SHA256())
    except InvalidSignature:
        raise ProtocolError("bad_signature") from None
    # 6. replay (shared with v1)
    if (c.frm, c.id) in seen:
        raise ProtocolError("replay", f"({c.frm}, {c.id})")
    # 7. unwrap (OpenSSL's RSA decryption is blinded)
    if len(d.wk) * 8 != me.enc_private.key_size:
        raise ProtocolError("key_unwrap", "wk length != recipient modulus length")
    try:
        km = me.enc_private.decrypt(d.wk, OAEP)
    except ValueError:
        raise ProtocolError("key_unwrap") from None
    # 8. exactly 64 bytes
    if len(km) != 64:
        raise ProtocolError("key_length", f"{len(km)} bytes")
    enc_key, mac_key = km[:32], km[32:]
    # 9. key commitment
    if not hmac.compare_digest(key_commitment(enc_key, mac_key), c.kc):
        raise ProtocolError("key_commit")
    # 10. MAC
    want = hmac.new(mac_key, mac_input2(ad, c.iv, c.ct), hashlib.sha256).digest()
    if not hmac.compare_digest(want, c.tag):
        raise ProtocolError("bad_mac")
    # 11. decrypt + PKCS#7
    dec = Cipher(algorithms.AES(enc_key), modes.CBC(c.iv)).decryptor()
    try:
        padded = v1._pkcs7_unpad(dec.update(c.ct) + dec.finalize())
    except ValueError as x:
        raise ProtocolError("decrypt", str(x)) from None
    # 12. length-hiding padding
    try:
        payload = unpad(padded)
    except ValueError as x:
        raise ProtocolError("padding", str(x)) from None
    # 13. payload
    try:
        v1.check_payload(payload)
    except ValueError as x:
        raise ProtocolError("payload", str(x)) from None
    seen.add((c.frm, c.id))
    return payload
