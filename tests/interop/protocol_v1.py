"""Independent Python implementation of chat protocol v1 (docs/PROTOCOL.md).

Written from the spec text only. Depends on the standard library and
`cryptography`. Covers: card parsing + fingerprint (§2, §3), length-hiding
padding (§5), sealing (§6.2) and opening with the check order and error
names of §6.3.

Interpretation choices where the spec leaves room (each is listed in the
review report as well):

* Duplicate JSON member names are refused (envelope and card: `malformed`;
  payload: `payload`).
* `v` and `ts` must be JSON integers (no fraction / exponent, no booleans);
  `1.0` is a wrong type -> `malformed`.  Any integer `v` other than 1 is
  `unsupported_version`.
* Step 1 can only check `wk` and `sig` against the set of possible modulus
  sizes {256, 384, 512}; the exact per-key length is checked in step 7
  (`key_unwrap`) and step 5 (`bad_signature`), as the vectors require.
* PSS verification enforces salt length 32.
* (from, id) is recorded in `seen` only when opening fully succeeds.
* A message id (`reply_to`, receipt `ids`) is 32 lowercase hex digits, like
  the envelope `id`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import re
import struct
import time
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding as asym_padding
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

# ---------------------------------------------------------------------------
# Constants

CARD_MAX_BYTES = 8192
ENVELOPE_MAX_BYTES = 6 * 1024 * 1024  # 6,291,456
BODY_MAX_BYTES = 4 * 1024 * 1024  # 4,194,304
PADDED_MAX_BYTES = 4 * 1024 * 1024 + 64 * 1024  # 4,259,840
CT_MAX_BYTES = PADDED_MAX_BYTES + 16  # 4,259,856
BUCKET = 256
RSA_BITS = (2048, 3072, 4096)
RSA_BYTES = tuple(b // 8 for b in RSA_BITS)  # 256, 384, 512
RSA_E = 65537

CARD_TAG = b"chat-card-v1\0"
ENV_TAG = b"chat-env-v1\0"
SIG_TAG = b"chat-sig-v1\0"

USERNAME_RE = re.compile(r"[a-z0-9][a-z0-9_.-]{2,31}")  # used with fullmatch
ID_RE = re.compile(r"[0-9a-f]{32}")  # used with fullmatch

ENVELOPE_MEMBERS = frozenset(
    ["v", "id", "from", "to", "ts", "wk", "iv", "ct", "tag", "sig"]
)
CARD_MEMBERS = frozenset(["v", "user", "enc", "sig"])

OAEP = asym_padding.OAEP(
    mgf=asym_padding.MGF1(algorithm=hashes.SHA256()),
    algorithm=hashes.SHA256(),
    label=None,
)
PSS = asym_padding.PSS(
    mgf=asym_padding.MGF1(hashes.SHA256()),
    salt_length=32,
)

# ---------------------------------------------------------------------------
# Errors


class ProtocolError(Exception):
    """An opening failure; `.name` is the §6.3 error name."""

    def __init__(self, name: str, detail: str = ""):
        super().__init__(f"{name}: {detail}" if detail else name)
        self.name = name
        self.detail = detail


class CardError(Exception):
    """A card that must be refused (the spec names no error codes for cards)."""


# ---------------------------------------------------------------------------
# Small helpers


def lp(x: bytes) -> bytes:
    return struct.pack(">I", len(x)) + x


def u64be(n: int) -> bytes:
    return struct.pack(">Q", n)


def b64e(b: bytes) -> str:
    return base64.b64encode(b).decode("ascii")


def b64_len(n: int) -> int:
    """Length of the canonical b64 text of n bytes."""
    return 4 * ((n + 2) // 3)


def b64d_strict(s: str) -> bytes:
    """Canonical standard base64 only; raises ValueError otherwise."""
    if not isinstance(s, str):
        raise ValueError("not a string")
    try:
        raw = base64.b64decode(s.encode("ascii"), validate=True)
    except (UnicodeEncodeError, ValueError) as e:  # binascii.Error is ValueError
        raise ValueError(f"bad base64: {e}") from None
    if base64.b64encode(raw).decode("ascii") != s:
        raise ValueError("non-canonical base64")
    return raw


def is_username(s) -> bool:
    return isinstance(s, str) and USERNAME_RE.fullmatch(s) is not None


def is_id(s) -> bool:
    return isinstance(s, str) and ID_RE.fullmatch(s) is not None


def is_int(x) -> bool:
    return isinstance(x, int) and not isinstance(x, bool)


def _no_duplicates(pairs):
    d = {}
    for k, v in pairs:
        if k in d:
            raise ValueError(f"duplicate member {k!r}")
        d[k] = v
    return d


def _reject_constant(name):
    raise ValueError(f"non-JSON constant {name}")


def strict_json_loads(data: bytes):
    """RFC 8259 JSON from UTF-8 bytes: no BOM, no NaN/Infinity, no duplicate
    member names, no lone surrogates in strings."""
    text = data.decode("utf-8")  # strict; raises UnicodeDecodeError
    if text.startswith("\ufeff"):
        raise ValueError("BOM")
    try:
        obj = json.loads(
            text,
            object_pairs_hook=_no_duplicates,
            parse_constant=_reject_constant,
        )
    except RecursionError:
        raise ValueError("JSON nested too deeply") from None
    _check_no_surrogates(obj)
    return obj


def _check_no_surrogates(obj):
    if isinstance(obj, str):
        try:
            obj.encode("utf-8")
        except UnicodeEncodeError:
            raise ValueError("lone surrogate in string") from None
    elif isinstance(obj, dict):
        for k, v in obj.items():
            _check_no_surrogates(k)
            _check_no_surrogates(v)
    elif isinstance(obj, list):
        for v in obj:
            _check_no_surrogates(v)


def compact_json(obj) -> bytes:
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


# ---------------------------------------------------------------------------
# Keys (§1)


def parse_public_key_der(der: bytes) -> rsa.RSAPublicKey:
    try:
        key = serialization.load_der_public_key(der)
    except Exception as e:
        raise CardError(f"not a DER SubjectPublicKeyInfo: {e}") from None
    if not isinstance(key, rsa.RSAPublicKey):
        raise CardError("not an RSA key")
    reenc = key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    if reenc != der:
        raise CardError("public key DER is not canonical")
    if key.key_size not in RSA_BITS:
        raise CardError(f"modulus size {key.key_size} not allowed")
    if key.public_numbers().e != RSA_E:
        raise CardError("public exponent is not 65537")
    return key


def spki_der(key) -> bytes:
    if isinstance(key, rsa.RSAPrivateKey):
        key = key.public_key()
    return key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def load_private_pkcs8(der: bytes) -> rsa.RSAPrivateKey:
    key = serialization.load_der_private_key(der, password=None)
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ValueError("not an RSA private key")
    return key


def generate_keypair(bits: int = 3072) -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=RSA_E, key_size=bits)


# ---------------------------------------------------------------------------
# Cards (§2) and fingerprints (§3)


@dataclass(frozen=True)
class Card:
    user: str
    enc_der: bytes
    sig_der: bytes
    enc_key: rsa.RSAPublicKey
    sig_key: rsa.RSAPublicKey

    def to_json_bytes(self) -> bytes:
        # chatd's writing order: v, user, enc, sig; compact.
        return compact_json(
            {"v": 1, "user": self.user, "enc": b64e(self.enc_der), "sig": b64e(self.sig_der)}
        )

    def fingerprint(self) -> str:
        return fingerprint(self.user, self.enc_der, self.sig_der)


def fingerprint(user: str, enc_der: bytes, sig_der: bytes) -> str:
    h = hashlib.sha256(
        CARD_TAG + lp(user.encode("ascii")) + lp(enc_der) + lp(sig_der)
    )
    return h.hexdigest()


def format_fingerprint(fp_hex: str) -> str:
    return " ".join(fp_hex[i : i + 4] for i in range(0, 64, 4))


def parse_fingerprint(text: str) -> str:
    """Input form: ignores spaces, tabs, ':' and '-', either case."""
    s = re.sub(r"[ \t:\-]", "", text).lower()
    if not re.fullmatch(r"[0-9a-f]{64}", s):
        raise ValueError("not a fingerprint")
    return s


def parse_card_obj(obj) -> Card:
    if not isinstance(obj, dict):
        raise CardError("card is not a JSON object")
    if set(obj.keys()) != CARD_MEMBERS:
        raise CardError(f"card members {sorted(obj.keys())} != {sorted(CARD_MEMBERS)}")
    v = obj["v"]
    if not is_int(v) or v != 1:
        raise CardError("card v is not the number 1")
    user = obj["user"]
    if not is_username(user):
        raise CardError("invalid username")
    try:
        enc_der = b64d_strict(obj["enc"])
        sig_der = b64d_strict(obj["sig"])
    except ValueError as e:
        raise CardError(str(e)) from None
    enc_key = parse_public_key_der(enc_der)
    sig_key = parse_public_key_der(sig_der)
    return Card(user, enc_der, sig_der, enc_key, sig_key)


def parse_card(data: bytes) -> Card:
    if len(data) > CARD_MAX_BYTES:
        raise CardError("card text longer than 8192 bytes")
    try:
        obj = strict_json_loads(data)
    except ValueError as e:  # includes JSONDecodeError, UnicodeDecodeError
        raise CardError(f"card is not JSON: {e}") from None
    return parse_card_obj(obj)


def make_card(user: str, enc_key, sig_key) -> Card:
    obj = {"v": 1, "user": user, "enc": b64e(spki_der(enc_key)), "sig": b64e(spki_der(sig_key))}
    return parse_card(compact_json(obj))


def as_card(c) -> Card:
    if isinstance(c, Card):
        return c
    if isinstance(c, dict):
        return parse_card(compact_json(c))
    if isinstance(c, (bytes, bytearray)):
        return parse_card(bytes(c))
    if isinstance(c, str):
        return parse_card(c.encode("utf-8"))
    raise TypeError("unsupported card representation")


# ---------------------------------------------------------------------------
# Length-hiding padding (§5)


def pad(payload: bytes) -> bytes:
    z = (-(len(payload) + 1)) % BUCKET
    padded = payload + b"\x80" + b"\x00" * z
    if len(padded) > PADDED_MAX_BYTES:
        raise ValueError("payload too large to seal")
    return padded


def unpad(padded: bytes) -> bytes:
    n = len(padded)
    if n == 0 or n % BUCKET != 0:
        raise ValueError("length is not a non-zero multiple of 256")
    stripped = padded.rstrip(b"\x00")
    if not stripped or stripped[-1] != 0x80:
        raise ValueError("last non-zero byte is not 0x80")
    pos = len(stripped) - 1
    if pos < n - BUCKET:
        raise ValueError("0x80 marker not in the last 256 bytes")
    return padded[:pos]


# ---------------------------------------------------------------------------
# Payload (§4)


def check_payload(payload: bytes) -> dict:
    """Step 12. Returns the parsed object; raises ValueError."""
    obj = strict_json_loads(payload)
    if not isinstance(obj, dict):
        raise ValueError("payload is not a JSON object")
    t = obj.get("type")
    if not isinstance(t, str):
        raise ValueError("payload has no string 'type'")
    if t == "text":
        body = obj.get("body")
        if not isinstance(body, str):
            raise ValueError("text without string body")
        if len(body.encode("utf-8")) > BODY_MAX_BYTES:
            raise ValueError("body over 4 MiB")
        if "reply_to" in obj and not is_id(obj["reply_to"]):
            raise ValueError("invalid reply_to")
    elif t == "receipt":
        ids = obj.get("ids")
        if not isinstance(ids, list) or not ids or not all(is_id(i) for i in ids):
            raise ValueError("receipt ids must be a non-empty array of ids")
        if obj.get("kind") not in ("delivered", "read"):
            raise ValueError("receipt kind must be delivered or read")
    # any other type: kept as received
    return obj


def text_payload(body: str, reply_to: str | None = None) -> bytes:
    obj = {"type": "text", "body": body}
    if reply_to is not None:
        obj["reply_to"] = reply_to
    return compact_json(obj)


def receipt_payload(ids: list[str], kind: str) -> bytes:
    return compact_json({"type": "receipt", "ids": ids, "kind": kind})


# ---------------------------------------------------------------------------
# Envelope (§6)


def associated_data(id_hex: str, frm: str, to: str, ts: int, wk: bytes) -> bytes:
    return (
        ENV_TAG
        + lp(id_hex.encode("ascii"))
        + lp(frm.encode("ascii"))
        + lp(to.encode("ascii"))
        + u64be(ts)
        + lp(wk)
    )


def _mac_input(ad: bytes, iv: bytes, ct: bytes) -> bytes:
    return ad + lp(iv) + lp(ct)


def _sig_input(ad: bytes, iv: bytes, ct: bytes, tag: bytes) -> bytes:
    return SIG_TAG + ad + lp(iv) + lp(ct) + lp(tag)


def _pkcs7_pad(data: bytes) -> bytes:
    n = 16 - len(data) % 16
    return data + bytes([n]) * n


def _pkcs7_unpad(data: bytes) -> bytes:
    if not data or len(data) % 16:
        raise ValueError("bad length")
    n = data[-1]
    if n < 1 or n > 16 or data[-n:] != bytes([n]) * n:
        raise ValueError("bad PKCS#7 padding")
    return data[:-n]


def seal(
    sender: str,
    sender_sig_private: rsa.RSAPrivateKey,
    recipient_card,
    payload: bytes,
    ts: int | None = None,
) -> dict:
    """§6.2. Returns the envelope as a JSON-ready dict."""
    rc = as_card(recipient_card)
    if not is_username(sender):
        raise ValueError("invalid sender username")
    if ts is None:
        ts = int(time.time() * 1000)
    if not (0 <= ts < 2**64):
        raise ValueError("ts out of range")
    padded = pad(payload)  # step 1
    id_hex = os.urandom(16).hex()  # step 2
    enc_key = os.urandom(32)
    mac_key = os.urandom(32)
    iv = os.urandom(16)
    enc = Cipher(algorithms.AES(enc_key), modes.CBC(iv)).encryptor()  # step 3
    ct = enc.update(_pkcs7_pad(padded)) + enc.finalize()
    assert len(ct) == len(padded) + 16
    wk = rc.enc_key.encrypt(enc_key + mac_key, OAEP)  # step 4
    ad = associated_data(id_hex, sender, rc.user, ts, wk)  # step 5
    tag = hmac.new(mac_key, _mac_input(ad, iv, ct), hashlib.sha256).digest()  # 6
    sig = sender_sig_private.sign(_sig_input(ad, iv, ct, tag), PSS, hashes.SHA256())  # 7
    return {  # step 8
        "v": 1,
        "id": id_hex,
        "from": sender,
        "to": rc.user,
        "ts": ts,
        "wk": b64e(wk),
        "iv": b64e(iv),
        "ct": b64e(ct),
        "tag": b64e(tag),
        "sig": b64e(sig),
    }


# Allowed b64 text lengths, checked before decoding (§6.3 step 1).
_RSA_B64_LENS = frozenset(b64_len(n) for n in RSA_BYTES)
_IV_B64_LEN = b64_len(16)
_TAG_B64_LEN = b64_len(32)
_CT_B64_MIN = b64_len(16)
_CT_B64_MAX = b64_len(CT_MAX_BYTES)


@dataclass
class _Parsed:
    v: int
    id: str
    frm: str
    to: str
    ts: int
    wk: bytes
    iv: bytes
    ct: bytes
    tag: bytes
    sig: bytes


def _malformed(detail: str) -> ProtocolError:
    return ProtocolError("malformed", detail)


def _b64_field(obj: dict, name: str, ok_len) -> bytes:
    s = obj[name]
    if not isinstance(s, str):
        raise _malformed(f"{name} is not a string")
    if not ok_len(len(s)):
        raise _malformed(f"{name} b64 length {len(s)} out of range")
    try:
        return b64d_strict(s)
    except ValueError as e:
        raise _malformed(f"{name}: {e}") from None


def parse_envelope(data: bytes) -> _Parsed:
    """§6.3 step 1."""
    if len(data) > ENVELOPE_MAX_BYTES:
        raise _malformed("text over 6 MiB")
    try:
        obj = strict_json_loads(data)
    except ValueError as e:
        raise _malformed(f"not JSON: {e}") from None
    if not isinstance(obj, dict):
        raise _malformed("not a JSON object")
    keys = set(obj.keys())
    if keys != ENVELOPE_MEMBERS:
        raise _malformed(
            f"unknown {sorted(keys - ENVELOPE_MEMBERS)} / missing {sorted(ENVELOPE_MEMBERS - keys)}"
        )
    v = obj["v"]
    if not is_int(v):
        raise _malformed("v is not an integer")
    if not is_id(obj["id"]):
        raise _malformed("id is not 32 lowercase hex digits")
    for k in ("from", "to"):
        if not is_username(obj[k]):
            raise _malformed(f"{k} is not a valid username")
    ts = obj["ts"]
    if not is_int(ts) or not (0 <= ts < 2**64):
        raise _malformed("ts is not an integer in [0, 2^64)")
    wk = _b64_field(obj, "wk", lambda n: n in _RSA_B64_LENS)
    iv = _b64_field(obj, "iv", lambda n: n == _IV_B64_LEN)
    ct = _b64_field(obj, "ct", lambda n: _CT_B64_MIN <= n <= _CT_B64_MAX)
    tag = _b64_field(obj, "tag", lambda n: n == _TAG_B64_LEN)
    sig = _b64_field(obj, "sig", lambda n: n in _RSA_B64_LENS)
    if len(wk) not in RSA_BYTES:
        raise _malformed("wk size")
    if len(iv) != 16:
        raise _malformed("iv size")
    if len(ct) == 0 or len(ct) % 16 or len(ct) > CT_MAX_BYTES:
        raise _malformed("ct size")
    if len(tag) != 32:
        raise _malformed("tag size")
    if len(sig) not in RSA_BYTES:
        raise _malformed("sig size")
    return _Parsed(v, obj["id"], obj["from"], obj["to"], ts, wk, iv, ct, tag, sig)


def open_envelope(
    me_name: str,
    me_enc_private_key: rsa.RSAPrivateKey,
    contacts: dict,
    seen: set,
    envelope_json_bytes: bytes,
) -> bytes:
    """§6.3. Returns the payload bytes or raises ProtocolError(name)."""
    e = parse_envelope(envelope_json_bytes)  # 1
    if e.v != 1:  # 2
        raise ProtocolError("unsupported_version", f"v={e.v}")
    if e.to != me_name:  # 3
        raise ProtocolError("wrong_recipient", f"to={e.to!r}")
    if e.frm not in contacts:  # 4
        raise ProtocolError("unknown_sender", f"from={e.frm!r}")
    sender = as_card(contacts[e.frm])
    ad = associated_data(e.id, e.frm, e.to, e.ts, e.wk)
    # 5
    if len(e.sig) * 8 != sender.sig_key.key_size:
        raise ProtocolError("bad_signature", "sig length != sender modulus length")
    try:
        sender.sig_key.verify(e.sig, _sig_input(ad, e.iv, e.ct, e.tag), PSS, hashes.SHA256())
    except InvalidSignature:
        raise ProtocolError("bad_signature") from None
    # 6
    if (e.frm, e.id) in seen:
        raise ProtocolError("replay", f"({e.frm}, {e.id})")
    # 7 (OpenSSL RSA decryption is blinded and checks the leading zero octet)
    if len(e.wk) * 8 != me_enc_private_key.key_size:
        raise ProtocolError("key_unwrap", "wk length != recipient modulus length")
    try:
        km = me_enc_private_key.decrypt(e.wk, OAEP)
    except ValueError:
        raise ProtocolError("key_unwrap") from None
    # 8
    if len(km) != 64:
        raise ProtocolError("key_length", f"{len(km)} bytes")
    enc_key, mac_key = km[:32], km[32:]
    # 9
    want = hmac.new(mac_key, _mac_input(ad, e.iv, e.ct), hashlib.sha256).digest()
    if not hmac.compare_digest(want, e.tag):
        raise ProtocolError("bad_mac")
    # 10
    dec = Cipher(algorithms.AES(enc_key), modes.CBC(e.iv)).decryptor()
    try:
        padded = _pkcs7_unpad(dec.update(e.ct) + dec.finalize())
    except ValueError as x:
        raise ProtocolError("decrypt", str(x)) from None
    # 11
    try:
        payload = unpad(padded)
    except ValueError as x:
        raise ProtocolError("padding", str(x)) from None
    # 12
    try:
        check_payload(payload)
    except ValueError as x:
        raise ProtocolError("payload", str(x)) from None
    seen.add((e.frm, e.id))
    return payload
