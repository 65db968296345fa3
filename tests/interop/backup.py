"""Independent Python implementation of the identity backup (docs/PROTOCOL.md §10).

Written from the spec text only (§10, the Notation list, §1 keys and §2
cards, and of §9.2 and §12.5 what §10.1 refers to); no chatd source was
read. Depends on the standard library, `cryptography` (Argon2id, AES-CBC,
PKCS#7, HMAC) and the card / b64 / JSON helpers of protocol_v1.py. Covers:
the contents of §10.1 (building and checking them, with the optional
`groups` and `history`), sealing (§10.2), opening with the step order and
error names of §10.3, and the passphrase estimate of §10.4. Device links
(§12) seal the same contents: link.py reuses check_contents from here.

Interpretation choices where the text leaves room (each is also in the
review report):

* The Notation list says duplicate member names and non-integer numbers are
  refused "in envelopes and cards"; it says nothing of backups. Here both
  are refused in backups too: a duplicate member or a `v`/`m`/`t`/`p` written
  as `1.0`, `1e0` (a JSON float) or `true` is `malformed` (wrong type). In
  the plaintext the same is `bad_contents`.
* `v`, `m`, `t`, `p` must be integers within 0..2^32 (§10.3 steps 1 and 3,
  after review): -1, 2^32 or 2^64 is `malformed`. Within that range, `v`
  other than 1 is `unsupported` and `m`, `t`, `p` out of the bounds are
  `weak_or_costly`. A `v` or `alg` of the wrong JSON type is `malformed`.
* The version is read before the rest (steps 1 and 2): a backup with `v: 2`
  and any other shape is `unsupported`.
* b64 is the strict, canonical standard base64 of the Notation list.
  `ct` has no upper bound other than the 64 MiB text limit.
* "The text over 64 MiB" is more than 67,108,864 bytes of the file, checked
  before parsing. The file is UTF-8 without BOM (Notation); a BOM or invalid
  UTF-8 is `malformed`. Whitespace around the JSON object (for example a
  trailing newline) is allowed, as RFC 8259 allows it; seal_backup writes
  none (the text does not say whether chatd's file ends with a newline).
* The passphrase is used as its UTF-8 bytes exactly as given: no Unicode
  normalisation, no trimming (the text says "its UTF-8 bytes", so NFC and
  NFD spellings of the same passphrase are different passphrases).
* HMAC input is plain concatenation `ad || iv || ct` (no lp(), unlike the
  envelopes); ad is 15 + 12 + 16 = 43 bytes.
* Step 7: a padding error after a good tag is `wrong_passphrase_or_tampered`
  (as the text says; only a broken sealer can cause it).
* Step 8 (`bad_contents`) covers everything about the plaintext:
  - not UTF-8 / not JSON / BOM / duplicate member / not an object;
  - members other than v, user, enc, sig, contacts, created_at (all
    required) and groups, history (both optional). Order and whitespace are
    NOT checked when reading: §10.1's "compact, members in this order" and
    "Members appear in the order v, user, ..., created_at" are read as the
    writer's form (the text says what readers refuse, and order is not in
    that list);
  - `v` not the integer 1 (§10.1 "a wrong v" has no name of its own);
  - `user` not a username or not the account being restored (the text
    gives this no name of its own either; it is `bad_contents` here);
  - `enc`/`sig` not strict b64, not PKCS#8 `PrivateKeyInfo` DER (a PKCS#1
    `RSAPrivateKey` is refused even though OpenSSL would load it), not RSA,
    or inconsistent; their public halves must form a valid §2 card for
    `user`: modulus 2048/3072/4096 bits, exponent 65537. The PKCS#8 DER is
    not required to be byte-identical to its re-encoding (the text requires
    canonical DER only for public keys). `enc` and `sig` may be the same key
    (§2 does not refuse that);
  - `contacts` not an array, more than 10,000 entries (counted before any
    card is parsed), an entry that is not an object with exactly `card` and
    `verified`, `verified` not a JSON boolean, or `card` not a JSON object
    that is a valid §2 card (the object, as in the §10.1 example, not a
    string holding card text). Two contacts with the same user, or a
    contact that is the account itself, are NOT refused: the text does not
    say so;
  - `created_at` not an integer in 0..2^64-1 (the text gives no range;
    this is the range of the envelope `ts`);
  - `groups` (§10.1) not an array, more than 1,000 groups, a group that is
    not an object with exactly `id` and `rosters`, an `id` that is not 32
    lowercase hex digits, `rosters` not an array of 1 to 1,000 objects with
    exactly `text` and `sender`, or a `text` or `sender` that is not a JSON
    string. The roster text is opaque here: it is not parsed, not checked
    against §9.2 (nor its 1,800,000-byte limit) and not replayed, and
    `sender` is not required to be a username, because §10.1 says a group
    whose rosters do not replay is skipped, "not an error". An empty
    `groups` array is accepted ("absent when there are none" is read as the
    writer's form), and so are two groups with the same id (the reader
    skips "a group the reader already has");
  - `history` (§12.5) not an array, more than 100,000 items (counted before
    any item is looked at), an item that is not an object with exactly id,
    peer, dir, from, to, ts, kind, state and at most the optional body and
    reply_to, `ts` not an integer in 0..2^64-1, or any other member not a
    JSON string (`null` for an absent body or reply_to is refused: the text
    says "absent"). The values are NOT checked further: `dir` and `state`
    outside their lists are skipped by the reader (§12.5), an unknown
    `kind` is kept; `id` must be a message id (Notation: 32 lowercase
    hex), and `peer`, `from`, `to`, `reply_to` are taken as plain strings. `history` is accepted in a backup as well as in
    a link: §10.1 says it is absent otherwise, which is read as the
    writer's form, not as something readers refuse.
* seal_backup does not check the passphrase estimate (§10.4 is chatd's
  policy for what it seals, not part of the format, and openers must not
  apply it). It does refuse m/t/p outside the bounds of step 5 unless
  `allow_any_params=True` (only for making test data), and salt/iv that are
  not 16 bytes.
* §10.4: "characters" are Unicode code points (Python str elements), not
  bytes or grapheme clusters. "ASCII punctuation" is Python's
  string.punctuation (the 32 printable non-alphanumeric ASCII characters),
  which with space makes the 33. ASCII control characters (tab, newline,
  DEL, ...) count as characters but add nothing to the pool. An empty
  passphrase, or one whose pool is 0, is 0 bits. "Below 80 bits" means
  estimate < 80.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import string
import struct

from cryptography.hazmat.primitives import padding as sym_padding
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.kdf.argon2 import Argon2id

import protocol_v1 as v1

# ---------------------------------------------------------------------------
# Constants (§10)

BACKUP_MAX_BYTES = 64 * 1024 * 1024  # 67,108,864
M_MIN, M_MAX = 65536, 1048576  # KiB: 64 MiB .. 1 GiB
T_MIN, T_MAX = 1, 16
P_MIN, P_MAX = 1, 8
DEFAULT_M, DEFAULT_T, DEFAULT_P = 65536, 3, 1  # what chatd uses
SALT_BYTES = 16
IV_BYTES = 16
TAG_BYTES = 32
KEY_BYTES = 64  # ke || km
CONTACTS_MAX = 10_000
MIN_PASSPHRASE_BITS = 80
AD_TAG = b"chat-backup-v1\0"

BACKUP_MEMBERS = frozenset(["v", "kdf", "iv", "ct", "tag"])
KDF_MEMBERS = frozenset(["alg", "m", "t", "p", "salt"])
GROUPS_MAX = 1_000
ROSTERS_MAX = 1_000  # per group, and at least one
HISTORY_MAX = 100_000

# §10.1: the members in the order chatd writes them; `groups` and `history`
# may be absent, the others are required.
CONTENTS_ORDER = ("v", "user", "enc", "sig", "contacts", "groups", "history", "created_at")
CONTENTS_OPTIONAL = frozenset(["groups", "history"])
CONTENTS_MEMBERS = frozenset(CONTENTS_ORDER) - CONTENTS_OPTIONAL  # required
CONTACT_MEMBERS = frozenset(["card", "verified"])
GROUP_MEMBERS = frozenset(["id", "rosters"])
ROSTER_MEMBERS = frozenset(["text", "sender"])
# §12.5: a history item's members in the order chatd writes them; `body` and
# `reply_to` may be absent.
HISTORY_ORDER = ("id", "peer", "dir", "from", "to", "ts", "kind", "body", "reply_to", "state")
HISTORY_OPTIONAL = frozenset(["body", "reply_to"])
HISTORY_MEMBERS = frozenset(HISTORY_ORDER) - HISTORY_OPTIONAL  # required

ERROR_NAMES = (
    "malformed",
    "unsupported",
    "weak_or_costly",
    "wrong_passphrase_or_tampered",
    "bad_contents",
)


class BackupError(Exception):
    """An opening failure; `.name` is one of the §10.3 step names."""

    def __init__(self, name: str, detail: str = ""):
        assert name in ERROR_NAMES, name
        super().__init__(f"{name}: {detail}" if detail else name)
        self.name = name
        self.detail = detail


# ---------------------------------------------------------------------------
# Primitives (§10.2)


def u32be(n: int) -> bytes:
    return struct.pack(">I", n)


def derive_keys(passphrase: str, salt: bytes, m: int, t: int, p: int) -> tuple[bytes, bytes]:
    """§10.2 step 1: (ke, km). `Argon2id` is looked up in this module at call
    time, so tests can replace it to prove no key is derived."""
    k = Argon2id(
        salt=salt, length=KEY_BYTES, iterations=t, lanes=p, memory_cost=m
    ).derive(passphrase.encode("utf-8"))
    return k[:32], k[32:]


def backup_ad(m: int, t: int, p: int, salt: bytes) -> bytes:
    """§10.2 step 3."""
    return AD_TAG + u32be(m) + u32be(t) + u32be(p) + salt


def backup_tag(km: bytes, ad: bytes, iv: bytes, ct: bytes) -> bytes:
    """§10.2 step 4."""
    return hmac.new(km, ad + iv + ct, hashlib.sha256).digest()


def params_ok(m: int, t: int, p: int) -> bool:
    """The bounds of §10.3 step 5 (inclusive)."""
    return M_MIN <= m <= M_MAX and T_MIN <= t <= T_MAX and P_MIN <= p <= P_MAX


def pkcs7_pad(data: bytes) -> bytes:
    padder = sym_padding.PKCS7(128).padder()
    return padder.update(data) + padder.finalize()


def pkcs7_unpad(data: bytes) -> bytes:
    unpadder = sym_padding.PKCS7(128).unpadder()
    return unpadder.update(data) + unpadder.finalize()  # ValueError if bad


# ---------------------------------------------------------------------------
# Sealing (§10.2)


def _seal_padded(passphrase: str, padded: bytes, m: int, t: int, p: int,
                 salt: bytes, iv: bytes) -> str:
    """Steps 1-4 on an already padded plaintext (tests use it to make a
    backup with a good tag and a bad padding), then the JSON text."""
    ke, km = derive_keys(passphrase, salt, m, t, p)
    enc = Cipher(algorithms.AES(ke), modes.CBC(iv)).encryptor()
    ct = enc.update(padded) + enc.finalize()
    tag = backup_tag(km, backup_ad(m, t, p, salt), iv, ct)
    obj = {  # members in the order of §10.2
        "v": 1,
        "kdf": {"alg": "argon2id", "m": m, "t": t, "p": p, "salt": v1.b64e(salt)},
        "iv": v1.b64e(iv),
        "ct": v1.b64e(ct),
        "tag": v1.b64e(tag),
    }
    return v1.compact_json(obj).decode("utf-8")


def seal_backup(passphrase: str, plaintext: bytes, m: int, t: int, p: int,
                salt: bytes, iv: bytes, *, allow_any_params: bool = False) -> str:
    """§10.2. Returns the exact compact backup JSON text."""
    for name, x in (("m", m), ("t", t), ("p", p)):
        if not v1.is_int(x) or not (0 <= x < 2**32):
            raise ValueError(f"{name} must be an integer that fits u32")
    if not allow_any_params and not params_ok(m, t, p):
        raise ValueError(f"m={m}, t={t}, p={p} outside the bounds of §10.3 step 5")
    if len(salt) != SALT_BYTES or len(iv) != IV_BYTES:
        raise ValueError("salt and iv must be 16 bytes")
    if isinstance(plaintext, str):
        plaintext = plaintext.encode("utf-8")
    return _seal_padded(passphrase, pkcs7_pad(bytes(plaintext)), m, t, p, bytes(salt), bytes(iv))


# ---------------------------------------------------------------------------
# Contents (§10.1)


def make_contents(user: str, enc_private: rsa.RSAPrivateKey, sig_private: rsa.RSAPrivateKey,
                  contacts, created_at: int, *, groups=None, history=None) -> bytes:
    """The plaintext M as §10.1 describes chatd's form (compact, in order).
    `contacts`: iterable of (card, verified) with card as protocol_v1.as_card
    accepts it. `groups`: None (the member is left out) or an iterable of
    (group id, [(roster text, sender), ...]). `history`: None (left out) or
    an iterable of dicts with the members of §12.5; they are written in the
    order of §12.5, an absent or None body / reply_to left out."""

    def pkcs8(k):
        return v1.b64e(k.private_bytes(
            serialization.Encoding.DER,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ))

    cs = []
    for card, verified in contacts:
        c = v1.as_card(card)
        cs.append({
            "card": {"v": 1, "user": c.user, "enc": v1.b64e(c.enc_der), "sig": v1.b64e(c.sig_der)},
            "verified": bool(verified),
        })
    obj = {
        "v": 1,
        "user": user,
        "enc": pkcs8(enc_private),
        "sig": pkcs8(sig_private),
        "contacts": cs,
    }
    if groups is not None:
        obj["groups"] = [
            {"id": gid, "rosters": [{"text": text, "sender": sender} for text, sender in rosters]}
            for gid, rosters in groups
        ]
    if history is not None:
        obj["history"] = [
            {k: item[k] for k in HISTORY_ORDER if item.get(k) is not None}
            for item in history
        ]
    obj["created_at"] = created_at  # last, as §10.1 orders it
    return v1.compact_json(obj)


def _der_header(b: bytes, i: int) -> tuple[int, int, int]:
    """(tag, content start, content end) of the DER element at i."""
    if i + 2 > len(b):
        raise ValueError("truncated DER")
    tag, n = b[i], b[i + 1]
    i += 2
    if n & 0x80:
        k = n & 0x7F
        if k == 0 or k > 4 or i + k > len(b):
            raise ValueError("bad DER length")
        n = int.from_bytes(b[i : i + k], "big")
        i += k
    if i + n > len(b):
        raise ValueError("truncated DER")
    return tag, i, i + n


def _is_pkcs8_shape(der: bytes) -> bool:
    """PrivateKeyInfo ::= SEQUENCE { INTEGER version, SEQUENCE algorithm, ... }
    as opposed to PKCS#1 RSAPrivateKey ::= SEQUENCE { INTEGER 0, INTEGER n, ... }."""
    try:
        tag, start, end = _der_header(der, 0)
        if tag != 0x30 or end != len(der):
            return False
        tag, _, e1 = _der_header(der, start)
        if tag != 0x02:
            return False
        tag, _, _ = _der_header(der, e1)
        return tag == 0x30
    except ValueError:
        return False


