"""Independent Python reading of the `file` payload (docs/PROTOCOL.md
§15.4), written from the text of §15.4, of §4 and §14.1 where §15.4 refers
to them (JSON, `group`, `to`, string escaping) and of the Notation list
(message ids, usernames, base64); no chatd source was read, and the
vectors' answers were not used to write it. Depends on the standard library
and, by import, the id, username and strict base64 helpers of
protocol_v1.py and §14.1's string writer and character classes of
changes.py.

Covers:

* read_file_payload: a payload's bytes to its fields (every member of
  §15.4's table, absent ones None, and `shown_name`), or FilePayloadError
  carrying the name of the first of §15.4's ordered refusals that applies.
* write_file_payload: fields to the compact text chatd writes (`type`
  first, then the table's members in order, optional ones only when
  present, §14.1's string escaping).
* shown_name: §15.4's "the name is never a path" rule.
* selftest(): cases of its own, no vectors file needed.

Fetching and opening the blob (§15.4 "Reading one", §15.3) is
file_chunks.py's.

Interpretation choices where the text leaves room (each is also in the
review report):

* A payload that parses but is not a `file` (another `type`, no string
  `type`, or a JSON value that is not an object) is none of §15.4's
  refusals: it is another payload (§4) and raises NotAFilePayload. Parsing
  comes first, so such a payload with an unpaired surrogate is still
  `malformed`.
* Step 1's "not JSON" is RFC 8259 JSON in UTF-8 without a byte-order mark
  (Notation): invalid UTF-8, a BOM, `NaN` / `Infinity` and JSON nested too
  deeply for Python's parser are `malformed`. "A string with an unpaired
  surrogate" is any string of the text: a member name, a member the table
  does not define, or a value a repeated name overrides (§4 says of
  payloads that such a string makes the payload invalid).
* Repeated member names: the last value wins (§4).
* Members the table does not define are ignored whatever their JSON type.
  A required member written as `null` is of the wrong type (step 2); only
  `reply_to`, `group` and `to` may be `null`, read as absent.
* `size` at step 2: a JSON number written as decimal digits only (no
  sign, `-0` included, no fraction, no exponent) and at most 2^64 - 1;
  `true` / `"5"` / `5.0` / `1e3` / `-0` are of the wrong type. Over
  2^53 - 1 (and within 2^64 - 1) it passes step 2 and is refused at step
  6 (so `bad_id` and `bad_group` come first).
* `reply_to` "as a text's" (§4): a message id, 32 lowercase hex digits.
* `key` at step 6: Notation's strict base64 (standard alphabet, `=`
  padding, no whitespace, no non-zero trailing bits) of exactly 64 bytes.
* `name`'s "1 to 255 bytes" counts UTF-8 bytes after JSON unescaping; any
  characters are allowed in it (slashes, controls...), the shown name
  takes care of them.
* `media_type`: exactly one `/`; both parts 1 to 63 characters of
  `A-Z a-z 0-9 ! # $ & - ^ _ . +`, each starting with a letter or digit;
  upper-case letters are allowed (ASCII letters); the 127-byte limit then
  always holds. Nothing is lower-cased when read or written.
* Step 6's checks are all `bad_fields`, so their order among themselves
  cannot be observed.
* The shown name is computed in the order the text lists: the part after
  the last `/` or `\\`; then the listed characters removed (Cc, U+200E,
  U+200F, U+202A-U+202E, U+2066-U+2069, U+FFFD); then white space and `.`
  trimmed at both ends (together, until neither is at an end); then cut to
  255 UTF-8 bytes at a character boundary and trimmed again at its end;
  then `file` if empty. "White space" is Unicode's White_Space property
  (as §14.1 reads it for emoji). Removing characters before trimming means
  `\\u200e.bashrc` shows as `bashrc`.
* Writing: strings as §14.1 says (only `"`, `\\` and U+0000-U+001F
  escaped, `\\b \\t \\n \\f \\r` short, else `\\u00XX` lowercase; all else
  UTF-8); `size` in decimal; absent optional members left out.
  write_file_payload refuses fields that read_file_payload would not give
  back.
"""

