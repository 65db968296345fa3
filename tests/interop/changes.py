"""Independent Python reading of edits, deletes and reactions
(docs/PROTOCOL.md §14.1), written from the text of §14 and §4 (payloads)
and the Notation list (message ids, usernames, JSON) only; no chatd source
was read. Depends on the standard library and, by import, the username and
message id helpers and the 4 MiB body limit of protocol_v1.py.

Covers:

* read_change: a payload's bytes to its fields (every member of §14.1's
  table, absent ones None), or ChangeError carrying the name of the first
  of §14.1's ordered refusals that applies.
* write_change: fields to the compact text chatd writes (§14.1's member
  order, §4's string escaping).
* selftest(): cases of its own, no vectors file needed.

What a reader then does with a change (§14.2, §14.3: which message, who may
change it, the order of edits) needs the reader's store and the envelope's
sender and is not covered.

Interpretation choices where the text leaves room (each is also in the
review report):

* A payload that parses but is not an `edit`, `delete` or `react` (another
  `type`, no string `type`, or a JSON value that is not an object) is none
  of §14.1's refusals: it is another payload (§4) and raises NotAChange.
  Parsing comes first, so such a payload with an unpaired surrogate is
  still `malformed`.
* Step 1's "not JSON": RFC 8259 JSON in UTF-8 without a byte-order mark
  (Notation). Invalid UTF-8, a BOM, `NaN` / `Infinity` and JSON nested too
  deeply for Python's parser are `malformed`. Numbers of any size are read
  (they are never a member's value here, so their value is not kept).
* An unpaired surrogate escape in any string of the text makes it
  `malformed`: a member name, a member §14.1 does not define, or a value a
  repeated member name overrides.
* Repeated member names are read as §4 says chatd reads them: the last
  value wins (so `"target":"x","target":"<id>"` is a good target).
* Members a type does not define are ignored whatever their JSON type (§4):
  a `delete` with `"body":1` is a delete. A member of the table written as
  `null` is of the wrong type (step 2) except `group`, `to` (then absent)
  and `emoji` (the reaction taken back).
* "Over 4 MiB" is more than 4,194,304 bytes of UTF-8 after unescaping, as
  §4 says of `text`'s body.
* `emoji`'s rule: "control character" is Unicode general category Cc
  (U+0000-U+001F, U+007F-U+009F); "white space" is the Unicode White_Space
  property (tab, LF, VT, FF, CR, space, NEL, NBSP, U+1680, U+2000-U+200A,
  U+2028, U+2029, U+202F, U+205F, U+3000). Format characters such as the
  zero width joiner U+200D (which emoji need) and U+200B are neither. As
  the text says, readers do not check that it is one emoji: "ab" passes.
* Step 6 can only apply to an `edit` and step 7 only to a `react`, so their
  relative order cannot be observed.
* Writing: §4's "control characters escaped" is read in RFC 8259's (and
  serde_json's) sense, U+0000-U+001F: `\\n \\t \\r \\b \\f` as such, the others
  as `\\u00XX` in lowercase hex. U+007F-U+009F, like every other character,
  are written as UTF-8. `emoji` is written even when null; an absent
  `group` or `to` is left out. write_change refuses fields that read_change
  would not give back (so it never writes a payload a reader refuses).
"""

from __future__ import annotations

import json
import re

from protocol_v1 import BODY_MAX_BYTES, is_id, is_username

# ---------------------------------------------------------------------------
# Constants (§14.1)

# Every member of §14.1's table, in its order: the fields read_change gives
# and the order chatd writes them in.
FIELD_ORDER = ("type", "target", "body", "author", "emoji", "group", "to")

# The members each type defines (after `type`), in the table's order.
MEMBERS = {
    "edit": ("target", "body", "group", "to"),
    "delete": ("target", "group", "to"),
    "react": ("target", "author", "emoji", "group", "to"),
}
CHANGE_TYPES = tuple(MEMBERS)

