"""Independent Python implementation of device links (docs/PROTOCOL.md §12).

Written from the spec text only (§12, §10.1 and §10.3 to which it refers,
and the Notation list); no chatd source was read. Depends on the standard
library, `cryptography` (HKDF-SHA256, AES-CBC) and, by import, the JSON /
b64 helpers of protocol_v1.py and the contents check and PKCS#7 helpers of
backup.py. Covers: reading and showing a code (§12.1), what the code
derives (§12.2), sealing (§12.3) and opening with the step order and error
names of §12.4 (all but `no_such_link`, which is the relay's answer to a
claim and has no offline counterpart).

Interpretation choices where the text leaves room (each is also in the
review report):

* §12.1 "ignores hyphens and whitespace": a hyphen is U+002D only (not
  U+2010 HYPHEN, U+2011, an en dash or a minus sign); whitespace is the
  Unicode White_Space property (tab, LF, VT, FF, CR, space, NEL, NBSP,
  U+1680, U+2000..U+200A, U+2028, U+2029, U+202F, U+205F, U+3000). Both may
  stand anywhere and any number of times: the 8 groups of 4 are how a code
  is shown, not something a reader checks. "Letters in either case" means
  ASCII letters only (a fullwidth `Ａ` is `bad_code`). `U` (left out of
  Crockford's alphabet) and Crockford's check symbols are `bad_code`. The
  32 characters carry exactly 160 bits, so there are no spare bits to check.
* The handle is sent as lowercase hex; the handle bytes, not the hex, go
  into `ad` (§12.3 step 2 says so).
* "Over 16 MiB" is more than 16,777,216 bytes of the link text, checked
  before parsing. As for backups (§10.3, which §12.4 refers to): the text is
  UTF-8 without BOM, whitespace around the JSON object is allowed,
  duplicate member names and a `v` with a fraction or exponent (or `true`)
  are `malformed`, and member order is free when reading (the compact,
  ordered form is the writer's).
* The version is read first (steps 3 and 4): `v` an integer within 0..2^32
  other than 1 is `unsupported` whatever the other members are; -1 or 2^32
  is `malformed`.
* Step 5: `iv`, `ct`, `tag` must be JSON strings of strict canonical b64
  (Notation); `ct` has no upper bound beyond the 16 MiB of the text.
* Step 6: the tag is compared in constant time (hmac.compare_digest); a bad
  PKCS#7 padding after a good tag is also `wrong_code_or_tampered`.
* Step 7 is backup.check_contents (§10.3 step 8 with `groups` and
  `history`, see its notes), its failure renamed to this module's error.
* seal_link does not check what it seals (tests need links whose contents
  are bad) nor apply chatd's 11 MiB history budget (§12.5: chatd's policy
  for what it writes, not part of the format).
"""

from __future__ import annotations

import hashlib
import hmac
import os
from dataclasses import dataclass

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

import backup as bk
import protocol_v1 as v1

# ---------------------------------------------------------------------------
# Constants (§12)

CODE_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford's base32
CODE_BYTES = 20  # 160 bits
CODE_CHARS = 32  # 5 bits each
CODE_GROUP = 4  # shown as 8 groups of 4
HKDF_SALT = b"chat-link-v1"  # 12 ASCII bytes
AD_TAG = b"chat-link-v1\0"
HANDLE_BYTES = 32
KEY_BYTES = 64  # ke || km
IV_BYTES = 16
TAG_BYTES = 32
LINK_MAX_BYTES = 16 * 1024 * 1024  # 16,777,216

LINK_MEMBERS = frozenset(["v", "iv", "ct", "tag"])

ERROR_NAMES = (
    "bad_code",
    "no_such_link",  # the relay's (step 2); never raised here
    "malformed",
    "unsupported",
    "wrong_code_or_tampered",
    "bad_contents",
)

# The characters of the Unicode White_Space property.
_WHITESPACE = frozenset(
    "\t\n\x0b\x0c\r \x85\xa0\u1680"
    + "".join(chr(c) for c in range(0x2000, 0x200B))
    + "\u2028\u2029\u202f\u205f\u3000"
)
_IGNORED = _WHITESPACE | {"-"}