from __future__ import annotations

import json
import re

from changes import ChangeError, is_control, is_white_space, json_string, load_payload_json
from protocol_v1 import b64d_strict, is_id, is_username

# ---------------------------------------------------------------------------
# Constants (§15.4)

# The table's members, in its order: the order chatd writes them in.
MEMBERS = ("blob", "size", "name", "media_type", "key", "sha256", "reply_to", "group", "to")
REQUIRED = ("blob", "size", "name", "media_type", "key", "sha256")
OPTIONAL = ("reply_to", "group", "to")  # may be null, read as absent
STRING_MEMBERS = ("blob", "name", "media_type", "key", "sha256", "reply_to", "group", "to")

# The fields read_file_payload gives: the table's members and the shown name.
FIELDS = MEMBERS + ("shown_name",)

SIZE_MAX = 2**53 - 1
NAME_MAX_BYTES = 255
KEY_BYTES = 64
MEDIA_TYPE_MAX_BYTES = 127
SHOWN_MAX_BYTES = 255

GROUP_RE = re.compile(r"[0-9a-f]{32}")  # used with fullmatch: lowercase only
SHA256_RE = re.compile(r"[0-9a-f]{64}")
# Each part: 1 to 63 of letters, digits and !#$&-^_.+, starting with a
# letter or digit. (In a character class `-` goes last to be literal.)
MEDIA_PART = r"[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,62}"
MEDIA_TYPE_RE = re.compile(MEDIA_PART + "/" + MEDIA_PART)

# §15.4's names, in the order of its list (bad_fields is steps 2, 5 and 6).
ERROR_NAMES = ("malformed", "bad_fields", "bad_id", "bad_group")

# Removed from a shown name besides Unicode Cc.
BIDI_AND_REPLACEMENT = frozenset(
    [0x200E, 0x200F] + list(range(0x202A, 0x202F)) + list(range(0x2066, 0x206A)) + [0xFFFD]
)


class FilePayloadError(Exception):
    """A refused `file` payload; `.name` is one of §15.4's names."""

    def __init__(self, name: str, detail: str = ""):
        assert name in ERROR_NAMES, name
        super().__init__(f"{name}: {detail}" if detail else name)
        self.name = name
        self.detail = detail


class NotAFilePayload(Exception):
    """A payload that parses but is not a `file` (§4 says what becomes of
    it, not §15.4)."""


# ---------------------------------------------------------------------------
# Step 1: JSON as §4 reads a payload


class _Number:
    """A JSON number as written: `integer` when written without fraction or
    exponent. Kept as text, since Python's int() refuses literals of more
    than 4300 digits."""

    def __init__(self, text: str, integer: bool):
        self.text = text
        self.integer = integer

    def __repr__(self) -> str:
        return f"<number {self.text}>"


def _int(text: str) -> _Number:
    return _Number(text, True)


def _float(text: str) -> _Number:
    return _Number(text, False)


def _load(payload: bytes):
    """§4's JSON reading, shared with the §14 reading; numbers kept as
    written, with whether they were written as integers."""
    try:
        return load_payload_json(payload, parse_int=_int, parse_float=_float)
    except ChangeError as e:
        raise FilePayloadError(e.name, e.detail) from None


# ---------------------------------------------------------------------------
# The shown name (§15.4)


def _removed(ch: str) -> bool:
    return is_control(ch) or ord(ch) in BIDI_AND_REPLACEMENT


def _trim_char(ch: str) -> bool:
    return ch == "." or is_white_space(ch)


def _trim(s: str, start: bool = True) -> str:
    i, j = 0, len(s)
    if start:
        while i < j and _trim_char(s[i]):
            i += 1
    while j > i and _trim_char(s[j - 1]):
        j -= 1
    return s[i:j]


def shown_name(name: str) -> str:
    """The name a reader shows and saves a file under (§15.4)."""
    cut = max(name.rfind("/"), name.rfind("\\"))
    s = name[cut + 1:]
    s = "".join(ch for ch in s if not _removed(ch))
    s = _trim(s)
    if len(s.encode("utf-8")) > SHOWN_MAX_BYTES:
        kept, n = [], 0
        for ch in s:
            n += len(ch.encode("utf-8"))
            if n > SHOWN_MAX_BYTES:
                break
            kept.append(ch)
        s = _trim("".join(kept), start=False)
    return s or "file"