def load_private_key_b64(s) -> rsa.RSAPrivateKey:
    """b64 of unencrypted PKCS#8 PrivateKeyInfo DER of an RSA key; ValueError."""
    der = v1.b64d_strict(s)
    if not _is_pkcs8_shape(der):
        raise ValueError("not PKCS#8 PrivateKeyInfo DER")
    try:
        key = serialization.load_der_private_key(der, password=None)
    except Exception as e:  # ValueError, TypeError, UnsupportedAlgorithm
        raise ValueError(f"does not load: {e}") from None
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ValueError("not an RSA private key")
    return key


def _members_ok(obj: dict, required: frozenset, optional: frozenset = frozenset()) -> str | None:
    """None if obj has every required member and nothing beyond required and
    optional; otherwise what is wrong, for the error detail."""
    keys = set(obj)
    unknown = keys - required - optional
    missing = required - keys
    if unknown or missing:
        return f"unknown {sorted(unknown)} / missing {sorted(missing)}"
    return None


def _check_groups(groups, bad) -> None:
    """§10.1 `groups`: their shape only (the roster texts are opaque here)."""
    if not isinstance(groups, list):
        raise bad("groups is not an array")
    if len(groups) > GROUPS_MAX:
        raise bad(f"{len(groups)} groups, at most {GROUPS_MAX}")
    for i, g in enumerate(groups):
        if not isinstance(g, dict):
            raise bad(f"groups[{i}] is not an object")
        wrong = _members_ok(g, GROUP_MEMBERS)
        if wrong:
            raise bad(f"groups[{i}]: {wrong}")
        if not v1.is_id(g["id"]):
            raise bad(f"groups[{i}].id is not 32 lowercase hex digits")
        rosters = g["rosters"]
        if not isinstance(rosters, list):
            raise bad(f"groups[{i}].rosters is not an array")
        if not 1 <= len(rosters) <= ROSTERS_MAX:
            raise bad(f"groups[{i}] has {len(rosters)} rosters, 1 to {ROSTERS_MAX} allowed")
        for j, r in enumerate(rosters):
            where = f"groups[{i}].rosters[{j}]"
            if not isinstance(r, dict):
                raise bad(f"{where} is not an object")
            wrong = _members_ok(r, ROSTER_MEMBERS)
            if wrong:
                raise bad(f"{where}: {wrong}")
            for name in ("text", "sender"):
                if not isinstance(r[name], str):
                    raise bad(f"{where}.{name} is not a string")