# What a reader takes each accepted character for: the alphabet in either
# case, and O as 0, I and L as 1 (again in either case).
_VALUES: dict[str, int] = {}
for _i, _c in enumerate(CODE_ALPHABET):
    _VALUES[_c] = _i
    _VALUES[_c.lower()] = _i
for _c, _i in (("O", 0), ("I", 1), ("L", 1)):
    _VALUES[_c] = _i
    _VALUES[_c.lower()] = _i
del _i, _c


class LinkError(Exception):
    """An opening failure; `.name` is one of the §12.4 step names."""

    def __init__(self, name: str, detail: str = ""):
        assert name in ERROR_NAMES, name
        super().__init__(f"{name}: {detail}" if detail else name)
        self.name = name
        self.detail = detail


# ---------------------------------------------------------------------------
# The code (§12.1)


def parse_code(text) -> bytes:
    """The 20 bytes of a typed code; LinkError('bad_code') if it does not read."""
    if not isinstance(text, str):
        raise LinkError("bad_code", "not text")
    n = 0
    count = 0
    for ch in text:
        if ch in _IGNORED:
            continue
        value = _VALUES.get(ch)
        if value is None:
            raise LinkError("bad_code", f"{ch!r} is not a code character")
        n = (n << 5) | value  # most significant first
        count += 1
    if count != CODE_CHARS:
        raise LinkError("bad_code", f"{count} code characters, not {CODE_CHARS}")
    return n.to_bytes(CODE_BYTES, "big")


def render_code(code: bytes) -> str:
    """How a code is shown: 32 characters in 8 groups of 4 joined by '-'."""
    if len(code) != CODE_BYTES:
        raise ValueError(f"a code is {CODE_BYTES} bytes, not {len(code)}")
    n = int.from_bytes(code, "big")
    chars = "".join(CODE_ALPHABET[(n >> (5 * (CODE_CHARS - 1 - k))) & 31] for k in range(CODE_CHARS))
    return "-".join(chars[k : k + CODE_GROUP] for k in range(0, CODE_CHARS, CODE_GROUP))


def new_code() -> bytes:
    """20 random bytes."""
    return os.urandom(CODE_BYTES)


def _code_bytes(code) -> bytes:
    """A code given as its text (read as §12.1 says) or as its 20 bytes."""
    if isinstance(code, (bytes, bytearray)):
        if len(code) != CODE_BYTES:
            raise LinkError("bad_code", f"{len(code)} bytes, not {CODE_BYTES}")
        return bytes(code)
    return parse_code(code)


# ---------------------------------------------------------------------------
# What the code derives (§12.2)


@dataclass(frozen=True)
class LinkKeys:
    handle: bytes  # 32 bytes
    ke: bytes  # AES-256 key
    km: bytes  # HMAC-SHA256 key

    @property
    def handle_hex(self) -> str:
        """The handle as the relay sees it: 64 lowercase hex digits."""
        return self.handle.hex()


def _hkdf(ikm: bytes, info: bytes, length: int) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=length, salt=HKDF_SALT, info=info).derive(ikm)


def derive(code) -> LinkKeys:
    """§12.2: handle, ke and km from a code (text or 20 bytes)."""
    ikm = _code_bytes(code)
    handle = _hkdf(ikm, b"handle", HANDLE_BYTES)
    k = _hkdf(ikm, b"keys", KEY_BYTES)
    return LinkKeys(handle, k[:32], k[32:])


def link_ad(handle: bytes) -> bytes:
    """§12.3 step 2: 13 + 32 = 45 bytes."""
    return AD_TAG + handle


def link_tag(km: bytes, ad: bytes, iv: bytes, ct: bytes) -> bytes:
    """§12.3 step 3: no length prefixes (ad and iv have fixed lengths)."""
    return hmac.new(km, ad + iv + ct, hashlib.sha256).digest()


# ---------------------------------------------------------------------------
# Sealing (§12.3)