# The members a type cannot do without (step 2); `emoji` may be null but
# must be there.
REQUIRED = {
    "edit": ("target", "body"),
    "delete": ("target",),
    "react": ("target", "author", "emoji"),
}

# The members that may be JSON null; every other member must be a string.
NULLABLE = frozenset(["emoji", "group", "to"])

# Left out when writing if absent; `emoji` is written even when null.
OPTIONAL = frozenset(["group", "to"])

GROUP_RE = re.compile(r"[0-9a-f]{32}")  # used with fullmatch: lowercase only
EMOJI_MAX_BYTES = 32

# §14.1's names, in the order of its list (bad_fields is steps 2, 5 and 7).
ERROR_NAMES = ("malformed", "bad_fields", "bad_id", "bad_group", "body_too_large")

# Unicode's White_Space property (PropList.txt; unchanged since 6.3).
WHITE_SPACE = frozenset(
    [0x09, 0x0A, 0x0B, 0x0C, 0x0D, 0x20, 0x85, 0xA0, 0x1680]
    + list(range(0x2000, 0x200B))
    + [0x2028, 0x2029, 0x202F, 0x205F, 0x3000]
)


class ChangeError(Exception):
    """A refused edit, delete or react; `.name` is one of §14.1's names."""

    def __init__(self, name: str, detail: str = ""):
        assert name in ERROR_NAMES, name
        super().__init__(f"{name}: {detail}" if detail else name)
        self.name = name
        self.detail = detail


class NotAChange(Exception):
    """A payload that parses but is not an edit, delete or react (§4 says
    what becomes of it, not §14)."""


# ---------------------------------------------------------------------------
# Step 1: JSON as §4 reads a payload


class _Number:
    """A JSON number, kept as written: no member of §14.1 is a number, and
    Python's int() refuses literals of more than 4300 digits."""

    def __init__(self, text: str):
        self.text = text

    def __repr__(self) -> str:
        return f"<number {self.text}>"


def _not_json(name: str):
    raise ChangeError("malformed", f"{name} is not JSON")


def _no_unpaired_surrogate(value) -> None:
    """Refuses an unpaired surrogate in a string or in the strings of an
    array. Objects are checked as they are built (_last_wins), each once."""
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise ChangeError("malformed", f"unpaired surrogate in {value[:40]!r}") from None
    elif isinstance(value, list):
        for item in value:
            _no_unpaired_surrogate(item)


def _last_wins(pairs: list) -> dict:
    # Every pair is checked, so a value a repeated name overrides counts too.
    for name, value in pairs:
        _no_unpaired_surrogate(name)
        _no_unpaired_surrogate(value)
    return dict(pairs)


def load_payload_json(payload: bytes, parse_int=None, parse_float=None):
    """§4's reading of a payload's JSON (UTF-8 without a byte-order mark,
    no unpaired surrogate anywhere, the last of repeated names wins); numbers
    through `parse_int` / `parse_float` (kept as written by default).
    Refusals are ChangeError `malformed`."""
    return _load(payload, parse_int or _Number, parse_float or _Number)


def _load(payload: bytes, parse_int=_Number, parse_float=_Number):
    try:
        text = bytes(payload).decode("utf-8")
    except UnicodeDecodeError as e:
        raise ChangeError("malformed", f"not UTF-8: {e.reason} at byte {e.start}") from None
    if text.startswith("\ufeff"):
        raise ChangeError("malformed", "a byte-order mark")
    try:
        value = json.loads(
            text,
            object_pairs_hook=_last_wins,
            parse_constant=_not_json,
            parse_int=parse_int,
            parse_float=parse_float,
        )
    except RecursionError:
        raise ChangeError("malformed", "nested too deeply") from None
    except ValueError as e:  # JSONDecodeError
        raise ChangeError("malformed", str(e)) from None
    _no_unpaired_surrogate(value)
    return value


# ---------------------------------------------------------------------------
# Reading (§14.1)


def is_control(ch: str) -> bool:
    """Unicode general category Cc: C0 controls, DEL and C1 controls."""
    c = ord(ch)
    return c <= 0x1F or 0x7F <= c <= 0x9F


