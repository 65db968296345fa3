"""Independent Python implementation of key transitions (docs/PROTOCOL.md §13).

Written from the spec text only (§13, and the Notation list, §1 keys, §2
cards and §3 fingerprints to which it refers); no chatd source was read.
Depends on the standard library, `cryptography` (RSA-PSS) and, by import,
the card, fingerprint, PSS parameter, lp / u64be, b64 and strict JSON
helpers of protocol_v1.py. Covers: what both keys sign (§13.2), making a
transition (§13.1) and checking one with the step order and error names of
§13.3. What a reader then does with one that passed (§13.4: counters above
every accepted one, replays, two cards from one old key) is the reader's
state, not the format, and is not covered.

Interpretation choices where the text leaves room (each is also in the
review report):

* "Over 16 KiB" is more than 16,384 bytes of the transition text, checked
  before parsing. The text is UTF-8 without BOM (Notation); a BOM or invalid
  UTF-8 is `malformed` (step 1). Whitespace around the JSON object is
  allowed, as RFC 8259 allows it; make_transition writes none.
* The Notation list refuses duplicate member names "in envelopes and
  cards"; a transition is neither, but carries a card. Here a duplicate
  member in the transition is refused too (`malformed`, step 1: not JSON
  as read here), and one inside `card` is `bad_card` (it is then not a
  card, §2).
* Step 1's "an integer `v`" is a JSON number written without fraction or
  exponent (the Notation's rule for `v` in envelopes and cards): `1.0`,
  `1e0`, `true` and `"1"` are `malformed`. Any other integer, negative or
  huge, is `unsupported` (step 2): the text gives this `v` no range, unlike
  the links' and backups' 0..2^32.
* The version is read before the rest (steps 1 and 2): `{"v":2}` with any
  other shape is `unsupported`.
* Member order and compactness are NOT checked when reading: §13.1's
  "compact, members in this order" is read as the writer's form, since step
  3 refuses "not exactly the members of §13.1", a set. (The vectors agree:
  most invalid entries are written with members sorted and expect the error
  of a later step.)
* `counter` "an integer within 0..2^64" is 0 <= counter < 2^64 (it is signed
  as u64be); 0 is accepted although "1 for the first rotation". `at` is given
  no range in the text; it is signed as u64be, so here it must be an integer
  in 0..2^64-1 as well. Either outside its range, or written as `1.0`, is
  `malformed` ("a member of the wrong type").
* `user` need only be a JSON string at step 3; one that is not the sender is
  `wrong_user` (step 4), whether or not it is a username.
* `card` must be a JSON string at step 3 (a card object in its place is
  `malformed`); whether it holds a card is step 6's question. The card text
  need not be chatd's writing form: the signatures cover its exact bytes,
  and §2 lets readers take a card's members in any order.
* Step 6 refuses a new card whose fingerprint is `old`, and nothing else of
  the kind: a new card that keeps one of the old keys (say the signing key)
  under a new encryption key, or that goes back to a card the user left
  earlier, passes.
* Signatures are strict canonical b64 at step 3, of any length there; at
  step 7 one whose length is not its key's modulus length does not verify
  (`bad_signature`), and neither does one made with a salt other than 32
  bytes (PSS as §1 gives it; the salt length is enforced here as in
  protocol_v1.py). `sig_old` is checked before `sig_new`; both failures have
  the one name.
* The pinned card `P` is the reader's own, already accepted; a pinned card
  that does not parse is the caller's error (protocol_v1.CardError), not one
  of §13.3's names.
* make_transition writes chatd's form (compact, §13.1's order, the new card
  as §2 writes it). Its PSS salts are random, so its signatures can never
  equal chatd's: the vectors are checked by verifying, not by reproducing.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding as asym_padding
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.asymmetric.utils import Prehashed

import protocol_v1 as v1

# ---------------------------------------------------------------------------
# Constants (§13)

TRANSITION_MAX_BYTES = 16 * 1024  # 16,384: "At most 16 KiB of text"
TRANSITION_TAG = b"chat-transition-v1\0"  # 19 bytes
U64_LIMIT = 2**64  # counter and at are signed as u64be

# §13.1's members, in the order chatd writes them.
TRANSITION_ORDER = ("v", "user", "old", "card", "counter", "at", "sig_old", "sig_new")
TRANSITION_MEMBERS = frozenset(TRANSITION_ORDER)

OLD_RE = re.compile(r"[0-9a-f]{64}")  # used with fullmatch: lowercase only

# §13.3's names, in the order of its steps.
ERROR_NAMES = (
    "malformed",
    "unsupported",
    "wrong_user",
    "not_pinned",
    "bad_card",
    "bad_signature",
)


class TransitionError(Exception):
    """A refused transition; `.name` is one of the §13.3 step names."""

    def __init__(self, name: str, detail: str = ""):
        assert name in ERROR_NAMES, name
        super().__init__(f"{name}: {detail}" if detail else name)
        self.name = name
        self.detail = detail


@dataclass(frozen=True)
class Transition:
    """A transition that passed §13.3: the sender moves to `card`."""

    user: str
    old: str  # the fingerprint of the card left (64 lowercase hex)
    card: v1.Card  # the new card, parsed
    card_text: str  # exactly the text that was signed
    counter: int
    at: int


# ---------------------------------------------------------------------------
# What both keys sign (§13.2)


def transition_message(user: str, old: str, card_text: str, counter: int, at: int,
                       tag: bytes = TRANSITION_TAG) -> bytes:
    """m = tag || lp(user) || OLD || lp(card) || u64be(counter) || u64be(at).
    `old` is the 64-hex fingerprint; its 32 bytes, not the hex, are signed.
    (`tag` is a parameter only so the self-test can sign another domain.)"""
    old_bytes = bytes.fromhex(old)
    assert len(old_bytes) == 32, "a fingerprint is 32 bytes"
    return (
        tag
        + v1.lp(user.encode("utf-8"))
        + old_bytes
        + v1.lp(card_text.encode("utf-8"))
        + v1.u64be(counter)
        + v1.u64be(at)
    )


def pss_sign(private_key: rsa.RSAPrivateKey, m: bytes) -> bytes:
    """RSASSA-PSS as §1 gives it (SHA-256, MGF1 SHA-256, salt 32 bytes) over
    the message itself: the library hashes m, the caller does not."""
    return private_key.sign(m, v1.PSS, hashes.SHA256())


def pss_verify(public_key: rsa.RSAPublicKey, sig: bytes, m: bytes) -> bool:
    """True when `sig` is a §1 PSS signature of m by `public_key`. A
    signature of another length than the modulus never verifies (OpenSSL
    would also accept a shorter one with leading zero bytes left out)."""
    if len(sig) != (public_key.key_size + 7) // 8:
        return False
    try:
        public_key.verify(sig, m, v1.PSS, hashes.SHA256())  # salt length 32 enforced
    except InvalidSignature:
        return False
    return True


# ---------------------------------------------------------------------------
# The transition (§13.1)


def transition_text(user: str, old: str, card_text: str, counter: int, at: int,
                    sig_old: bytes, sig_new: bytes) -> bytes:
    """The JSON text as chatd writes it: compact, §13.1's order, the card as
    a JSON string. Checks nothing (tests need bad transitions too)."""
    obj = {
        "v": 1,
        "user": user,
        "old": old,
        "card": card_text,
        "counter": counter,
        "at": at,
        "sig_old": v1.b64e(sig_old),
        "sig_new": v1.b64e(sig_new),
    }
    assert tuple(obj) == TRANSITION_ORDER
    return v1.compact_json(obj)


def sign_transition(old_sig_private: rsa.RSAPrivateKey, new_sig_private: rsa.RSAPrivateKey,
                    user: str, old: str, card_text: str, counter: int, at: int) -> bytes:
    """§13.1 and §13.2 from their parts: both keys sign m. `old` and
    `card_text` are taken as given (the self-test signs odd ones)."""
    m = transition_message(user, old, card_text, counter, at)
    return transition_text(user, old, card_text, counter, at,
                           pss_sign(old_sig_private, m), pss_sign(new_sig_private, m))


def make_transition(old_private_keys, new_private_keys, user: str, counter: int, at: int) -> bytes:
    """A user's transition from the card of `old_private_keys` to the card of
    `new_private_keys`, each an (encryption, signing) pair of RSA private
    keys. Returns the transition text (UTF-8 bytes) as chatd writes it; the
    PSS salts are fresh, so two calls give different signatures."""
    if not v1.is_username(user):
        raise ValueError("invalid username")
    for name, x in (("counter", counter), ("at", at)):
        if not v1.is_int(x) or not 0 <= x < U64_LIMIT:
            raise ValueError(f"{name} is not an integer in 0..2^64-1")
    old_enc, old_sig = old_private_keys
    new_enc, new_sig = new_private_keys
    old_card = v1.make_card(user, old_enc, old_sig)
    new_card = v1.make_card(user, new_enc, new_sig)
    card_text = new_card.to_json_bytes().decode("ascii")  # §2's writing form
    return sign_transition(old_sig, new_sig, user, old_card.fingerprint(), card_text, counter, at)


# ---------------------------------------------------------------------------
# Checking one (§13.3)


def _malformed(detail: str) -> TransitionError:
    return TransitionError("malformed", detail)


def _b64(obj: dict, name: str) -> bytes:
    s = obj[name]
    if not isinstance(s, str):
        raise _malformed(f"{name} is not a string")
    try:
        return v1.b64d_strict(s)
    except ValueError as e:
        raise _malformed(f"{name}: {e}") from None


def check_transition(text, sender: str, pinned_card) -> Transition:
    """§13.3: a transition that came from `sender` (the envelope's verified
    sender), whose pinned card is `pinned_card` (a Card, a card object, or
    card text). Returns what it says, or raises TransitionError(name) at the
    first step that fails."""
    if isinstance(text, str):
        text = text.encode("utf-8")
    text = bytes(text)
    pinned = v1.as_card(pinned_card)  # the reader's own; CardError if not a card

    # 1. malformed: over 16 KiB, or not a JSON object with an integer v.
    if len(text) > TRANSITION_MAX_BYTES:
        raise _malformed(f"{len(text)} bytes, over 16 KiB")
    try:
        obj = v1.strict_json_loads(text)
    except ValueError as e:  # JSONDecodeError, UnicodeDecodeError, BOM, duplicates
        raise _malformed(f"not JSON: {e}") from None
    if not isinstance(obj, dict):
        raise _malformed("not a JSON object")
    if "v" not in obj or not v1.is_int(obj["v"]):
        raise _malformed("no integer v")

    # 2. unsupported: v is not 1 (whatever the rest looks like).
    if obj["v"] != 1:
        raise TransitionError("unsupported", f"v={obj['v']}")

    # 3. malformed: the members of §13.1 (as a set), their types, old as
    # 64 lowercase hex digits, the signatures as b64.
    keys = set(obj)
    if keys != TRANSITION_MEMBERS:
        raise _malformed(f"unknown {sorted(keys - TRANSITION_MEMBERS)} / "
                         f"missing {sorted(TRANSITION_MEMBERS - keys)}")
    user = obj["user"]
    if not isinstance(user, str):
        raise _malformed("user is not a string")
    old = obj["old"]
    if not isinstance(old, str) or OLD_RE.fullmatch(old) is None:
        raise _malformed("old is not 64 lowercase hex digits")
    card_text = obj["card"]
    if not isinstance(card_text, str):
        raise _malformed("card is not a string")
    for name in ("counter", "at"):
        if not v1.is_int(obj[name]) or not 0 <= obj[name] < U64_LIMIT:
            raise _malformed(f"{name} is not an integer within 0..2^64")
    counter, at = obj["counter"], obj["at"]
    sig_old = _b64(obj, "sig_old")
    sig_new = _b64(obj, "sig_new")

    # 4. wrong_user: user is not the envelope's sender.
    if user != sender:
        raise TransitionError("wrong_user", f"user {user!r}, sender {sender!r}")

    # 5. not_pinned: old is not the fingerprint of the pinned card.
    if old != pinned.fingerprint():
        raise TransitionError("not_pinned", f"old {old} is not the pinned {pinned.fingerprint()}")

    # 6. bad_card: not a card, another user's, or the card being left.
    try:
        card = v1.parse_card(card_text.encode("utf-8"))
    except v1.CardError as e:
        raise TransitionError("bad_card", str(e)) from None
    if card.user != sender:
        raise TransitionError("bad_card", f"card of {card.user!r}, sender {sender!r}")
    if card.fingerprint() == old:
        raise TransitionError("bad_card", "the new card's fingerprint is old")

    # 7. bad_signature: both keys must have signed m, the old one first.
    m = transition_message(user, old, card_text, counter, at)
    if not pss_verify(pinned.sig_key, sig_old, m):
        raise TransitionError("bad_signature", "sig_old does not verify with the pinned card's key")
    if not pss_verify(card.sig_key, sig_new, m):
        raise TransitionError("bad_signature", "sig_new does not verify with the new card's key")
    return Transition(user, old, card, card_text, counter, at)


# ---------------------------------------------------------------------------
# Self-test (no vectors file needed)


def selftest() -> int:
    """Checks this module against itself with fresh 2048-bit keys: a round
    trip, the failure of each step of §13.3 and their order, transitions
    signed by only one of the two keys, and that every signed member is
    bound. Returns the number of checks passed; raises AssertionError
    listing every failure."""
    failures: list[str] = []
    passed = 0

    def check(label: str, cond: bool, detail: str = "") -> None:
        nonlocal passed
        if cond:
            passed += 1
        else:
            failures.append(f"{label}: {detail or 'failed'}")

    def fails(label: str, want: str, text, sender: str = "alice", pinned=None, why: str = "") -> None:
        # `why`, when given, must start the failure's detail (which of the
        # two signatures failed, say).
        try:
            check_transition(text, sender, old_card if pinned is None else pinned)
            check(label, False, f"accepted, expected {want}")
        except TransitionError as e:
            check(label, e.name == want and e.detail.startswith(why),
                  f"got {e.name} ({e.detail}), expected {want} ({why or 'any detail'})")

    def passes(label: str, text, sender: str = "alice", pinned=None) -> Transition | None:
        try:
            got = check_transition(text, sender, old_card if pinned is None else pinned)
            check(label, True)
            return got
        except TransitionError as e:
            check(label, False, f"refused with {e.name} ({e.detail})")
            return None

    gen = v1.generate_keypair
    old_enc, old_sig = gen(2048), gen(2048)
    new_enc, new_sig = gen(2048), gen(2048)
    third_enc, third_sig = gen(2048), gen(2048)
    other_sig = gen(2048)  # a key of the same size that is neither
    old_card = v1.make_card("alice", old_enc, old_sig)
    new_card = v1.make_card("alice", new_enc, new_sig)
    old_fp = old_card.fingerprint()
    new_text = new_card.to_json_bytes().decode("ascii")
    AT = 1764000000000

    # ------------------------------------------------------ round trip
    good = make_transition((old_enc, old_sig), (new_enc, new_sig), "alice", 1, AT)
    got = passes("round_trip", good)
    if got is not None:
        check("round_trip.fields",
              (got.user, got.old, got.counter, got.at, got.card_text) == ("alice", old_fp, 1, AT, new_text)
              and (got.card.enc_der, got.card.sig_der) == (new_card.enc_der, new_card.sig_der),
              repr(got)[:200])
    obj = v1.strict_json_loads(good)
    check("form.order_compact", tuple(obj) == TRANSITION_ORDER and v1.compact_json(obj) == good,
          good[:120].decode())
    check("form.sig_sizes", len(v1.b64d_strict(obj["sig_old"])) == 256
          and len(v1.b64d_strict(obj["sig_new"])) == 256)
    again = make_transition((old_enc, old_sig), (new_enc, new_sig), "alice", 1, AT)
    check("form.fresh_salts", again != good and v1.strict_json_loads(again)["sig_old"] != obj["sig_old"])
    passes("round_trip.again", again)
    # A second rotation from the card the first moved to; the old pin is
    # then not the one signed for.
    second = make_transition((new_enc, new_sig), (third_enc, third_sig), "alice", 2, AT + 1)
    passes("second_rotation", second, pinned=new_card)
    fails("second_rotation.old_pin", "not_pinned", second)
    # Back to the card left earlier: only "its fingerprint is old" is refused.
    passes("back_to_an_earlier_card",
           make_transition((new_enc, new_sig), (old_enc, old_sig), "alice", 2, AT + 2), pinned=new_card)
    # Card given as text or object, as well as parsed.
    passes("pinned_as_text", good, pinned=old_card.to_json_bytes())
    passes("pinned_as_object", good, pinned=v1.strict_json_loads(old_card.to_json_bytes()))

    def sub(data: bytes, old: bytes, new: bytes) -> bytes:
        """`data` with the first `old` replaced; `old` must be there."""
        assert old in data, (old, data[:80])
        return data.replace(old, new, 1)

    def mut(base: bytes = good, **kw) -> bytes:
        """The members of `base` with some replaced (or removed with None),
        compact, in §13.1's order then any new ones."""
        d = v1.strict_json_loads(base)
        for k, x in kw.items():
            if x is None:
                d.pop(k, None)
            else:
                d[k] = x
        return v1.compact_json(d)

    # ---------------------------------------------- what readers allow
    passes("reader.members_reversed", v1.compact_json(dict(reversed(list(obj.items())))))
    passes("reader.spaces", b" \n" + good.replace(b'","', b'", "') + b"\n")
    passes("reader.exactly_16_kib", good + b" " * (TRANSITION_MAX_BYTES - len(good)))
    passes("reader.counter_0", sign_transition(old_sig, new_sig, "alice", old_fp, new_text, 0, AT))
    passes("reader.counter_max", sign_transition(old_sig, new_sig, "alice", old_fp, new_text, U64_LIMIT - 1, AT))
    passes("reader.at_0", sign_transition(old_sig, new_sig, "alice", old_fp, new_text, 1, 0))
    passes("reader.at_max", sign_transition(old_sig, new_sig, "alice", old_fp, new_text, 1, U64_LIMIT - 1))
    # The card need not be in chatd's form if that is what was signed.
    card_obj = v1.strict_json_loads(new_card.to_json_bytes())
    odd_card = v1.compact_json(dict(reversed(list(card_obj.items())))).decode("ascii").replace(",", ", ")
    passes("reader.card_members_reordered_signed",
           sign_transition(old_sig, new_sig, "alice", old_fp, odd_card, 1, AT))
    same_key_card = v1.make_card("alice", new_sig, new_sig).to_json_bytes().decode("ascii")
    passes("reader.card_enc_is_sig",
           sign_transition(old_sig, new_sig, "alice", old_fp, same_key_card, 1, AT))
    keeps_sig = v1.make_card("alice", new_enc, old_sig).to_json_bytes().decode("ascii")
    passes("reader.card_keeps_old_sig_key",
           sign_transition(old_sig, old_sig, "alice", old_fp, keeps_sig, 1, AT))
    big_card = new_text[:-1] + " " * (v1.CARD_MAX_BYTES - len(new_text)) + "}"
    passes("reader.card_8192_bytes", sign_transition(old_sig, new_sig, "alice", old_fp, big_card, 1, AT))

    # ------------------------------------------ 1 and 3: malformed
    M = "malformed"
    fails("malformed.over_16_kib", M, good + b" " * (TRANSITION_MAX_BYTES + 1 - len(good)))
    fails("malformed.truncated", M, good[:-1])
    fails("malformed.empty", M, b"")
    fails("malformed.array", M, b"[" + good + b"]")
    fails("malformed.bom", M, b"\xef\xbb\xbf" + good)
    fails("malformed.not_utf8", M, sub(good, b'"alice"', b'"alic\xff"'))
    fails("malformed.duplicate_member", M, good[:-1] + b',"counter":1}')
    fails("malformed.no_v", M, mut(v=None))
    fails("malformed.v_float", M, sub(good, b'{"v":1,', b'{"v":1.0,'))
    fails("malformed.v_exponent", M, sub(good, b'{"v":1,', b'{"v":1e0,'))
    fails("malformed.v_true", M, mut(v=True))
    fails("malformed.v_string", M, mut(v="1"))
    fails("malformed.unknown_member", M, mut(x=1))
    for name in TRANSITION_ORDER[1:]:
        fails(f"malformed.missing_{name}", M, mut(**{name: None}))
    fails("malformed.user_not_string", M, mut(user=["alice"]))
    fails("malformed.old_uppercase", M, mut(old=old_fp.upper()))
    fails("malformed.old_63", M, mut(old=old_fp[:63]))
    fails("malformed.old_65", M, mut(old=old_fp + "0"))
    fails("malformed.old_spaced", M, mut(old=v1.format_fingerprint(old_fp)))
    fails("malformed.old_b64", M, mut(old=v1.b64e(bytes.fromhex(old_fp))))
    fails("malformed.card_object", M, mut(card=card_obj))
    fails("malformed.card_null", M, v1.compact_json(dict(obj, card=None)))
    for name in ("counter", "at"):
        fails(f"malformed.{name}_negative", M, mut(**{name: -1}))
        fails(f"malformed.{name}_2_64", M, mut(**{name: U64_LIMIT}))
        fails(f"malformed.{name}_string", M, mut(**{name: "1"}))
        fails(f"malformed.{name}_true", M, mut(**{name: True}))
    fails("malformed.counter_float", M, sub(good, b'"counter":1,', b'"counter":1.0,'))
    fails("malformed.at_exponent", M, sub(good, b'"at":%d,' % AT, b'"at":1.764e12,'))
    s = obj["sig_old"]
    fails("malformed.sig_old_no_padding", M, mut(sig_old=s.rstrip("=") if s.endswith("=") else s + "="))
    fails("malformed.sig_old_urlsafe", M, mut(sig_old=s.replace("+", "-").replace("/", "_")
                                           if ("+" in s or "/" in s) else "-" + s[1:]))
    fails("malformed.sig_new_whitespace", M, mut(sig_new=obj["sig_new"][:8] + "\n" + obj["sig_new"][8:]))
    fails("malformed.sig_new_not_string", M, mut(sig_new=[obj["sig_new"]]))

    # ------------------------------------------------ 2: unsupported
    U = "unsupported"
    fails("unsupported.v_2", U, mut(v=2))
    fails("unsupported.v_0", U, mut(v=0))
    fails("unsupported.v_negative", U, mut(v=-1))
    fails("unsupported.v_2_other_shape", U, b'{"v":2}')
    fails("unsupported.v_2_extra_member", U, mut(v=2, x=1))

    # ----------------------------------------------- 4: wrong_user
    fails("wrong_user.other_sender", "wrong_user", good, sender="bob")
    fails("wrong_user.sender_case", "wrong_user", good, sender="Alice")
    fails("wrong_user.user_not_a_username", "wrong_user", mut(user="Alice"))

    # ----------------------------------------------- 5: not_pinned
    other_card = v1.make_card("alice", new_enc, other_sig)
    fails("not_pinned.other_pin", "not_pinned", good, pinned=other_card)
    fails("not_pinned.old_of_another", "not_pinned", mut(old=other_card.fingerprint()))
    fails("not_pinned.old_zero", "not_pinned", mut(old="0" * 64))

    # ------------------------------------------------- 6: bad_card
    B = "bad_card"

    def signed_card(text: str) -> bytes:
        # Properly signed by both keys, so only the card is wrong.
        return sign_transition(old_sig, new_sig, "alice", old_fp, text, 1, AT)

    fails("bad_card.not_json", B, signed_card(new_text[:-1]))
    fails("bad_card.empty", B, signed_card(""))
    fails("bad_card.array", B, signed_card("[" + new_text + "]"))
    fails("bad_card.extra_member", B, signed_card(new_text[:-1] + ',"x":1}'))
    fails("bad_card.duplicate_member", B, signed_card(new_text[:-1] + ',"v":1}'))
    fails("bad_card.v_2", B, signed_card(new_text.replace('"v":1', '"v":2', 1)))
    fails("bad_card.user_invalid", B, signed_card(new_text.replace('"alice"', '"Alice"', 1)))
    fails("bad_card.other_user", B, signed_card(v1.make_card("bob", new_enc, new_sig).to_json_bytes().decode()))
    fails("bad_card.same_card", B, signed_card(old_card.to_json_bytes().decode()))
    fails("bad_card.same_card_reordered", B,
          signed_card(v1.compact_json(dict(reversed(list(
              v1.strict_json_loads(old_card.to_json_bytes()).items())))).decode()))
    fails("bad_card.enc_not_canonical_b64", B,
          signed_card(v1.compact_json(dict(card_obj, enc=card_obj["enc"].rstrip("="))).decode()
                      if card_obj["enc"].endswith("=") else
                      v1.compact_json(dict(card_obj, enc=card_obj["enc"] + "=")).decode()))
    small = gen(1024)
    fails("bad_card.1024_bit_key", B, signed_card(
        v1.compact_json(dict(card_obj, enc=v1.b64e(v1.spki_der(small)))).decode()))
    fails("bad_card.over_8192_bytes", B, signed_card(big_card[:-1] + " }"))

    # -------------------------------------------- 7: bad_signature
    S = "bad_signature"
    m = transition_message("alice", old_fp, new_text, 1, AT)

    def with_sigs(sig_old: bytes, sig_new: bytes) -> bytes:
        return transition_text("alice", old_fp, new_text, 1, AT, sig_old, sig_new)

    by_old, by_new, by_other = pss_sign(old_sig, m), pss_sign(new_sig, m), pss_sign(other_sig, m)
    passes("signatures.both", with_sigs(by_old, by_new))
    # Signed by only one of the two keys.
    fails("one_key.old_signs_both", S, with_sigs(by_old, pss_sign(old_sig, m)), why="sig_new")
    fails("one_key.new_signs_both", S, with_sigs(pss_sign(new_sig, m), by_new), why="sig_old")
    fails("one_key.swapped", S, with_sigs(by_new, by_old), why="sig_old")
    fails("one_key.no_sig_new", S, with_sigs(by_old, b""), why="sig_new")
    fails("one_key.no_sig_old", S, with_sigs(b"", by_new), why="sig_old")
    fails("one_key.other_for_old", S, with_sigs(by_other, by_new), why="sig_old")
    fails("one_key.other_for_new", S, with_sigs(by_old, by_other), why="sig_new")
    # §1's PSS and nothing else.
    for salt in (0, 20, 64):
        pss = asym_padding.PSS(mgf=asym_padding.MGF1(hashes.SHA256()), salt_length=salt)
        fails(f"pss.sig_old_salt_{salt}", S, with_sigs(old_sig.sign(m, pss, hashes.SHA256()), by_new),
              why="sig_old")
        fails(f"pss.sig_new_salt_{salt}", S, with_sigs(by_old, new_sig.sign(m, pss, hashes.SHA256())),
              why="sig_new")
    fails("pss.pkcs1v15", S, with_sigs(by_old, new_sig.sign(m, asym_padding.PKCS1v15(), hashes.SHA256())),
          why="sig_new")
    mgf1_sha1 = asym_padding.PSS(mgf=asym_padding.MGF1(hashes.SHA1()), salt_length=32)
    fails("pss.mgf1_sha1", S, with_sigs(old_sig.sign(m, mgf1_sha1, hashes.SHA256()), by_new), why="sig_old")
    fails("pss.prehashed_twice", S, with_sigs(old_sig.sign(
        hashlib.sha256(m).digest(), v1.PSS, hashes.SHA256()), by_new), why="sig_old")
    check("pss.prehashed_is_the_same",  # "the message not pre-hashed" = Prehashed(SHA-256) of m
          pss_verify(old_sig.public_key(),
                     old_sig.sign(hashlib.sha256(m).digest(), v1.PSS, Prehashed(hashes.SHA256())), m))
    fails("pss.sig_one_byte_short", S, with_sigs(by_old[1:] if by_old[0] == 0 else by_old[:-1], by_new), why="sig_old")
    fails("pss.sig_one_byte_long", S, with_sigs(b"\0" + by_old, by_new), why="sig_old")
    flipped = bytearray(by_new)
    flipped[-1] ^= 1
    fails("pss.sig_new_flipped", S, with_sigs(by_old, bytes(flipped)), why="sig_new")

    # Every signed member is bound, for each key: one signature over m with
    # one value changed (the other over the true m), under the true text...
    def signed_over(which: str, **change) -> bytes:
        vals = {"user": "alice", "old": old_fp, "card_text": new_text, "counter": 1, "at": AT}
        tag = change.pop("tag", TRANSITION_TAG)
        mm = transition_message(**dict(vals, **change), tag=tag)
        return transition_text(**vals, sig_old=pss_sign(old_sig, mm if which == "sig_old" else m),
                               sig_new=pss_sign(new_sig, mm if which == "sig_new" else m))

    for which in ("sig_old", "sig_new"):
        for label, change in (
            ("user", {"user": "alicf"}),
            ("old", {"old": other_card.fingerprint()}),
            ("card", {"card_text": odd_card}),
            ("counter", {"counter": 2}),
            ("at", {"at": AT + 1}),
            ("tag", {"tag": b"chat-transition-v2\0"}),
            ("tag_without_zero", {"tag": b"chat-transition-v1"}),
            ("no_tag", {"tag": b""}),
        ):
            fails(f"bound.{which}.{label}", S, signed_over(which, **change), why=which)
    # ...and the true signatures under a text with one value changed (user
    # and old fail earlier, by name, and are bound by the cases above).
    fails("changed.counter", S, mut(counter=2))
    fails("changed.at", S, mut(at=AT + 1))
    fails("changed.card_same_card_other_text", S, mut(card=odd_card))
    fails("changed.card_other_card", S, mut(card=v1.make_card("alice", third_enc, third_sig)
                                            .to_json_bytes().decode()))
    fails("changed.card_new_enc_only", S, mut(card=v1.make_card("alice", third_enc, new_sig)
                                              .to_json_bytes().decode()))
    # §13.2's bytes, written out by hand: the tag with its zero byte, lp(user),
    # the 32 fingerprint bytes (not the hex), lp(card), u64be(counter), u64be(at).
    want = (b"chat-transition-v1\x00" + b"\x00\x00\x00\x03bob" + bytes(range(32))
            + b"\x00\x00\x00\x0a" + b'{"v":1,"x"' + b"\x00" * 7 + b"\x02"
            + bytes.fromhex("0000019ab697e800"))
    check("message.known_answer",
          transition_message("bob", bytes(range(32)).hex(), '{"v":1,"x"', 2, 1764000000000) == want)
    check("message.length", len(m) == 19 + 4 + 5 + 32 + 4 + len(new_text) + 8 + 8, str(len(m)))

    # ------------------------------------------- the order of steps
    fails("order.unsupported_before_members", U, mut(v=2, sig_old=None))
    fails("order.malformed_before_wrong_user", M, mut(old=old_fp.upper()), sender="bob")
    fails("order.wrong_user_before_not_pinned", "wrong_user", good, sender="bob", pinned=other_card)
    fails("order.not_pinned_before_bad_card", "not_pinned", mut(card="x"), pinned=other_card)
    fails("order.bad_card_before_bad_signature", B, mut(card=old_card.to_json_bytes().decode()))
    fails("order.unsigned_card_of_another", B, mut(card=v1.make_card("bob", new_enc, new_sig)
                                                   .to_json_bytes().decode()))

    if failures:
        raise AssertionError("transition selftest: " + "; ".join(failures))
    return passed


if __name__ == "__main__":
    print(f"transition selftest: {selftest()} checks passed")