def _seal_padded(code, padded: bytes, iv: bytes) -> str:
    """Steps 1-3 on an already padded plaintext (tests use it to make a link
    with a good tag and a bad padding), then the JSON text."""
    keys = derive(code)
    enc = Cipher(algorithms.AES(keys.ke), modes.CBC(iv)).encryptor()
    ct = enc.update(padded) + enc.finalize()
    tag = link_tag(keys.km, link_ad(keys.handle), iv, ct)
    obj = {"v": 1, "iv": v1.b64e(iv), "ct": v1.b64e(ct), "tag": v1.b64e(tag)}  # §12.3's order
    return v1.compact_json(obj).decode("utf-8")


def seal_link(code, plaintext, iv: bytes) -> str:
    """§12.3. `code`: its text or its 20 bytes; `plaintext`: the contents M
    (bytes, or str taken as UTF-8). Returns the exact compact link text."""
    if len(iv) != IV_BYTES:
        raise ValueError("iv must be 16 bytes")
    if isinstance(plaintext, str):
        plaintext = plaintext.encode("utf-8")
    return _seal_padded(code, bk.pkcs7_pad(bytes(plaintext)), bytes(iv))


# ---------------------------------------------------------------------------
# Opening (§12.4)


def _b64(obj: dict, name: str) -> bytes:
    s = obj[name]
    if not isinstance(s, str):
        raise LinkError("malformed", f"{name} is not a string")
    try:
        return v1.b64d_strict(s)
    except ValueError as e:
        raise LinkError("malformed", f"{name}: {e}") from None


def parse_link(text) -> dict:
    """§12.4 steps 3 to 5. Returns {v, iv, ct, tag} (bytes decoded)."""
    if isinstance(text, str):
        text = text.encode("utf-8")
    text = bytes(text)
    if len(text) > LINK_MAX_BYTES:
        raise LinkError("malformed", "text over 16 MiB")
    try:
        obj = v1.strict_json_loads(text)
    except ValueError as e:  # JSONDecodeError, UnicodeDecodeError, BOM, duplicates
        raise LinkError("malformed", f"not JSON: {e}") from None
    if not isinstance(obj, dict):
        raise LinkError("malformed", "not a JSON object")
    # Steps 3 and 4: the version first, so a later format is told apart
    # from a broken one.
    if "v" not in obj or not v1.is_int(obj["v"]) or not 0 <= obj["v"] < 2**32:
        raise LinkError("malformed", "no integer v within 0..2^32")
    if obj["v"] != 1:
        raise LinkError("unsupported", f"v={obj['v']}")
    # Step 5.
    keys = set(obj)
    if keys != LINK_MEMBERS:
        raise LinkError("malformed", f"unknown {sorted(keys - LINK_MEMBERS)} / "
                                     f"missing {sorted(LINK_MEMBERS - keys)}")
    iv = _b64(obj, "iv")
    ct = _b64(obj, "ct")
    tag = _b64(obj, "tag")
    if len(iv) != IV_BYTES:
        raise LinkError("malformed", f"iv is {len(iv)} bytes")
    if len(tag) != TAG_BYTES:
        raise LinkError("malformed", f"tag is {len(tag)} bytes")
    if len(ct) == 0 or len(ct) % 16:
        raise LinkError("malformed", f"ct is {len(ct)} bytes")
    return {"v": obj["v"], "iv": iv, "ct": ct, "tag": tag}


def open_link_raw(code, text, user: str) -> tuple[bytes, dict]:
    """§12.4 steps 1 and 3-7 for the account `user`. Returns (plaintext M,
    its parsed contents) or raises LinkError(name)."""
    ikm = _code_bytes(code)  # 1: bad_code
    # 2: no_such_link is the relay's answer to a claim by handle; offline
    # the link text is given.
    link = parse_link(text)  # 3-5
    keys = derive(ikm)  # 6
    want = link_tag(keys.km, link_ad(keys.handle), link["iv"], link["ct"])
    if not hmac.compare_digest(want, link["tag"]):
        raise LinkError("wrong_code_or_tampered", "tag")
    dec = Cipher(algorithms.AES(keys.ke), modes.CBC(link["iv"])).decryptor()
    try:
        plaintext = bk.pkcs7_unpad(dec.update(link["ct"]) + dec.finalize())
    except ValueError:
        raise LinkError("wrong_code_or_tampered", "padding") from None
    try:  # 7
        contents = bk.check_contents(plaintext, user)
    except bk.BackupError as e:
        raise LinkError("bad_contents", e.detail) from None
    return plaintext, contents