def is_white_space(ch: str) -> bool:
    return ord(ch) in WHITE_SPACE


def _emoji_fault(emoji: str) -> str | None:
    """Why `emoji` breaks §14.1's rule, or None when it keeps it."""
    n = len(emoji.encode("utf-8"))
    if not 1 <= n <= EMOJI_MAX_BYTES:
        return f"emoji of {n} bytes, not 1 to {EMOJI_MAX_BYTES}"
    for ch in emoji:
        if is_control(ch):
            return f"emoji with control character U+{ord(ch):04X}"
        if is_white_space(ch):
            return f"emoji with white space U+{ord(ch):04X}"
    return None


def _of_json_type(name: str, value) -> bool:
    return isinstance(value, str) or (value is None and name in NULLABLE)


def read_change(payload: bytes) -> dict:
    """The fields of an edit, delete or react payload: a dict with every
    member of FIELD_ORDER, None for those absent. Raises ChangeError with
    the first of §14.1's refusals that applies, or NotAChange."""
    obj = _load(payload)  # 1. malformed
    kind = obj.get("type") if isinstance(obj, dict) else None
    if not isinstance(kind, str) or kind not in MEMBERS:
        raise NotAChange(f"type {kind!r}" if isinstance(obj, dict) else f"a JSON {type(obj).__name__}")

    # 2. bad_fields: the table's members there and of their JSON type.
    for name in REQUIRED[kind]:
        if name not in obj:
            raise ChangeError("bad_fields", f"{kind} without {name}")
    for name in MEMBERS[kind]:
        if name in obj and not _of_json_type(name, obj[name]):
            raise ChangeError("bad_fields", f"{name} is not a string")
    fields = {name: None for name in FIELD_ORDER}
    fields["type"] = kind
    for name in MEMBERS[kind]:
        fields[name] = obj.get(name)  # a null group or to reads as absent

    # 3. bad_id
    if not is_id(fields["target"]):
        raise ChangeError("bad_id", f"target {fields['target'][:40]!r} is not a message id")

    # 4. bad_group
    if fields["group"] is not None and GROUP_RE.fullmatch(fields["group"]) is None:
        raise ChangeError("bad_group", f"group {fields['group'][:40]!r} is not 32 lowercase hex digits")

    # 5. bad_fields: the conversation named at most once, and well.
    if fields["to"] is not None and not is_username(fields["to"]):
        raise ChangeError("bad_fields", f"to {fields['to'][:40]!r} is not a username")
    if fields["group"] is not None and fields["to"] is not None:
        raise ChangeError("bad_fields", "both group and to")

    # 6. body_too_large
    if kind == "edit":
        n = len(fields["body"].encode("utf-8"))
        if n > BODY_MAX_BYTES:
            raise ChangeError("body_too_large", f"body of {n} bytes, over {BODY_MAX_BYTES}")

    # 7. bad_fields: who wrote the message reacted to, and the emoji.
    if kind == "react":
        if not is_username(fields["author"]):
            raise ChangeError("bad_fields", f"author {fields['author'][:40]!r} is not a username")
        if fields["emoji"] is not None:
            fault = _emoji_fault(fields["emoji"])
            if fault is not None:
                raise ChangeError("bad_fields", fault)
    return fields


# ---------------------------------------------------------------------------
# Writing (§14.1, with §4's escaping)

_SHORT_ESCAPES = {'"': '\\"', "\\": "\\\\", "\n": "\\n", "\t": "\\t", "\r": "\\r", "\b": "\\b", "\f": "\\f"}
_TO_ESCAPE = re.compile(r'["\\\x00-\x1f]')


def _escape(match: re.Match) -> str:
    ch = match.group()
    return _SHORT_ESCAPES.get(ch) or f"\\u{ord(ch):04x}"


def json_string(s: str) -> str:
    """`s` as a JSON string the way §4 says chatd writes one."""
    return '"' + _TO_ESCAPE.sub(_escape, s) + '"'