def _check_history(history, bad) -> None:
    """§12.5 `history`: exactly its members, of the right JSON types."""
    if not isinstance(history, list):
        raise bad("history is not an array")
    if len(history) > HISTORY_MAX:
        raise bad(f"{len(history)} history items, at most {HISTORY_MAX}")
    for i, h in enumerate(history):
        where = f"history[{i}]"
        if not isinstance(h, dict):
            raise bad(f"{where} is not an object")
        wrong = _members_ok(h, HISTORY_MEMBERS, HISTORY_OPTIONAL)
        if wrong:
            raise bad(f"{where}: {wrong}")
        for name, value in h.items():
            if name == "ts":
                if not v1.is_int(value) or not 0 <= value < 2**64:
                    raise bad(f"{where}.ts is not an integer in [0, 2^64)")
            elif not isinstance(value, str):
                raise bad(f"{where}.{name} is not a string")
        # §12.5: `id` is a message id (Notation: 32 lowercase hex digits).
        if not v1.is_id(h["id"]):
            raise bad(f"{where}.id is not a message id")


def check_contents(plaintext: bytes, user: str) -> dict:
    """§10.3 step 8 (and §12.4 step 7) on the decrypted plaintext; raises
    BackupError('bad_contents'). Every failure here has that one name, so the
    order of the checks is free: the shape comes first and the private keys,
    the slow part, last."""

    def bad(detail: str) -> BackupError:
        return BackupError("bad_contents", detail)

    try:
        obj = v1.strict_json_loads(plaintext)
    except ValueError as e:  # JSONDecodeError, UnicodeDecodeError
        raise bad(f"not JSON: {e}") from None
    if not isinstance(obj, dict):
        raise bad("not a JSON object")
    wrong = _members_ok(obj, CONTENTS_MEMBERS, CONTENTS_OPTIONAL)
    if wrong:
        raise bad(wrong)
    if not v1.is_int(obj["v"]) or obj["v"] != 1:
        raise bad(f"v is {obj['v']!r}, not 1")
    if not v1.is_username(obj["user"]):
        raise bad("user is not a username")
    if obj["user"] != user:
        raise bad(f"user {obj['user']!r} is not the account being restored ({user!r})")
    contacts = obj["contacts"]
    if not isinstance(contacts, list):
        raise bad("contacts is not an array")
    if len(contacts) > CONTACTS_MAX:
        raise bad(f"{len(contacts)} contacts, at most {CONTACTS_MAX}")
    for i, c in enumerate(contacts):
        if not isinstance(c, dict) or set(c) != CONTACT_MEMBERS:
            raise bad(f"contacts[{i}] is not an object with exactly card and verified")
        if not isinstance(c["verified"], bool):
            raise bad(f"contacts[{i}].verified is not a boolean")
        if not isinstance(c["card"], dict):
            raise bad(f"contacts[{i}].card is not a JSON object")
    if "groups" in obj:
        _check_groups(obj["groups"], bad)
    if "history" in obj:
        _check_history(obj["history"], bad)
    ca = obj["created_at"]
    if not v1.is_int(ca) or not (0 <= ca < 2**64):
        raise bad("created_at is not an integer in [0, 2^64)")
    # The cards (§2), then the account's own keys.
    for i, c in enumerate(contacts):
        try:
            v1.parse_card(v1.compact_json(c["card"]))
        except v1.CardError as e:
            raise bad(f"contacts[{i}].card: {e}") from None
    keys_loaded = {}
    for name in ("enc", "sig"):
        try:
            keys_loaded[name] = load_private_key_b64(obj[name])
        except ValueError as e:
            raise bad(f"{name}: {e}") from None
    try:
        v1.make_card(user, keys_loaded["enc"], keys_loaded["sig"])
    except v1.CardError as e:
        raise bad(f"the keys do not make a valid card: {e}") from None
    return obj