# ---------------------------------------------------------------------------
# Reading (§15.4)


def _media_type_fault(mt: str) -> str | None:
    if len(mt.encode("utf-8")) > MEDIA_TYPE_MAX_BYTES:
        return f"media_type of {len(mt.encode('utf-8'))} bytes, over {MEDIA_TYPE_MAX_BYTES}"
    if MEDIA_TYPE_RE.fullmatch(mt) is None:
        return f"media_type {mt[:60]!r} is not type/subtype"
    return None


def _size_fault(size: _Number) -> str | None:
    """Step 2's part: a non-negative integer written as one."""
    if not isinstance(size, _Number):
        return f"size is a {_json_type(size)}, not a number"
    if not size.integer:
        return f"size {size.text[:40]} has a fraction or exponent"
    if size.text.startswith("-"):
        return f"size {size.text[:40]} has a sign (-0 included)"
    if len(size.text) > 20 or int(size.text) > 2**64 - 1:
        return f"size {size.text[:40]} is over 2^64 - 1"
    return None


def _size_value(size: _Number) -> int | None:
    """The value of a size that passed step 2, None when over 2^53 - 1."""
    digits = size.text.lstrip("-")
    if len(digits) > len(str(SIZE_MAX)):
        return None
    n = int(digits)
    return n if n <= SIZE_MAX else None


def _json_type(value) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, str):
        return "string"
    if isinstance(value, _Number):
        return "number"
    if isinstance(value, list):
        return "array"
    return "object"


def read_file_payload(payload: bytes) -> dict:
    """The fields of a `file` payload: a dict with every member of FIELDS,
    None for absent optional ones. Raises FilePayloadError with the first of
    §15.4's refusals that applies, or NotAFilePayload."""
    obj = _load(payload)  # 1. malformed
    kind = obj.get("type") if isinstance(obj, dict) else None
    if kind != "file":
        raise NotAFilePayload(f"type {kind!r}" if isinstance(obj, dict) else f"a JSON {_json_type(obj)}")

    # 2. bad_fields: the table's members there and of their JSON type.
    for name in REQUIRED:
        if name not in obj:
            raise FilePayloadError("bad_fields", f"file without {name}")
    fault = _size_fault(obj["size"])
    if fault is not None:
        raise FilePayloadError("bad_fields", fault)
    for name in STRING_MEMBERS:
        if name not in obj:
            continue
        value = obj[name]
        if isinstance(value, str) or (value is None and name in OPTIONAL):
            continue
        raise FilePayloadError("bad_fields", f"{name} is a {_json_type(value)}, not a string")
    fields = {name: obj.get(name) for name in MEMBERS}  # a null optional reads as absent

    # 3. bad_id
    if not is_id(fields["blob"]):
        raise FilePayloadError("bad_id", f"blob {fields['blob'][:40]!r} is not a message id")
    if fields["reply_to"] is not None and not is_id(fields["reply_to"]):
        raise FilePayloadError("bad_id", f"reply_to {fields['reply_to'][:40]!r} is not a message id")

    # 4. bad_group
    if fields["group"] is not None and GROUP_RE.fullmatch(fields["group"]) is None:
        raise FilePayloadError("bad_group", f"group {fields['group'][:40]!r} is not 32 lowercase hex digits")

    # 5. bad_fields: the conversation named at most once, and well.
    if fields["to"] is not None and not is_username(fields["to"]):
        raise FilePayloadError("bad_fields", f"to {fields['to'][:40]!r} is not a username")
    if fields["group"] is not None and fields["to"] is not None:
        raise FilePayloadError("bad_fields", "both group and to")

    # 6. bad_fields: each member's own rule.
    size = _size_value(fields["size"])
    if size is None:
        raise FilePayloadError("bad_fields", f"size {fields['size'].text[:40]} is over 2^53 - 1")
    fields["size"] = size
    try:
        key = b64d_strict(fields["key"])
    except ValueError as e:
        raise FilePayloadError("bad_fields", f"key: {e}") from None
    if len(key) != KEY_BYTES:
        raise FilePayloadError("bad_fields", f"key of {len(key)} bytes, not {KEY_BYTES}")
    if SHA256_RE.fullmatch(fields["sha256"]) is None:
        raise FilePayloadError("bad_fields", f"sha256 {fields['sha256'][:80]!r} is not 64 lowercase hex digits")
    n = len(fields["name"].encode("utf-8"))
    if not 1 <= n <= NAME_MAX_BYTES:
        raise FilePayloadError("bad_fields", f"name of {n} bytes, not 1 to {NAME_MAX_BYTES}")
    fault = _media_type_fault(fields["media_type"])
    if fault is not None:
        raise FilePayloadError("bad_fields", fault)

    fields["shown_name"] = shown_name(fields["name"])
    return fields


