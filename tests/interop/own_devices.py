"""Independent Python reading of one account on several devices
(docs/PROTOCOL.md §11), written from the text of §11, §4 (payloads), §2
(cards) and the Notation list only; no chatd source was read. Depends on the
JSON, card and id helpers of protocol_v1.py (themselves written from §1-§6).

Covers:

* check_own_payload / failed_rule: does a decrypted payload that a device
  receives from its own account follow the written rules of its kind?
  `text` with `to` (§11.1), a `receipt` of kind `read` (§11.2),
  `device_added` (§11.3) and `contact` (§11.4). A failure names the rule
  (RULES lists them all, with where each comes from).
* apply_contact: §11.4's last-writer rule, a pure function over a dict of
  contacts: stamp (at, device), removals keep their stamp, verification only
  moves forward for one fingerprint, another fingerprint for a pinned
  contact changes nothing.
* writers in chatd's form (§4: compact, members in the order of the table;
  §2: card members v, user, enc, sig), to compare the vectors' bytes with.
* selftest(): the cases §11.4 lists, run against the rule above.

Interpretation choices where the text leaves room (each is also in the
review report):

* Duplicate member names anywhere in the payload are refused (rule `json`):
  §4 says senders must not repeat them (chatd reads the last value), and §2
  refuses them in cards, which a `contact` payload carries.
* "present exactly when `state` is not `removed`": a member is present when
  its name is in the object, whatever its value; `"card":null` with
  `removed` is a card present (`contact_card_presence`), and with `pinned`
  it is a card that is not a JSON object (`contact_card_object`).
* `at` ("when the change was made, ms") follows the number rule of the
  Notation list (a JSON integer, no fraction, no exponent, not a boolean)
  and the range of the envelope's `ts` in the same unit, 0 <= at < 2^64.
* A card inside a payload is checked as §2 says of a card text, on its
  compact serialization (the 8192-byte limit included).
* §11.3's `name`: "1 to 32 bytes" are bytes of UTF-8 (Notation: all text is
  UTF-8), counted after JSON unescaping; "control characters" are Unicode
  general category Cc (U+0000-U+001F, U+007F and U+0080-U+009F). Format
  characters (Cf, e.g. U+202E) are not control characters here.
* A `text` from the own account follows §4 as well (`body`, `reply_to`);
  `reply_to` may be `null` ("message id, or `null` for none"). `to` naming
  the own account is not refused here: the payload alone does not say which
  account it came from (check_vectors.py checks the envelope's recipients).
* A `delivered` receipt from the own account is not malformed: §11.2 says
  it "means nothing and is ignored". It fails `receipt_not_read`, a rule of
  its own, so that it is not mistaken for a §4 failure.
* §11.4 separates the table's rules ("a payload that breaks these rules is
  malformed and dropped") from "if it parses (§2) and its `user` is `user`"
  when the change is applied. check_own_payload checks both (a sender must
  never send a card that does not parse); apply_contact drops a payload that
  breaks the table's rules before any stamp is compared, and a change whose
  card does not parse or names another user changes nothing (the stamp
  does not move either: the text does not say it does).
* A contact without a stamp (stamp None: one restored from a backup or a
  link, whose §10.1 contents carry no stamps) counts as older than any
  received change.
* A removal for a contact this device never had still keeps its stamp, so
  that an older pin arriving later does not bring the contact back ("for
  every contact it has or had" is read to include one known only by a
  removal).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

import protocol_v1 as v1
from protocol_v1 import compact_json, is_id, is_int, is_username, strict_json_loads

# ---------------------------------------------------------------------------
# Constants

OWN_TYPES = ("text", "receipt", "device_added", "contact")
CONTACT_STATES = ("pinned", "verified", "removed")
NAME_MAX_BYTES = 32  # §11.3
DEVICE_RE = re.compile(r"[0-9a-f]{16}")  # §11.4, used with fullmatch
AT_LIMIT = 2**64  # as the envelope's ts (§6), see the notes above

# Every rule a payload can fail, with where it is written.
RULES = {
    "json": "§4/Notation: UTF-8 RFC 8259 JSON, no unpaired surrogate, no repeated member",
    "object": "§4: the payload is one JSON object",
    "type": "§4: a string `type`, here one of text, receipt, device_added, contact",
    "text_body": "§4: `body` a string of at most 4,194,304 bytes of UTF-8",
    "text_reply_to": "§4: `reply_to`, if present, a message id or null",
    "text_to": "§11.1: `to` the contact's username (a text without `to` is dropped)",
    "receipt_ids": "§4: `ids` a non-empty array of message ids",
    "receipt_kind": "§4: `kind` is delivered or read",
    "receipt_not_read": "§11.2: a delivered receipt from the own account is ignored",
    "name_string": "§11.3: `name` is the device's name (a string)",
    "name_length": "§11.3: `name` is 1 to 32 bytes",
    "name_control": "§11.3: `name` has no control characters",
    "contact_user": "§11.4: `user` a username",
    "contact_state": "§11.4: `state` pinned, verified or removed",
    "contact_card_presence": "§11.4: `card` present exactly when `state` is not removed",
    "contact_card_object": "§11.4: `card` a JSON object",
    "contact_card": "§11.4/§2: the card parses as a card",
    "contact_card_user": "§11.4: the card's `user` is `user`",
    "contact_at": "§11.4: `at` when the change was made, ms (an integer)",
    "contact_device": "§11.4: `device` 16 lowercase hex digits",
}

# The rules of §11.4's table; breaking one makes a `contact` payload
# "malformed and dropped". contact_card and contact_card_user are checked
# when the change is applied (see apply_contact).
CONTACT_TABLE_RULES = frozenset(
    ["contact_user", "contact_state", "contact_card_presence", "contact_card_object",
     "contact_at", "contact_device"]
)


class RuleError(Exception):
    """A payload that breaks a written rule; `.rule` is a key of RULES."""

    def __init__(self, rule: str, detail: str = ""):
        assert rule in RULES, rule
        super().__init__(f"{rule}: {detail}" if detail else rule)
        self.rule = rule
        self.detail = detail


# ---------------------------------------------------------------------------
# Checking a payload from the own account


def _load(payload) -> dict:
    """The payload as a dict. Bytes are read strictly (rule `json`); a dict
    (handy for building variants) is serialized compactly first, so it goes
    through the same reader."""
    if isinstance(payload, dict):
        payload = compact_json(payload)
    if not isinstance(payload, (bytes, bytearray)):
        raise TypeError("expected payload bytes or a dict")
    try:
        obj = strict_json_loads(bytes(payload))
    except ValueError as e:  # JSONDecodeError, UnicodeDecodeError, duplicates, surrogates
        raise RuleError("json", str(e)) from None
    if not isinstance(obj, dict):
        raise RuleError("object", f"a JSON {type(obj).__name__}")
    return obj


def is_device_id(s) -> bool:
    return isinstance(s, str) and DEVICE_RE.fullmatch(s) is not None


def is_control(ch: str) -> bool:
    """Unicode general category Cc: C0 controls, DEL and C1 controls."""
    return unicodedata.category(ch) == "Cc"


def _check_text(obj: dict) -> None:
    body = obj.get("body")
    if not isinstance(body, str):
        raise RuleError("text_body", "missing or not a string")
    if len(body.encode("utf-8")) > v1.BODY_MAX_BYTES:
        raise RuleError("text_body", "over 4 MiB of UTF-8")
    if "reply_to" in obj and obj["reply_to"] is not None and not is_id(obj["reply_to"]):
        raise RuleError("text_reply_to", repr(obj["reply_to"]))
    if "to" not in obj:
        raise RuleError("text_to", "missing (§11.1: the text is dropped)")
    if not is_username(obj["to"]):
        raise RuleError("text_to", f"{obj['to']!r} is not a username")


def _check_receipt(obj: dict) -> None:
    ids = obj.get("ids")
    if not isinstance(ids, list) or not ids or not all(is_id(i) for i in ids):
        raise RuleError("receipt_ids", "not a non-empty array of message ids")
    kind = obj.get("kind")
    if kind == "delivered":
        raise RuleError("receipt_not_read", "a delivered receipt from the own account")
    if kind != "read":
        raise RuleError("receipt_kind", repr(kind))


def _check_device_added(obj: dict) -> None:
    name = obj.get("name")
    if not isinstance(name, str):
        raise RuleError("name_string", "missing or not a string")
    n = len(name.encode("utf-8"))  # strict_json_loads has refused lone surrogates
    if not (1 <= n <= NAME_MAX_BYTES):
        raise RuleError("name_length", f"{n} bytes")
    bad = [ch for ch in name if is_control(ch)]
    if bad:
        raise RuleError("name_control", f"U+{ord(bad[0]):04X}")


def _check_contact_table(obj: dict) -> None:
    """The rules of §11.4's table, in the table's order."""
    if not is_username(obj.get("user")):
        raise RuleError("contact_user", repr(obj.get("user")))
    state = obj.get("state")
    if not isinstance(state, str) or state not in CONTACT_STATES:
        raise RuleError("contact_state", repr(state))
    has_card = "card" in obj
    if has_card != (state != "removed"):
        raise RuleError(
            "contact_card_presence",
            f"state {state} with a card" if has_card else f"state {state} without a card",
        )
    if has_card and not isinstance(obj["card"], dict):
        raise RuleError("contact_card_object", f"a JSON {type(obj['card']).__name__}")
    at = obj.get("at")
    if not is_int(at) or not (0 <= at < AT_LIMIT):
        raise RuleError("contact_at", repr(at))
    if not is_device_id(obj.get("device")):
        raise RuleError("contact_device", repr(obj.get("device")))


def contact_card(obj: dict) -> v1.Card:
    """The card of a `contact` payload that passed the table's rules and is
    not a removal: parsed as §2 says (rule `contact_card`), naming `user`
    (rule `contact_card_user`)."""
    try:
        card = v1.parse_card(compact_json(obj["card"]))
    except v1.CardError as e:
        raise RuleError("contact_card", str(e)) from None
    if card.user != obj["user"]:
        raise RuleError("contact_card_user", f"card names {card.user!r}, user is {obj['user']!r}")
    return card


def check_own_payload(payload) -> dict:
    """Check a decrypted payload received from the own account against
    §4 and §11. `payload` is the payload bytes (or a dict). Returns the
    parsed object; raises RuleError naming the first rule it breaks."""
    obj = _load(payload)
    t = obj.get("type")
    if not isinstance(t, str) or t not in OWN_TYPES:
        raise RuleError("type", repr(t))
    if t == "text":
        _check_text(obj)
    elif t == "receipt":
        _check_receipt(obj)
    elif t == "device_added":
        _check_device_added(obj)
    else:
        _check_contact_table(obj)
        if obj["state"] != "removed":
            contact_card(obj)
    return obj


def failed_rule(payload) -> str | None:
    """The name of the rule `payload` breaks, or None if it follows them."""
    try:
        check_own_payload(payload)
    except RuleError as e:
        return e.rule
    return None


# ---------------------------------------------------------------------------
# Writers (chatd's form: §4 compact, table order; §2 card order)


def card_obj(card) -> dict:
    """A card as chatd writes it (§2): v, user, enc, sig."""
    c = v1.as_card(card)
    return {"v": 1, "user": c.user, "enc": v1.b64e(c.enc_der), "sig": v1.b64e(c.sig_der)}


def text_to_payload(body: str, to: str, reply_to: str | None = None) -> bytes:
    """§11.1: a text with `to` after the members of §4's table (§11.1's
    example puts it after `body`; where it goes next to `reply_to` is not
    written, so it is put last here)."""
    obj = {"type": "text", "body": body}
    if reply_to is not None:
        obj["reply_to"] = reply_to
    obj["to"] = to
    return compact_json(obj)


def read_receipt_payload(ids: list[str]) -> bytes:
    return v1.receipt_payload(ids, "read")


def device_added_payload(name: str) -> bytes:
    return compact_json({"type": "device_added", "name": name})


def contact_payload(user: str, state: str, card, at: int, device: str) -> bytes:
    obj = {"type": "contact", "user": user, "state": state}
    if state != "removed":
        obj["card"] = card_obj(card)
    obj["at"] = at
    obj["device"] = device
    return compact_json(obj)


# ---------------------------------------------------------------------------
# §11.4: the last writer wins


@dataclass(frozen=True)
class Contact:
    """One contact as a device keeps it. `state` is "pinned", "verified"
    (pinned and verified) or "removed" (forgotten, stamp kept); `card` the
    pinned card's JSON object (None when removed); `stamp` (at, device) of
    the last change, or None when not known (see the notes above)."""

    state: str
    card: dict | None
    stamp: tuple[int, str] | None

    def pinned(self) -> bool:
        return self.state in ("pinned", "verified")

    def fingerprint(self) -> str:
        return v1.as_card(self.card).fingerprint()


def stamp_of(obj: dict) -> tuple[int, str]:
    return (obj["at"], obj["device"])


def later(new: tuple[int, str], old: tuple[int, str] | None) -> bool:
    """§11.4: `at` first, then `device` compared as text (Python compares
    str by code point, which for ASCII is the byte order). Equal stamps are
    not later. No stamp is older than any."""
    if old is None:
        return True
    if new[0] != old[0]:
        return new[0] > old[0]
    return new[1] > old[1]


def apply_contact(contacts: dict, payload) -> tuple[dict, str]:
    """Apply one received `contact` payload (bytes or dict) to `contacts`
    ({username: Contact}). Pure: returns (a new dict, what happened); the
    argument is not changed. What happened is one of:

    malformed          the table's rules are broken: dropped
    not_later          the stamp is not later than the contact's
    removed            forgotten, stamp kept
    added              pinned (or pinned and verified) here from the card
    card_refused       a contact not pinned here, and the card does not
                       parse or names another user: nothing changes
    same_fingerprint   pinned here with this fingerprint: stamp moves on,
                       `verified` verifies, `pinned` does not unverify
    verified_merged    pinned here with this fingerprint, an older stamp,
                       `verified`: verified, the stamp stays
    other_fingerprint  pinned here with another fingerprint (or a card whose
                       fingerprint cannot be read): nothing changes
    """
    try:
        obj = _load(payload)
        if obj.get("type") != "contact":
            raise RuleError("type", repr(obj.get("type")))
        _check_contact_table(obj)
    except RuleError:
        return dict(contacts), "malformed"
    out = dict(contacts)
    user, state, stamp = obj["user"], obj["state"], stamp_of(obj)
    here = contacts.get(user)
    is_later = later(stamp, here.stamp if here is not None else None)
    if state == "removed":
        if not is_later:
            return out, "not_later"
        out[user] = Contact("removed", None, stamp)
        return out, "removed"
    if here is None or not here.pinned():
        if not is_later:
            return out, "not_later"
        try:
            card = contact_card(obj)
        except RuleError:
            return out, "card_refused"
        out[user] = Contact(state, card_obj(card), stamp)
        return out, "added"
    try:
        fp = contact_card(obj).fingerprint()
    except RuleError:
        return out, "other_fingerprint"
    if fp != here.fingerprint():
        # Whatever the stamp: never on anyone's word (an older one is simply
        # not later).
        return out, "other_fingerprint" if is_later else "not_later"
    if not is_later:
        # §11.4: `verified` marks the pinned key verified "whatever the
        # stamps" (merged, not ordered); the stamp stays.
        if state == "verified" and here.state != "verified":
            out[user] = Contact("verified", here.card, here.stamp)
            return out, "verified_merged"
        return out, "not_later"
    new_state = "verified" if (state == "verified" or here.state == "verified") else "pinned"
    out[user] = Contact(new_state, here.card, stamp)
    return out, "same_fingerprint"


# ---------------------------------------------------------------------------
# Self-test


def selftest(bob_card=None, other_bob_keys_card=None, alice_card=None) -> int:
    """The cases §11.4 lists, against apply_contact, plus the payload rules
    on a few fixed payloads. The cards may be given (JSON objects or Card):
    `bob_card` a card of bob, `other_bob_keys_card` any card with other keys
    (it is renamed to bob here), `alice_card` any card not of bob; missing
    ones are made from fresh 2048-bit keys. Returns the number of checks
    passed; raises AssertionError listing every failure."""
    failures: list[str] = []
    passed = 0

    def check(label: str, cond: bool, detail: str = "") -> None:
        nonlocal passed
        if cond:
            passed += 1
        else:
            failures.append(f"{label}: {detail or 'failed'}")

    def fresh(user: str) -> dict:
        return card_obj(v1.make_card(user, v1.generate_keypair(2048), v1.generate_keypair(2048)))

    bob = card_obj(bob_card) if bob_card is not None else fresh("bob")
    other = card_obj(other_bob_keys_card) if other_bob_keys_card is not None else fresh("bob")
    other = dict(other, user="bob")  # same user, other keys: another fingerprint
    alice = card_obj(alice_card) if alice_card is not None else fresh("alice")
    check("cards.other_fingerprint",
          v1.as_card(other).fingerprint() != v1.as_card(bob).fingerprint())
    check("cards.alice_not_bob", alice["user"] != "bob")

    D1, D2 = "5be0c1d7a4f29e36", "a000000000000000"  # D1 < D2 as text
    T = 1764000500000

    def change(state, at, device=D1, card=bob, user="bob"):
        obj = {"type": "contact", "user": user, "state": state}
        if state != "removed":
            obj["card"] = card
        obj["at"] = at
        obj["device"] = device
        return obj

    def step(label, contacts, payload, want_outcome, want=None):
        """Apply one change; check the outcome, that the argument did not
        change, and (if given) bob's entry afterwards (None: absent)."""
        before = dict(contacts)
        got, outcome = apply_contact(contacts, payload)
        check(f"lww.{label}.outcome", outcome == want_outcome, f"{outcome}, expected {want_outcome}")
        check(f"lww.{label}.pure", contacts == before, "the argument was changed")
        if want is not ...:
            check(f"lww.{label}.bob", got.get("bob") == want, f"{got.get('bob')}, expected {want}")
        return got

    bob_p = lambda stamp: Contact("pinned", bob, stamp)  # noqa: E731
    bob_v = lambda stamp: Contact("verified", bob, stamp)  # noqa: E731
    other_v = Contact("verified", other, (T, D1))
    gone = lambda stamp: Contact("removed", None, stamp)  # noqa: E731

    # A contact not pinned here: pinned, or pinned and verified, from the card.
    step("new_pinned", {}, change("pinned", T), "added", bob_p((T, D1)))
    step("new_verified", {}, change("verified", T), "added", bob_v((T, D1)))
    step("new_no_stamp_here", {"bob": Contact("removed", None, None)}, change("pinned", 0),
         "added", bob_p((0, D1)))
    # ... only if the card parses (§2) and its user is `user`
    step("new_card_other_user", {}, change("pinned", T, card=alice), "card_refused", None)
    step("new_card_extra_member", {}, change("pinned", T, card=dict(bob, x=1)), "card_refused", None)
    step("new_card_v_2", {}, change("verified", T, card=dict(bob, v=2)), "card_refused", None)
    step("new_card_bad_b64", {}, change("pinned", T, card=dict(bob, enc="!!")), "card_refused", None)
    # ... and a refused card leaves a removed contact's stamp where it was
    step("removed_then_bad_card", {"bob": gone((T, D1))}, change("pinned", T + 1, card=alice),
         "card_refused", gone((T, D1)))

    # The stamp: `at` first, then `device` compared as text; equal is not later.
    here = {"bob": bob_p((T, D2))}
    step("later_at_smaller_device", here, change("removed", T + 1, D1), "removed", gone((T + 1, D1)))
    step("earlier_at_larger_device", {"bob": bob_p((T, D1))}, change("removed", T - 1, D2),
         "not_later", bob_p((T, D1)))
    step("tie_at_device_larger", {"bob": bob_p((T, D1))}, change("removed", T, D2),
         "removed", gone((T, D2)))
    step("tie_at_device_smaller", here, change("removed", T, D1), "not_later", bob_p((T, D2)))
    step("same_stamp", {"bob": bob_p((T, D1))}, change("removed", T, D1), "not_later", bob_p((T, D1)))
    check("later.text_order", later((T, "a000000000000000"), (T, "9fffffffffffffff"))
          and not later((T, "0fffffffffffffff"), (T, "1000000000000000")))
    check("later.none_is_oldest", later((0, "0000000000000000"), None))

    # The last writer wins, removals included; a removed contact's stamp is kept.
    s = step("remove", {"bob": bob_v((T, D1))}, change("removed", T + 10, D1), "removed",
             gone((T + 10, D1)))
    step("older_pin_after_removal", s, change("verified", T + 5, D2), "not_later", gone((T + 10, D1)))
    step("newer_pin_after_removal", s, change("pinned", T + 11, D1), "added", bob_p((T + 11, D1)))
    s = step("remove_never_had", {}, change("removed", T + 10, D2), "removed", gone((T + 10, D2)))
    step("older_pin_after_never_had_removal", s, change("pinned", T, D1), "not_later",
         gone((T + 10, D2)))
    # a removal also ends a pin with another fingerprint (it carries no card)
    step("remove_other_fingerprint", {"bob": other_v}, change("removed", T + 1), "removed",
         gone((T + 1, D1)))

    # Pinned here with the same fingerprint: the stamp moves on; `verified`
    # verifies; `pinned` does not undo verification (only a removal does).
    step("same_fp_verify", {"bob": bob_p((T, D1))}, change("verified", T + 1, D2),
         "same_fingerprint", bob_v((T + 1, D2)))
    step("same_fp_pinned_keeps_verified", {"bob": bob_v((T, D1))}, change("pinned", T + 1, D2),
         "same_fingerprint", bob_v((T + 1, D2)))
    step("same_fp_pinned", {"bob": bob_p((T, D1))}, change("pinned", T + 1),
         "same_fingerprint", bob_p((T + 1, D1)))
    # the same card with its members in another order is the same fingerprint
    shuffled = {k: bob[k] for k in ("sig", "enc", "v", "user")}
    step("same_fp_member_order", {"bob": bob_p((T, D1))}, change("verified", T + 1, card=shuffled),
         "same_fingerprint", bob_v((T + 1, D1)))

    # Pinned here with another fingerprint: nothing changes, whatever the stamp.
    for label, st in (("pinned", "pinned"), ("verified", "verified")):
        step(f"other_fp_{label}_later", {"bob": other_v}, change(st, T + 1000, D2),
             "other_fingerprint", other_v)
    step("other_fp_older", {"bob": other_v}, change("verified", T - 1), "not_later", other_v)
    step("other_fp_pinned_not_verified", {"bob": Contact("pinned", other, (T, D1))},
         change("verified", T + 1), "other_fingerprint", Contact("pinned", other, (T, D1)))
    # ... and a card that does not parse cannot show the same fingerprint
    step("pinned_here_bad_card", {"bob": bob_p((T, D1))}, change("verified", T + 1, card=dict(bob, v=2)),
         "other_fingerprint", bob_p((T, D1)))

    # A payload that breaks the table's rules is malformed and dropped,
    # whatever its stamp.
    bad_removed = dict(change("removed", T + 1), card=bob)
    step("malformed_removed_with_card", {"bob": bob_p((T, D1))}, bad_removed, "malformed", bob_p((T, D1)))
    bad_pinned = change("pinned", T + 1)
    del bad_pinned["card"]
    step("malformed_pinned_without_card", {}, bad_pinned, "malformed", None)
    step("malformed_device", {"bob": bob_p((T, D1))}, change("removed", T + 1, "5BE0C1D7A4F29E36"),
         "malformed", bob_p((T, D1)))
    step("malformed_at_float", {"bob": bob_p((T, D1))}, dict(change("removed", T), at=T + 1.0),
         "malformed", bob_p((T, D1)))
    step("malformed_not_contact", {}, {"type": "text", "body": "x", "to": "bob"}, "malformed", None)
    # other contacts are left alone
    got, _ = apply_contact({"bob": bob_p((T, D1)), "alice": Contact("pinned", alice, None)},
                           change("removed", T + 1))
    check("lww.others_untouched", got.get("alice") == Contact("pinned", alice, None))

    # Two devices that each apply the other's change end in the same state
    # when the rule is a plain last-writer rule (here: pins and removals).
    x = {"bob": bob_p((T + 2, D1))}  # X pinned bob at T+2
    y = {"bob": gone((T + 3, D2))}  # Y removed bob at T+3
    x2, _ = apply_contact(x, change("removed", T + 3, D2))
    y2, _ = apply_contact(y, change("pinned", T + 2, D1))
    check("lww.converges_pin_remove", x2 == y2, f"X {x2} vs Y {y2}")
    # As written, "verification only moves forward" applies only to changes
    # that count, so two devices can stay apart: X verified bob at T+2, Y
    # pinned him (not knowing) at T+3. X takes Y's later `pinned` (same
    # fingerprint: stays verified); Y does not take X's older `verified`.
    x = {"bob": bob_v((T + 2, D1))}
    y = {"bob": bob_p((T + 3, D2))}
    x2, ox = apply_contact(x, change("pinned", T + 3, D2))
    y2, oy = apply_contact(y, change("verified", T + 2, D1))
    check("lww.verify_then_later_pin_converges",
          (ox, oy) == ("same_fingerprint", "verified_merged")
          and x2["bob"].state == "verified" and y2["bob"].state == "verified"
          and y2["bob"].stamp == (T + 3, D2),
          f"X {ox} {x2['bob'].state}, Y {oy} {y2['bob'].state}")

    # ----------------------------------------------------- payload examples
    # The example payloads of §11.1, §11.3 and §11.4, as the text gives them.
    for label, text in (
        ("example_11_1", b'{"type":"text","body":"deploy done","to":"bob"}'),
        ("example_11_3", b'{"type":"device_added","name":"laptop"}'),
        ("example_11_4", b'{"type":"contact","user":"bob","state":"removed",'
                         b'"at":1764000503000,"device":"5be0c1d7a4f29e36"}'),
    ):
        r = failed_rule(text)
        check(f"payload.{label}", r is None, f"fails {r}")
    # the writers give what they check
    for label, text in (
        ("write_text", text_to_payload("hi", "bob", "00112233445566778899aabbccddeeff")),
        ("write_read", read_receipt_payload(["00112233445566778899aabbccddeeff"])),
        ("write_device_added", device_added_payload("laptop")),
        ("write_contact", contact_payload("bob", "verified", bob, T, D1)),
        ("write_contact_removed", contact_payload("bob", "removed", None, T, D1)),
    ):
        r = failed_rule(text)
        check(f"payload.{label}", r is None, f"fails {r}")
    check("payload.write_contact_card_order",
          list(strict_json_loads(contact_payload("bob", "pinned", shuffled, T, D1))["card"])
          == ["v", "user", "enc", "sig"])

    if failures:
        raise AssertionError("; ".join(failures))
    return passed


if __name__ == "__main__":
    print(f"own_devices.selftest: {selftest()} checks passed")