# ---------------------------------------------------------------------------
# Opening (§10.3)


def _b64(obj: dict, name: str, where: str = "") -> bytes:
    s = obj[name]
    if not isinstance(s, str):
        raise BackupError("malformed", f"{where}{name} is not a string")
    try:
        return v1.b64d_strict(s)
    except ValueError as e:
        raise BackupError("malformed", f"{where}{name}: {e}") from None


def parse_backup(text) -> dict:
    """§10.3 steps 1 to 3. Returns {v, alg, m, t, p, salt, iv, ct, tag} (bytes decoded)."""
    if isinstance(text, str):
        text = text.encode("utf-8")
    text = bytes(text)
    if len(text) > BACKUP_MAX_BYTES:
        raise BackupError("malformed", "text over 64 MiB")
    try:
        obj = v1.strict_json_loads(text)
    except ValueError as e:
        raise BackupError("malformed", f"not JSON: {e}") from None
    if not isinstance(obj, dict):
        raise BackupError("malformed", "not a JSON object")
    # Steps 1 and 2: the version first, so a later format is told apart
    # from a broken one.
    if "v" not in obj or not v1.is_int(obj["v"]) or not 0 <= obj["v"] < 2**32:
        raise BackupError("malformed", "no integer v within 0..2^32")
    if obj["v"] != 1:
        raise BackupError("unsupported", f"v={obj['v']}")
    keys = set(obj)
    if keys != BACKUP_MEMBERS:
        raise BackupError("malformed", f"unknown {sorted(keys - BACKUP_MEMBERS)} / "
                                       f"missing {sorted(BACKUP_MEMBERS - keys)}")
    kdf = obj["kdf"]
    if not isinstance(kdf, dict):
        raise BackupError("malformed", "kdf is not an object")
    keys = set(kdf)
    if keys != KDF_MEMBERS:
        raise BackupError("malformed", f"kdf: unknown {sorted(keys - KDF_MEMBERS)} / "
                                       f"missing {sorted(KDF_MEMBERS - keys)}")
    if not v1.is_int(obj["v"]):
        raise BackupError("malformed", "v is not an integer")
    if not isinstance(kdf["alg"], str):
        raise BackupError("malformed", "kdf.alg is not a string")
    for name in ("m", "t", "p"):
        if not v1.is_int(kdf[name]) or not 0 <= kdf[name] < 2**32:
            raise BackupError("malformed", f"kdf.{name} is not an integer within 0..2^32")
    salt = _b64(kdf, "salt", "kdf.")
    iv = _b64(obj, "iv")
    ct = _b64(obj, "ct")
    tag = _b64(obj, "tag")
    if len(salt) != SALT_BYTES:
        raise BackupError("malformed", f"salt is {len(salt)} bytes")
    if len(iv) != IV_BYTES:
        raise BackupError("malformed", f"iv is {len(iv)} bytes")
    if len(tag) != TAG_BYTES:
        raise BackupError("malformed", f"tag is {len(tag)} bytes")
    if len(ct) == 0 or len(ct) % 16:
        raise BackupError("malformed", f"ct is {len(ct)} bytes")
    return {"v": obj["v"], "alg": kdf["alg"], "m": kdf["m"], "t": kdf["t"], "p": kdf["p"],
            "salt": salt, "iv": iv, "ct": ct, "tag": tag}