# ---------------------------------------------------------------------------
# Writing (§15.4, with §14.1's escaping)


def write_file_payload(fields: dict) -> bytes:
    """The compact text chatd writes for `fields` (as read_file_payload
    gives them; `shown_name` may be left out, and is not written). Raises
    ValueError for fields that read_file_payload would not give back."""
    given = set(fields) - {"shown_name"}
    if given != set(MEMBERS):
        raise ValueError(f"fields must be exactly {list(MEMBERS)} (and shown_name), not {sorted(fields)}")
    parts = ['"type":"file"']
    for name in MEMBERS:
        value = fields[name]
        if name in OPTIONAL and value is None:
            continue
        if name == "size":
            if not isinstance(value, int) or isinstance(value, bool):
                raise ValueError(f"size is a {type(value).__name__}, not an integer")
            parts.append(f'"size":{value}')
            continue
        if not isinstance(value, str):
            raise ValueError(f"{name} is a {type(value).__name__}, not a string")
        parts.append(f'"{name}":{json_string(value)}')
    try:
        text = ("{" + ",".join(parts) + "}").encode("utf-8")
    except UnicodeEncodeError as e:
        raise ValueError(f"fields that cannot be written: {e}") from None
    try:
        again = read_file_payload(text)
    except FilePayloadError as e:
        raise ValueError(f"fields a reader refuses ({e})") from None
    want = {**fields, "shown_name": again["shown_name"]} if "shown_name" not in fields else fields
    if again != want:
        differ = [n for n in FIELDS if again[n] != want[n]]
        raise ValueError(f"fields {differ} do not read back as given")
    return text


# ---------------------------------------------------------------------------
# Self-test (no vectors file needed)