def write_change(fields: dict) -> bytes:
    """The compact text chatd writes for `fields` (as read_change gives
    them). Raises ValueError for fields that read_change would not give
    back from any payload."""
    if set(fields) != set(FIELD_ORDER):
        raise ValueError(f"fields must be exactly {list(FIELD_ORDER)}, not {sorted(fields)}")
    kind = fields["type"]
    if not isinstance(kind, str) or kind not in MEMBERS:
        raise ValueError(f"type {kind!r} is not edit, delete or react")
    parts = [f'"type":{json_string(kind)}']
    for name in MEMBERS[kind]:
        value = fields[name]
        if value is None and name in OPTIONAL:
            continue
        if value is not None and not isinstance(value, str):
            raise ValueError(f"{name} is a {type(value).__name__}, not a string")
        parts.append(f'"{name}":' + ("null" if value is None else json_string(value)))
    try:
        text = ("{" + ",".join(parts) + "}").encode("utf-8")
    except UnicodeEncodeError as e:
        raise ValueError(f"fields that cannot be written: {e}") from None
    try:
        again = read_change(text)
    except ChangeError as e:
        raise ValueError(f"fields a reader refuses ({e})") from None
    if again != fields:
        unread = [n for n in FIELD_ORDER if again[n] != fields[n]]
        raise ValueError(f"fields {unread} are not members of a {kind}")
    return text


# ---------------------------------------------------------------------------
# Self-test (no vectors file needed)