def open_link(code, text, user: str) -> dict:
    """§12.4. Returns the parsed §10.1 contents or raises LinkError(name)."""
    return open_link_raw(code, text, user)[1]


# ---------------------------------------------------------------------------
# Self-test (no vectors file needed)


def selftest() -> int:
    """Checks this module against itself with fresh keys and codes: a round
    trip, codes as typed, and a failure of each offline step. Returns the
    number of checks passed; raises AssertionError listing every failure."""
    failures: list[str] = []
    passed = 0

    def check(label: str, cond: bool, detail: str = "") -> None:
        nonlocal passed
        if cond:
            passed += 1
        else:
            failures.append(f"{label}: {detail or 'failed'}")

    def fails(label: str, want: str, fn, *args) -> None:
        try:
            fn(*args)
            check(label, False, f"succeeded, expected {want}")
        except LinkError as e:
            check(label, e.name == want, f"got {e.name} ({e.detail}), expected {want}")

    # --------------------------------------------------------- codes (§12.1)
    example = "HW1D-847K-J0Z4-835V-DMMK-J05C-7J4D-MZG0"  # §12.1's example
    check("code.example_round_trip", render_code(parse_code(example)) == example)
    check("code.zero", render_code(bytes(20)) == "-".join(["0000"] * 8))
    check("code.ones", render_code(b"\xff" * 20) == "-".join(["ZZZZ"] * 8))
    code = new_code()
    text = render_code(code)
    check("code.round_trip", parse_code(text) == code, text)
    plain = text.replace("-", "")
    for label, typed in (
        ("lowercase", text.lower()),
        ("no_hyphens", plain),
        ("spaces", text.replace("-", " ")),
        ("tabs_newline", "\t" + text.replace("-", "\n") + "\r\n"),
        ("nbsp", text.replace("-", "\u00a0")),
        ("extra_hyphens", "--" + "-".join(plain) + "--"),
        ("o_i_l", plain.replace("0", "O").replace("1", "I")),
        ("o_i_l_lower", plain.replace("0", "o").replace("1", "l").lower()),
    ):
        try:
            check(f"code.typed_{label}", parse_code(typed) == code, repr(typed))
        except LinkError as e:
            check(f"code.typed_{label}", False, f"{typed!r}: {e}")
    for label, bad in (
        ("empty", ""),
        ("31", plain[:-1]),
        ("33", plain + "0"),
        ("u", "U" + plain[1:]),
        ("star", "*" + plain[1:]),
        ("fullwidth", "\uff21" + plain[1:]),
        ("en_dash", plain[:4] + "\u2013" + plain[4:]),
        ("underscore", plain[:4] + "_" + plain[4:]),
        ("not_text", code),
    ):
        fails(f"code.bad_{label}", "bad_code", parse_code, bad)

    # ------------------------------------------------------ derivation (§12.2)
    keys = derive(code)
    check("derive.text_or_bytes", derive(text) == keys)
    check("derive.sizes", (len(keys.handle), len(keys.ke), len(keys.km)) == (32, 32, 32))
    check("derive.handle_hex", keys.handle_hex == keys.handle.hex() and len(keys.handle_hex) == 64)
    check("derive.distinct", len({keys.handle, keys.ke, keys.km}) == 3)

    # ------------------------------------------------------ round trip (§12.3)
    enc_key, sig_key = v1.generate_keypair(2048), v1.generate_keypair(2048)
    bob_key = v1.generate_keypair(2048)
    bob = v1.make_card("bob", bob_key, bob_key)
    history = [
        {"id": "00112233445566778899aabbccddeeff", "peer": "bob", "dir": "in", "from": "bob",
         "to": "alice", "ts": 1764000000000, "kind": "text", "body": "grüße ☕", "state": "read"},
        {"id": "ffeeddccbbaa99887766554433221100", "peer": "bob", "dir": "out", "from": "alice",
         "to": "bob", "ts": 1764000000001, "kind": "text", "body": "yes",
         "reply_to": "00112233445566778899aabbccddeeff", "state": "queued"},
    ]
    contents = bk.make_contents(
        "alice", enc_key, sig_key, [(bob, True)], 1764000000000,
        groups=[("0123456789abcdef0123456789abcdef", [('{"v":1}', "alice")])], history=history,
    )
    iv = os.urandom(IV_BYTES)
    link = seal_link(text, contents, iv)
    check("seal.deterministic", seal_link(code, contents, iv) == link)
    obj = v1.strict_json_loads(link.encode("utf-8"))
    check("seal.form", list(obj) == ["v", "iv", "ct", "tag"] and v1.compact_json(obj).decode() == link
          and len(v1.b64d_strict(obj["ct"])) == 16 * (len(contents) // 16 + 1), link[:100])
    try:
        got, parsed = open_link_raw(text.lower(), link, "alice")
        check("open.round_trip", got == contents and parsed["history"] == history
              and parsed["user"] == "alice", "plaintext or contents changed")
        open_link(code, link + "\n", "alice")  # whitespace around the JSON
        check("open.trailing_newline", True)
    except LinkError as e:
        check("open.round_trip", False, f"{e.name} ({e.detail})")

    # ---------------------------------------------------- failures (§12.4)
    W = "wrong_code_or_tampered"
    other = bytearray(code)
    other[-1] ^= 1
    fails("open.wrong_code", W, open_link, bytes(other), link, "alice")

    def mut(**kw) -> str:
        d = dict(obj)
        d.update(kw)
        return v1.compact_json(d).decode("utf-8")

    def flip(name: str, i: int = 0) -> str:
        raw = bytearray(v1.b64d_strict(obj[name]))
        raw[i] ^= 1
        return v1.b64e(bytes(raw))

    for name in ("ct", "iv", "tag"):
        fails(f"open.{name}_flipped", W, open_link, code, mut(**{name: flip(name)}), "alice")
    fails("open.ct_last_flipped", W, open_link, code, mut(ct=flip("ct", -1)), "alice")
    fails("open.bad_padding", W, open_link, code,
          _seal_padded(code, bk.pkcs7_pad(contents)[:-1] + b"\x11", iv), "alice")
    M = "malformed"
    fails("open.truncated", M, open_link, code, link[:-1], "alice")
    fails("open.extra_member", M, open_link, code, mut(x=1), "alice")
    fails("open.missing_tag", M, open_link, code,
          v1.compact_json({k: obj[k] for k in ("v", "iv", "ct")}).decode(), "alice")
    fails("open.duplicate_member", M, open_link, code, link[:-1] + ',"v":1}', "alice")
    fails("open.v_float", M, open_link, code, mut(v=1.0), "alice")
    fails("open.v_2_32", M, open_link, code, mut(v=2**32), "alice")
    fails("open.iv_15", M, open_link, code, mut(iv=v1.b64e(iv[:15])), "alice")
    fails("open.tag_not_canonical", M, open_link, code, mut(tag=obj["tag"].rstrip("=")), "alice")
    fails("open.ct_17", M, open_link, code, mut(ct=v1.b64e(bytes(17))), "alice")
    fails("open.bom", M, open_link, code, "\ufeff" + link, "alice")
    fails("open.over_16mib", M, open_link, code, link + " " * (LINK_MAX_BYTES + 1 - len(link)), "alice")
    fails("open.v_2", "unsupported", open_link, code, mut(v=2), "alice")
    fails("open.v_2_other_shape", "unsupported", open_link, code, '{"v":2,"x":[]}', "alice")
    fails("open.bad_code_first", "bad_code", open_link, plain[:-1], "not json", "alice")
    fails("open.another_account", "bad_contents", open_link, code, link, "bob")
    c = v1.strict_json_loads(contents)
    c["history"][0]["seen"] = True  # make_contents would leave it out
    fails("open.unknown_history_member", "bad_contents", open_link, code,
          seal_link(code, v1.compact_json(c), iv), "alice")

    if failures:
        raise AssertionError("link selftest: " + "; ".join(failures))
    return passed


if __name__ == "__main__":
    print(f"link selftest: {selftest()} checks passed")