def selftest() -> int:
    """Checks this module against itself: reading and writing, §4's reading
    rules, each refusal of §15.4 and their order, the writer's escaping, and
    the shown name's examples. Returns the number of checks passed; raises
    AssertionError listing every failure."""
    failures: list[str] = []
    passed = 0

    def check(label: str, cond: bool, detail: str = "") -> None:
        nonlocal passed
        if cond:
            passed += 1
        else:
            failures.append(f"{label}: {detail or 'failed'}")

    ID = "00112233445566778899aabbccddeeff"
    G = "ffeeddccbbaa99887766554433221100"
    KEY = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKissLS4vMDEyMzQ1Njc4OTo7PD0+Pw=="
    SHA = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    BASE = {"blob": ID, "size": 5, "name": "a.txt", "media_type": "text/plain", "key": KEY, "sha256": SHA}
    M, F, I, GR = "malformed", "bad_fields", "bad_id", "bad_group"

    def pl(**members) -> bytes:
        """A payload of BASE with these members changed (`None`s kept as
        null; `drop` lists members to leave out), type first."""
        drop = members.pop("drop", ())
        obj = {"type": "file", **BASE, **members}
        for name in drop:
            obj.pop(name)
        return json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode("utf-8")

    def raw_size(text: str, **members) -> bytes:
        return pl(**members).replace(b'"size":5', b'"size":' + text.encode())

    def reads(label: str, payload: bytes, **want) -> dict | None:
        expected = {name: None for name in FIELDS}
        expected.update(BASE)
        expected.update(want)
        if "shown_name" not in want:
            expected["shown_name"] = shown_name(expected["name"])
        try:
            got = read_file_payload(payload)
        except (FilePayloadError, NotAFilePayload) as e:
            check(label, False, f"refused: {e!r}")
            return None
        check(label, got == expected, f"read {got}, expected {expected}")
        return got

    def fails(label: str, want: str, payload: bytes) -> None:
        try:
            got = read_file_payload(payload)
            check(label, False, f"read {got}, expected {want}")
        except FilePayloadError as e:
            check(label, e.name == want, f"got {e.name} ({e.detail}), expected {want}")
        except NotAFilePayload as e:
            check(label, False, f"not a file payload ({e}), expected {want}")

    def not_a_file(label: str, payload: bytes) -> None:
        try:
            got = read_file_payload(payload)
            check(label, False, f"read {got}")
        except NotAFilePayload:
            check(label, True)
        except FilePayloadError as e:
            check(label, False, f"refused with {e.name}, expected NotAFilePayload")

    def writes(label: str, payload: bytes, want: bytes) -> None:
        try:
            got = write_file_payload(read_file_payload(payload))
        except (FilePayloadError, NotAFilePayload, ValueError) as e:
            check(label, False, repr(e))
            return
        check(label, got == want, f"wrote {got!r}, expected {want!r}")

    # ------------------------------------------- read and written
    plain = pl()
    reads("plain", plain)
    writes("plain.written", plain, plain)
    full = pl(reply_to=G, to="bob")
    reads("reply_to_and_to", full, reply_to=G, to="bob")
    writes("reply_to_and_to.written", full, full)
    reads("group", pl(group=G), group=G)
    shuffled = ('{"sha256":"%s", "to":null,"key":"%s",\n"media_type":"text/plain","name":"a.txt",'
                '"size":5,"blob":"%s","type":"file","extra":[1.5,{"x":null}],"group":"%s"} '
                % (SHA, KEY, ID, G)).encode()
    reads("any_order_unknown_members_nulls", shuffled, group=G)
    writes("any_order.written", shuffled, pl(group=G))
    writes("nulls_left_out", pl(reply_to=None, group=None, to=None), plain)
    reads("repeated.last_wins", plain[:-1] + b',"blob":"' + G.encode() + b'"}', blob=G)
    reads("size.zero", pl(size=0), size=0)
    reads("size.max", pl(size=SIZE_MAX), size=SIZE_MAX)
    reads("name.255_bytes", pl(name="é" * 127 + "x"), name="é" * 127 + "x")
    reads("name.a_path", pl(name="../../.bashrc"), name="../../.bashrc", shown_name="bashrc")
    reads("media_type.all_characters", pl(media_type="A0!#$&-^_.+/z9+.-^"), media_type="A0!#$&-^_.+/z9+.-^")
    reads("media_type.63_and_63", pl(media_type="a" * 63 + "/" + "b" * 63), media_type="a" * 63 + "/" + "b" * 63)
    reads("escapes", pl().replace(b'"a.txt"', b'"\\u0061\\ud83d\\udc4d\\/"'), name="a👍/", shown_name="file")

    fails("size.minus_zero", "bad_fields", raw_size("-0"))
    fails("size.2_to_the_64", "bad_fields", raw_size(str(2**64)))
    fails("size.2_to_the_64_before_bad_id", "bad_fields",
          raw_size(str(2**64)).replace(ID.encode(), b"nope"))
    fails("size.2_to_the_53_after_bad_id", "bad_id",
          raw_size(str(2**53)).replace(ID.encode(), b"nope"))

    # ------------------------------------------- 1. malformed
    for label, payload in (
        ("lone_high", pl().replace(b'"a.txt"', b'"\\ud800"')),
        ("lone_low_unknown_member", pl()[:-1] + b',"x":"\\udc00"}'),
        ("in_a_member_name", pl()[:-1] + b',"\\ud800":1}'),
        ("in_an_array", pl()[:-1] + b',"x":[["\\udbff"]]}'),
        ("in_an_overridden_value", pl()[:-1] + b',"x":"\\ud800","x":1}'),
        ("reversed_pair", pl().replace(b'"a.txt"', b'"\\udc4d\\ud83d"')),
        ("in_another_type", b'{"type":"text","body":"\\ud800"}'),
        ("not_utf8", pl().replace(b"a.txt", b"a\xff")),
        ("utf8_surrogate", pl().replace(b"a.txt", b"\xed\xa0\x80")),
        ("bom", b"\xef\xbb\xbf" + pl()),
        ("nan", raw_size("NaN")),
        ("infinity", raw_size("Infinity")),
        ("leading_zero", raw_size("05")),
        ("plus", raw_size("+5")),
        ("trailing_comma", pl()[:-1] + b",}"),
        ("truncated", pl()[:-3]),
        ("empty", b""),
        ("raw_control", pl().replace(b"a.txt", b"a\x01")),
        ("too_deep", b"[" * 100000 + b"]" * 100000),
    ):
        fails(f"malformed.{label}", M, payload)

    for label, payload in (("text", b'{"type":"text","body":"x"}'), ("no_type", pl()[:1] + pl()[15:]),
                           ("type_upper", pl().replace(b'"file"', b'"File"', 1)),
                           ("array", b"[]"), ("string", b'"file"')):
        not_a_file(f"not_a_file.{label}", payload)

    # ------------------------------------------- 2. bad_fields (shape)
    for name in REQUIRED:
        fails(f"missing.{name}", F, pl(drop=(name,)))
        fails(f"null.{name}", F, pl(**{name: None}))
    for label, text in (("fraction", "5.0"), ("exponent", "1e3"), ("half", "5.5"), ("negative", "-1"),
                        ("negative_fraction", "-0.0"), ("true", "true"), ("string", '"5"'),
                        ("big_exponent", "9e99")):
        fails(f"size.{label}", F, raw_size(text))
    for name in STRING_MEMBERS:
        fails(f"not_a_string.{name}", F, pl(**{name: 5}))
        fails(f"bool.{name}", F, pl(**{name: True}))
    fails("order.shape_before_bad_id", F, pl(blob="x", size=-1))
    fails("order.shape_before_bad_group", F, pl(group="ops", reply_to=[ID]))

    # ------------------------------------------- 3. bad_id
    for label, bad in (("upper", ID.upper()), ("31", ID[1:]), ("33", ID + "0"), ("newline", ID + "\n"),
                       ("empty", "")):
        fails(f"bad_id.blob_{label}", I, pl(blob=bad))
        fails(f"bad_id.reply_to_{label}", I, pl(reply_to=bad))
    fails("order.bad_id_before_bad_group", I, pl(blob="x", group="ops"))
    fails("order.huge_size_before_bad_id", "bad_fields", raw_size("9" * 5000, blob="x"))

    # ------------------------------------------- 4. bad_group
    for label, bad in (("name", "ops"), ("upper", G.upper()), ("31", G[1:]), ("empty", "")):
        fails(f"bad_group.{label}", GR, pl(group=bad))
    fails("order.bad_group_before_both", GR, pl(group="ops", to="bob"))
    fails("order.bad_group_before_bad_key", GR, pl(group="ops", key="x"))

    # ------------------------------------------- 5. bad_fields (where)
    for label, bad in (("upper", "Bob"), ("short", "bo"), ("newline", "bob\n"), ("empty", "")):
        fails(f"bad_to.{label}", F, pl(to=bad))
    fails("both_group_and_to", F, pl(group=G, to="bob"))

    # ------------------------------------------- 6. bad_fields (each member)
    fails("size.2_53", F, pl(size=SIZE_MAX + 1))
    fails("size.huge", F, raw_size("9" * 5000))
    key = b64d_strict(KEY)
    import base64 as _b64
    for label, bad in (
        ("63_bytes", _b64.b64encode(key[:63]).decode()),
        ("65_bytes", _b64.b64encode(key + b"\0").decode()),
        ("no_padding", KEY.rstrip("=")),
        ("extra_padding", KEY + "=="),
        ("urlsafe", _b64.urlsafe_b64encode(b"\xff" * 64).decode()),
        ("whitespace", KEY[:40] + " " + KEY[40:]),
        ("newline", KEY + "\n"),
        ("trailing_bits", KEY[:-3] + "/=="),
        ("hex", key.hex()),
        ("empty", ""),
    ):
        fails(f"key.{label}", F, pl(key=bad))
    for label, bad in (("upper", SHA.upper()), ("63", SHA[1:]), ("65", SHA + "0"), ("empty", "")):
        fails(f"sha256.{label}", F, pl(sha256=bad))
    fails("name.empty", F, pl(name=""))
    fails("name.256_bytes", F, pl(name="é" * 128))
    for label, bad in (("no_slash", "text"), ("two_slashes", "a/b/c"), ("parameter", "text/plain; charset=utf-8"),
                       ("parameter_no_space", "text/plain;charset=utf-8"), ("space", "text/ plain"),
                       ("empty_type", "/plain"), ("empty_subtype", "text/"), ("dot_first", "text/.x"),
                       ("plus_first", "+a/b"), ("64", "a" * 64 + "/b"), ("non_ascii", "text/plaín"),
                       ("newline", "text/plain\n"), ("empty", "")):
        fails(f"media_type.{label}", F, pl(media_type=bad))

    # ------------------------------------------- the writer
    name = '\x00\x01\x1f\x7f\x08\x0c\n\r\t"\\/\u2028\x85é👍'
    want = (pl(name="@").replace(b'"@"', b'"\\u0000\\u0001\\u001f\x7f\\b\\f\\n\\r\\t\\"\\\\/'
                                  + "\u2028\x85é👍".encode() + b'"'))
    writes("escaping", pl(name=name), want)
    fields = read_file_payload(pl(reply_to=G, group=G))
    for label, changed in (("shown_name_wrong", {"shown_name": "x"}), ("bad_blob", {"blob": "x"}),
                           ("size_float", {"size": 5.0}), ("size_bool", {"size": True}),
                           ("both", {"to": "bob"}), ("surrogate", {"name": "\ud800"})):
        try:
            got = write_file_payload({**fields, **changed})
            check(f"writer.{label}", False, f"wrote {got!r}")
        except ValueError:
            check(f"writer.{label}", True)
    no_shown = {k: v for k, v in fields.items() if k != "shown_name"}
    check("writer.without_shown_name", write_file_payload(no_shown) == pl(reply_to=G, group=G))

    # ------------------------------------------- the shown name
    for label, given, want in (
        ("example_bashrc", "../../.bashrc", "bashrc"),
        ("example_passwd", "/etc/passwd", "passwd"),
        ("example_dotdot", "..", "file"),
        ("backslash", "C:\\Users\\x\\evil.exe", "evil.exe"),
        ("mixed_slashes", "a\\b/c\\d.txt", "d.txt"),
        ("trailing_slash", "dir/", "file"),
        ("spaces_and_dots", " . a b . ", "a b"),
        ("controls_removed", "a\x00b\x1b[0m\x7f\x9b.txt", "ab[0m.txt"),
        ("bidi_removed", "evil\u202etxt.exe", "eviltxt.exe"),
        ("all_bidi", "\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\ufffdx", "x"),
        ("removed_then_trimmed", "\u200e.bashrc", "bashrc"),
        ("unicode_space_trimmed", "\u3000\u00a0x\u2028", "x"),
        ("inner_kept", "a\u00a0b", "a\u00a0b"),
        ("zero_width_kept", "\u200bx", "\u200bx"),
        ("only_controls", "\x01\x02", "file"),
        ("cut", "é" * 200, "é" * 127),
        ("cut_then_trimmed", "a" * 254 + ". x", "a" * 254),
        ("emoji", "👍.png", "👍.png"),
    ):
        got = shown_name(given)
        check(f"shown.{label}", got == want, f"{given!r} shows as {got!r}, expected {want!r}")

    if failures:
        raise AssertionError("file_payload selftest: " + "; ".join(failures))
    return passed


if __name__ == "__main__":
    print(f"file_payload selftest: {selftest()} checks passed")