def open_backup_raw(passphrase: str, text, user: str) -> tuple[bytes, dict]:
    """§10.3 steps 1-8. Returns (plaintext M, its parsed contents)."""
    b = parse_backup(text)  # 1-3
    if b["alg"] != "argon2id":  # 4
        raise BackupError("unsupported", f"alg={b['alg']!r}")
    m, t, p = b["m"], b["t"], b["p"]
    if not params_ok(m, t, p):  # 5, before anything is derived
        raise BackupError("weak_or_costly", f"m={m}, t={t}, p={p}")
    ke, km = derive_keys(passphrase, b["salt"], m, t, p)  # 6
    want = backup_tag(km, backup_ad(m, t, p, b["salt"]), b["iv"], b["ct"])
    if not hmac.compare_digest(want, b["tag"]):
        raise BackupError("wrong_passphrase_or_tampered", "tag")
    dec = Cipher(algorithms.AES(ke), modes.CBC(b["iv"])).decryptor()  # 7
    try:
        plaintext = pkcs7_unpad(dec.update(b["ct"]) + dec.finalize())
    except ValueError:
        raise BackupError("wrong_passphrase_or_tampered", "padding") from None
    return plaintext, check_contents(plaintext, user)  # 8


def open_backup(passphrase: str, text, user: str) -> dict:
    """§10.3. Returns the parsed §10.1 contents or raises BackupError(name)."""
    return open_backup_raw(passphrase, text, user)[1]


# ---------------------------------------------------------------------------
# Passphrase strength (§10.4)

_PUNCT_AND_SPACE = frozenset(string.punctuation + " ")  # 32 + 1 = 33


def passphrase_bits(passphrase: str) -> float:
    """§10.4: (characters, each run of one repeated character counted once)
    x log2(pool)."""
    counted = sum(1 for i, c in enumerate(passphrase) if i == 0 or passphrase[i - 1] != c)
    chars = set(passphrase)
    pool = 0
    if any("a" <= c <= "z" for c in chars):
        pool += 26
    if any("A" <= c <= "Z" for c in chars):
        pool += 26
    if any("0" <= c <= "9" for c in chars):
        pool += 10
    if chars & _PUNCT_AND_SPACE:
        pool += 33
    if any(ord(c) > 0x7F for c in chars):
        pool += 100
    if counted == 0 or pool == 0:
        return 0.0
    return counted * math.log2(pool)


def passphrase_ok(passphrase: str) -> bool:
    """chatd's sealing policy: the estimate is not below 80 bits."""
    return passphrase_bits(passphrase) >= MIN_PASSPHRASE_BITS