def selftest() -> int:
    """Checks this module against itself: each type read and written, §4's
    reading rules (member order, escapes, repeated names, unknown members,
    unpaired surrogates), each refusal of §14.1 and their order, and the
    writer's escaping byte for byte. Returns the number of checks passed;
    raises AssertionError listing every failure."""
    failures: list[str] = []
    passed = 0

    def check(label: str, cond: bool, detail: str = "") -> None:
        nonlocal passed
        if cond:
            passed += 1
        else:
            failures.append(f"{label}: {detail or 'failed'}")

    def reads(label: str, payload: bytes, **want) -> dict | None:
        """`payload` must read to `want`'s members, None for the others."""
        expected = {name: want.get(name) for name in FIELD_ORDER}
        try:
            got = read_change(payload)
        except (ChangeError, NotAChange) as e:
            check(label, False, f"refused: {e!r}")
            return None
        check(label, got == expected, f"read {got}, expected {expected}")
        return got

    def fails(label: str, want: str, payload: bytes) -> None:
        try:
            got = read_change(payload)
            check(label, False, f"read {got}, expected {want}")
        except ChangeError as e:
            check(label, e.name == want, f"got {e.name} ({e.detail}), expected {want}")
        except NotAChange as e:
            check(label, False, f"not a change ({e}), expected {want}")

    def not_a_change(label: str, payload: bytes) -> None:
        try:
            got = read_change(payload)
            check(label, False, f"read {got}")
        except NotAChange:
            check(label, True)
        except ChangeError as e:
            check(label, False, f"refused with {e.name} ({e.detail}), expected NotAChange")

    def writes(label: str, payload: bytes, want: bytes) -> None:
        """`payload` must be written back as exactly `want`."""
        try:
            got = write_change(read_change(payload))
        except (ChangeError, NotAChange, ValueError) as e:
            check(label, False, repr(e))
            return
        check(label, got == want, f"wrote {got!r}, expected {want!r}")

    def refused_by_writer(label: str, fields: dict) -> None:
        try:
            got = write_change(fields)
            check(label, False, f"wrote {got!r}")
        except ValueError:
            check(label, True)

    def pl(**members) -> bytes:
        """A payload with these members, in this order (`type_` for type)."""
        if "type_" in members:
            members = {"type": members.pop("type_"), **members}
        return json.dumps(members, ensure_ascii=False, separators=(",", ":")).encode("utf-8")

    ID = "00112233445566778899aabbccddeeff"
    G = "ffeeddccbbaa99887766554433221100"
    id_ = ID.encode()
    g_ = G.encode()
    M, F, I, GR, B = "malformed", "bad_fields", "bad_id", "bad_group", "body_too_large"
    MIB4 = BODY_MAX_BYTES

    # ------------------------------------------- each type, read and written
    edit = b'{"type":"edit","target":"' + id_ + b'","body":"deploy at 13:00"}'
    reads("edit", edit, type="edit", target=ID, body="deploy at 13:00")
    writes("edit.written", edit, edit)
    delete_g = b'{"type":"delete","target":"' + id_ + b'","group":"' + g_ + b'"}'
    reads("delete.group", delete_g, type="delete", target=ID, group=G)
    writes("delete.group.written", delete_g, delete_g)
    delete_to = b'{"type":"delete","target":"' + id_ + b'","to":"bob"}'
    reads("delete.to", delete_to, type="delete", target=ID, to="bob")
    writes("delete.to.written", delete_to, delete_to)
    react = '{"type":"react","target":"%s","author":"bob","emoji":"👍"}' % ID
    reads("react", react.encode(), type="react", target=ID, author="bob", emoji="👍")
    writes("react.written", react.encode(), react.encode())
    back = b'{"type":"react","target":"' + id_ + b'","author":"bob","emoji":null,"group":"' + g_ + b'"}'
    reads("react.taken_back", back, type="react", target=ID, author="bob", group=G)
    writes("react.taken_back.written", back, back)  # emoji null is written

    # ------------------------------------------------ §4's reading rules
    shuffled = (b' {\n "to" : "bob" ,\t"body":"hi", "target":"' + id_ + b'",\r\n"type":"edit"} \n')
    reads("any_order_and_white_space", shuffled, type="edit", target=ID, body="hi", to="bob")
    writes("any_order.written", shuffled,
           b'{"type":"edit","target":"' + id_ + b'","body":"hi","to":"bob"}')
    escaped = (b'{"type":"\\u0065dit","target":"' + id_
               + b'","body":"\\u00e9\\ud83d\\udc4d\\/\\u0041\\u2028"}')
    reads("escapes_read", escaped, type="edit", target=ID, body="é👍/A\u2028")
    writes("escapes_written_as_utf8", escaped,
           b'{"type":"edit","target":"' + id_ + '","body":"é👍/A\u2028"}'.encode())
    reads("unknown_members_ignored", pl(type_="delete", target=ID, body=1, author=[], emoji={"x": None},
                                        reason="typo"), type="delete", target=ID)
    reads("members_of_other_types_ignored", pl(type_="edit", target=ID, body="x", author=5, emoji=True),
          type="edit", target=ID, body="x")
    reads("react_ignores_body", pl(type_="react", target=ID, author="bob", emoji="👍", body=["x"]),
          type="react", target=ID, author="bob", emoji="👍")
    reads("null_group_is_absent", pl(type_="edit", target=ID, body="x", group=None, to="bob"),
          type="edit", target=ID, body="x", to="bob")
    reads("null_to_is_absent", pl(type_="delete", target=ID, group=G, to=None),
          type="delete", target=ID, group=G)
    writes("null_group_left_out", pl(type_="delete", target=ID, group=None, to=None),
           b'{"type":"delete","target":"' + id_ + b'"}')
    huge = b'{"type":"delete","n":' + b"9" * 5000 + b',"m":-1.5e99999,"target":"' + id_ + b'"}'
    reads("huge_numbers_ignored", huge, type="delete", target=ID)
    # Repeated names: the last value wins (§4).
    reads("repeated.last_wins", b'{"type":"delete","target":"x","target":"' + id_ + b'"}',
          type="delete", target=ID)
    fails("repeated.last_loses", I, b'{"type":"delete","target":"' + id_ + b'","target":"x"}')
    reads("repeated.type", b'{"type":"text","target":"' + id_ + b'","type":"delete"}',
          type="delete", target=ID)
    not_a_change("repeated.type_last_text", b'{"type":"delete","target":"' + id_ + b'","type":"text"}')

    # ------------------------------------------------ 1. malformed
    good_start = b'{"type":"edit","target":"' + id_ + b'","body":'
    for label, payload in (
        ("lone_high", good_start + b'"\\ud800"}'),
        ("lone_low", good_start + b'"\\udc00"}'),
        ("reversed_pair", good_start + b'"\\udc4d\\ud83d"}'),
        ("high_then_text", good_start + b'"\\ud83dx"}'),
        ("high_at_end_of_pair_run", good_start + b'"\\ud83d\\udc4d\\ud83d"}'),
        ("in_a_member_name", good_start + b'"x","\\ud800":1}'),
        ("in_an_unknown_member", good_start + b'"x","note":"\\udfff"}'),
        ("in_an_array", good_start + b'"x","note":[1,["\\ud800"]]}'),
        ("in_a_nested_object", good_start + b'"x","note":{"a":{"b":"\\ud800"}}}'),
        ("in_an_overridden_value", good_start + b'"\\ud800","body":"x"}'),
        ("in_a_text_payload", b'{"type":"text","body":"\\ud800"}'),
        ("utf8_encoded_surrogate", good_start + b'"\xed\xa0\x80"}'),
        ("not_utf8", good_start + b'"\xff"}'),
        ("overlong_utf8", good_start + b'"\xc0\xaf"}'),
        ("bom", b"\xef\xbb\xbf" + good_start + b'"x"}'),
        ("nan", good_start + b'"x","n":NaN}'),
        ("infinity", good_start + b'"x","n":-Infinity}'),
        ("trailing_comma", good_start + b'"x",}'),
        ("single_quotes", b"{'type':'delete','target':'" + id_ + b"'}"),
        ("raw_newline_in_string", good_start + b'"a\nb"}'),
        ("bad_escape", good_start + b'"\\x41"}'),
        ("two_values", b'{"type":"delete","target":"' + id_ + b'"}{}'),
        ("truncated", b'{"type":"edit","target":'),
        ("empty", b""),
        ("too_deep", b"[" * 100000 + b"]" * 100000),
    ):
        fails(f"malformed.{label}", M, payload)

    # --------------------------------------------- not edit, delete, react
    for label, payload in (
        ("text", b'{"type":"text","body":"hi"}'),
        ("reaction", pl(type_="reaction", target=ID, author="bob", emoji="👍")),
        ("upper_case", pl(type_="Edit", target=ID, body="x")),
        ("no_type", pl(target=ID, body="x")),
        ("type_null", pl(type_=None, target=ID)),
        ("type_array", pl(type_=["delete"], target=ID)),
        ("an_array", b'[{"type":"delete"}]'),
        ("a_string", b'"delete"'),
    ):
        not_a_change(f"not_a_change.{label}", payload)

    # ------------------------------------------------ 2. bad_fields (shape)
    fails("shape.react_without_emoji", F, pl(type_="react", target=ID, author="bob"))
    fails("shape.react_without_author", F, pl(type_="react", target=ID, emoji="👍"))
    fails("shape.edit_without_body", F, pl(type_="edit", target=ID))
    fails("shape.without_target", F, pl(type_="delete", group=G))
    fails("shape.target_null", F, pl(type_="delete", target=None))
    fails("shape.target_number", F, pl(type_="delete", target=12))
    fails("shape.body_null", F, pl(type_="edit", target=ID, body=None))
    fails("shape.body_array", F, pl(type_="edit", target=ID, body=["x"]))
    fails("shape.author_null", F, pl(type_="react", target=ID, author=None, emoji="👍"))
    fails("shape.emoji_number", F, pl(type_="react", target=ID, author="bob", emoji=1))
    fails("shape.emoji_true", F, pl(type_="react", target=ID, author="bob", emoji=True))
    fails("shape.group_number", F, pl(type_="delete", target=ID, group=5))
    fails("shape.to_object", F, pl(type_="delete", target=ID, to={"user": "bob"}))
    # Before every later step:
    fails("order.shape_before_bad_id", F, pl(type_="react", target="x", author="bob"))
    fails("order.shape_before_bad_group", F, pl(type_="edit", target=ID, group="ops"))
    fails("order.shape_before_large_body", F, pl(type_="edit", target=ID, body="x" * (MIB4 + 1), group=5))

    # ------------------------------------------------ 3. bad_id
    for label, target in (
        ("upper_case", ID.upper()),
        ("31_digits", ID[1:]),
        ("33_digits", ID + "0"),
        ("trailing_newline", ID + "\n"),
        ("not_hex", "g" + ID[1:]),
        ("arabic_digits", "\u0660" * 32),
        ("empty", ""),
    ):
        fails(f"bad_id.{label}", I, pl(type_="delete", target=target))
    fails("order.bad_id_before_bad_group", I, pl(type_="delete", target="x", group="ops"))
    fails("order.bad_id_before_both", I, pl(type_="delete", target="x", group=G, to="bob"))

    # ------------------------------------------------ 4. bad_group
    for label, group in (("name", "ops"), ("upper_case", G.upper()), ("31_digits", G[1:]),
                         ("empty", ""), ("trailing_newline", G + "\n")):
        fails(f"bad_group.{label}", GR, pl(type_="delete", target=ID, group=group))
    fails("order.bad_group_before_bad_to", GR, pl(type_="delete", target=ID, group="ops", to="Bob"))
    fails("order.bad_group_before_both", GR, pl(type_="delete", target=ID, group="ops", to="bob"))
    fails("order.bad_group_before_large_body", GR, pl(type_="edit", target=ID, body="x" * (MIB4 + 1),
                                                      group="ops"))

    # ------------------------------------------------ 5. bad_fields (where)
    for label, to in (("upper_case", "Bob"), ("too_short", "bo"), ("33_bytes", "b" * 33),
                      ("trailing_newline", "bob\n"), ("leading_dot", ".bob"), ("space", "bo b")):
        fails(f"bad_to.{label}", F, pl(type_="delete", target=ID, to=to))
    reads("to.32_bytes", pl(type_="delete", target=ID, to="b" * 32), type="delete", target=ID, to="b" * 32)
    reads("to.punctuation", pl(type_="delete", target=ID, to="0a_.-"), type="delete", target=ID, to="0a_.-")
    fails("both_group_and_to", F, pl(type_="react", target=ID, author="bob", emoji="👍", group=G, to="bob"))
    fails("order.both_before_large_body", F, pl(type_="edit", target=ID, body="x" * (MIB4 + 1),
                                                 group=G, to="bob"))
    fails("order.bad_to_before_large_body", F, pl(type_="edit", target=ID, body="x" * (MIB4 + 1), to="B"))

    # ------------------------------------------------ 6. body_too_large
    reads("body.4_mib", pl(type_="edit", target=ID, body="x" * MIB4), type="edit", target=ID, body="x" * MIB4)
    fails("body.4_mib_and_1", B, pl(type_="edit", target=ID, body="x" * (MIB4 + 1)))
    reads("body.4_mib_of_two_byte_characters", pl(type_="edit", target=ID, body="é" * (MIB4 // 2)),
          type="edit", target=ID, body="é" * (MIB4 // 2))
    fails("body.counted_in_utf8_bytes", B, pl(type_="edit", target=ID, body="é" * (MIB4 // 2) + "x"))
    # Counted after unescaping: 4 MiB of "\n" is 8 MiB of JSON text.
    reads("body.counted_after_unescaping", good_start + b'"' + b"\\n" * MIB4 + b'"}',
          type="edit", target=ID, body="\n" * MIB4)
    reads("body.empty", pl(type_="edit", target=ID, body=""), type="edit", target=ID, body="")
    reads("body.only_edits", pl(type_="delete", target=ID, body="x" * (MIB4 + 1)), type="delete", target=ID)

    # ------------------------------------------------ 7. bad_fields (react)
    def react_with(emoji, author="bob") -> bytes:
        return pl(type_="react", target=ID, author=author, emoji=emoji)

    for label, author in (("one_letter", "b"), ("upper_case", "Bob"), ("empty", ""),
                          ("trailing_newline", "bob\n")):
        fails(f"bad_author.{label}", F, react_with("👍", author))
    flag = "🏳️‍🌈"  # 14 bytes: U+1F3F3 U+FE0F U+200D U+1F308
    for label, emoji in (
        ("empty", ""),
        ("33_bytes", flag * 2 + "👍x"),
        ("space", "👍 👍"),
        ("tab", "👍\t"),
        ("no_break_space", "👍\u00a0"),
        ("ideographic_space", "\u3000"),
        ("line_separator", "\u2028"),
        ("next_line", "\u0085"),
        ("escape", "\x1b[2J"),
        ("nul", "\x00"),
        ("delete", "\x7f"),
        ("c1_control", "\x9b"),
    ):
        fails(f"bad_emoji.{label}", F, react_with(emoji))
    for label, emoji in (
        ("32_bytes", flag * 2 + "👍"),
        ("1_byte", "x"),
        ("skin_tone_and_joiners", "👩🏽‍💻"),
        ("two_emoji", "👍👍"),  # readers do not check that it is one
        ("letters", "ab"),
        ("joiner_alone", "\u200d"),
        ("zero_width_space", "\u200b"),  # Cf, not White_Space
    ):
        reads(f"emoji.{label}", react_with(emoji), type="react", target=ID, author="bob", emoji=emoji)
    fails("order.bad_id_before_bad_emoji", I, pl(type_="react", target="x", author="bob", emoji=""))
    fails("order.bad_group_before_bad_author", GR, pl(type_="react", target=ID, author="b", emoji="👍",
                                                      group="ops"))

    # --------------------------------------------------------- the writer
    # §4's escaping, byte for byte: only " \ and U+0000-U+001F are escaped.
    body = '\x00\x01\x1f\x7f\x08\x0c\n\r\t"\\/\u2028\x85é👍'
    want = (b'{"type":"edit","target":"' + id_ + b'","body":"'
            + b'\\u0000\\u0001\\u001f\x7f\\b\\f\\n\\r\\t\\"\\\\/' + "\u2028\x85é👍".encode() + b'"}')
    writes("escaping", pl(type_="edit", target=ID, body=body), want)
    check("json_string.plain", json_string("hi") == '"hi"')
    check("json_string.lowercase_hex", json_string("\x1b\x1f") == '"\\u001b\\u001f"', json_string("\x1b\x1f"))
    fields = {"type": "react", "target": ID, "body": None, "author": "bob", "emoji": None, "group": None,
              "to": "carol"}
    try:
        written = write_change(fields)
        check("writer.order", written == b'{"type":"react","target":"' + id_
              + b'","author":"bob","emoji":null,"to":"carol"}', repr(written))
        check("writer.reads_back", read_change(written) == fields)
    except (ValueError, ChangeError) as e:
        check("writer.order", False, repr(e))
    refused_by_writer("writer.author_in_an_edit", {**fields, "type": "edit", "body": "x"})
    refused_by_writer("writer.body_in_a_delete", {**fields, "type": "delete", "author": None, "body": "x"})
    refused_by_writer("writer.not_a_change", {**fields, "type": "text"})
    refused_by_writer("writer.member_missing", {k: v for k, v in fields.items() if k != "body"})
    refused_by_writer("writer.member_extra", {**fields, "reason": None})
    refused_by_writer("writer.bad_target", {**fields, "target": ID.upper()})
    refused_by_writer("writer.bad_emoji", {**fields, "emoji": "👍 "})
    refused_by_writer("writer.both_group_and_to", {**fields, "group": G})
    refused_by_writer("writer.unpaired_surrogate", {**fields, "author": "bo\ud800"})
    refused_by_writer("writer.body_too_large", {**fields, "type": "edit", "author": None, "emoji": None,
                                                "body": "x" * (MIB4 + 1)})
    refused_by_writer("writer.number", {**fields, "author": 5})

    if failures:
        raise AssertionError("changes selftest: " + "; ".join(failures))
    return passed


if __name__ == "__main__":
    print(f"changes selftest: {selftest()} checks passed")
