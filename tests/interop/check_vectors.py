#!/usr/bin/env python3
"""Check chatd's frozen envelope vectors against the independent Python
implementation in protocol_v1.py and protocol_v2.py (written from
docs/PROTOCOL.md only), then seal fresh envelopes with it and open them again.
Also checks the identity-backup vectors (§10) against backup.py, the
device-link vectors (§12) against link.py, the key-transition vectors
(§13) against transition.py, the edit, delete and reaction vectors (§14)
against changes.py, the file vectors (§15) against file_chunks.py and the
file payload vectors (§15.4) against file_payload.py.

Usage:
    check_vectors.py [--vectors PATH] [--vectors-v2 PATH] [--vectors-backup PATH]
                     [--vectors-link PATH] [--vectors-transition PATH]
                     [--vectors-changes PATH] [--vectors-file PATH]
                     [--vectors-file-payload PATH]
                     [--write-sealed PATH] [--write-sealed-v2 PATH]

--vectors-v2 defaults to envelope-v2.json next to the v1 file; a missing v2
file is a failure. --write-sealed writes the Python-sealed v1 envelopes to
PATH and the v2 ones to --write-sealed-v2 (default
tests/interop/python-sealed-v2.json); --write-sealed-v2 alone writes only
the v2 file (the v1 sealer draws fresh randomness, so rewriting the v1 file
always changes it).

--vectors-backup defaults to backup.json next to the v1 file; a missing
backup file is only a NOTE (the backup self-tests, which need no vectors
file, still run). For each valid backup vector, seal_backup with its inputs
must give its backup text byte for byte and opening it must give its
plaintext; each invalid one must fail with exactly its error name (and the
names of steps 1-5 without deriving a key).

--vectors-link defaults to link.json next to the v1 file; a missing link
file is only a NOTE (link.selftest(), which needs no vectors file, still
runs). For each entry of `codes`, rendering `bytes` must give `text`, `text`
and each of `typed` must read back to `bytes`, and the code must derive
`handle`, `ke` and `km`; each of `bad_codes` must fail to read (`bad_code`,
also as the first step of opening). For each valid link vector, seal_link
with its code, iv and plaintext must give its link byte for byte, and
opening it for its user must give its plaintext and pass the contents
check; each invalid one must fail with exactly its error name.

--vectors-transition defaults to transition.json next to the v1 file; a
missing transition file is only a NOTE (transition.selftest(), which needs
no vectors file, still runs). Each valid transition must pass §13.3 for its
`sender` and `pinned` card and give its `card` and `counter` (and be written
as §13.1 and §2 say chatd writes it); each invalid one must fail with exactly
its error name. Transitions made by transition.py with the private keys of
envelope-v2.json (alice, bob, carol) must pass the same check, and
transition.py given the keys of a valid vector must write that vector's text
byte for byte but for the two signatures (PSS salts are random, so those are
verified, never reproduced).

--vectors-changes defaults to changes.json next to the v1 file; a missing
changes file is only a NOTE (changes.selftest(), which needs no vectors
file, still runs). Each valid vector's payload must read to exactly its
`fields` (every member of §14.1's table, absent ones null), and writing
those fields as chatd does must give its `written` byte for byte; each
invalid one must fail with exactly its error name.

--vectors-file defaults to file.json next to the v1 file; a missing file
vectors file is only a NOTE (file_chunks.selftest(), which needs no vectors
file, still runs). For each valid vector, the file made by the rule of
chatd/tests/vectors_file.rs (byte i is i * 31 mod 251) must have its
`sha256`, and sealing it with its `key` and `id` and the rule's ivs (chunk
i's is the first 16 bytes of SHA-256("chat-file-vector-iv" || u64be(i)))
must give its `blob_length`, `blob_sha256`, `tags` and, when given, `blob`
byte for byte; opening that blob must give the file back. Each invalid
vector's `change` is made to the blob of the valid vector it names (`of`),
and opening the result must fail with exactly its error name.

--vectors-file-payload defaults to file_payload.json next to the v1 file;
a missing one is only a NOTE (file_payload.selftest(), which needs no
vectors file, still runs). Each valid vector's payload must read to exactly
its `fields` (every member of §15.4's table, absent ones null, and
`shown_name`), and writing those fields as chatd does must give its
`written` byte for byte; each invalid one must fail with exactly its error
name; each entry of `names` must show as its `shown`.

The valid v2 vectors of one account on several devices (§11:
sent_copy_to_own_devices, read_state_to_own_devices, device_added,
contact_sync) are also checked against the written rules of their payloads
(own_devices.py: §4 and §11.1-§11.4, failures named by rule) and of their
recipients (the own account among them; only it for a read receipt, a
`device_added` and a `contact`); variants of those payloads built here that
break one rule must fail with exactly that rule's name, and
own_devices.selftest() runs §11.4's last-writer cases.

Exit 0 with a summary (one line for v1, one for v2, one for own devices,
one for backups, one for links, one for transitions, one for changes, one
for files, one for file payloads; NOTE lines for places where the v2 vectors file and the text of
§8.7, an own-device payload and the form §4 / §2 say chatd writes, the
backup and link vectors and §10.1 / §12.5, or the transition vectors and
§13.1's writing form, differ without affecting the protocol, and for what
no vector covers, §14.1's error names among them) on success; exit 1
listing every disagreement otherwise.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import math
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.dont_write_bytecode = True
sys.path.insert(0, HERE)

import protocol_v1 as p  # noqa: E402
import protocol_v2 as q  # noqa: E402
import backup as bk  # noqa: E402
import link as lk  # noqa: E402
import transition as tr  # noqa: E402
import changes as ch  # noqa: E402
import file_chunks as fc  # noqa: E402
import own_devices as od  # noqa: E402
import file_payload as fp  # noqa: E402

DEFAULT_VECTORS = os.path.normpath(
    os.path.join(HERE, "..", "..", "chatd", "tests", "vectors", "envelope-v1.json")
)

DEFAULT_SEALED_V2 = os.path.join(HERE, "python-sealed-v2.json")

EXPECTED_BITS = {"alice": 3072, "bob": 2048}  # §7
EXPECTED_BITS_V2 = {"alice": 3072, "bob": 2048, "carol": 2048}  # §8.7


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--vectors", default=DEFAULT_VECTORS)
    ap.add_argument("--vectors-v2", metavar="PATH", help="default: envelope-v2.json next to --vectors")
    ap.add_argument("--vectors-backup", metavar="PATH",
                    help="default: backup.json next to --vectors (skipped with a NOTE if absent)")
    ap.add_argument("--vectors-link", metavar="PATH",
                    help="default: link.json next to --vectors (skipped with a NOTE if absent)")
    ap.add_argument("--vectors-transition", metavar="PATH",
                    help="default: transition.json next to --vectors (skipped with a NOTE if absent)")
    ap.add_argument("--vectors-changes", metavar="PATH",
                    help="default: changes.json next to --vectors (skipped with a NOTE if absent)")
    ap.add_argument("--vectors-file", metavar="PATH",
                    help="default: file.json next to --vectors (skipped with a NOTE if absent)")
    ap.add_argument("--vectors-file-payload", metavar="PATH",
                    help="default: file_payload.json next to --vectors (skipped with a NOTE if absent)")
    ap.add_argument("--write-sealed", metavar="PATH")
    ap.add_argument("--write-sealed-v2", metavar="PATH", help=f"default with --write-sealed: {DEFAULT_SEALED_V2}")
    args = ap.parse_args()
    if args.vectors_v2 is None:
        args.vectors_v2 = os.path.join(os.path.dirname(os.path.abspath(args.vectors)), "envelope-v2.json")
    if args.vectors_backup is None:
        args.vectors_backup = os.path.join(os.path.dirname(os.path.abspath(args.vectors)), "backup.json")
    if args.vectors_link is None:
        args.vectors_link = os.path.join(os.path.dirname(os.path.abspath(args.vectors)), "link.json")
    if args.vectors_transition is None:
        args.vectors_transition = os.path.join(os.path.dirname(os.path.abspath(args.vectors)),
                                               "transition.json")
    if args.vectors_changes is None:
        args.vectors_changes = os.path.join(os.path.dirname(os.path.abspath(args.vectors)), "changes.json")
    if args.vectors_file is None:
        args.vectors_file = os.path.join(os.path.dirname(os.path.abspath(args.vectors)), "file.json")
    if args.vectors_file_payload is None:
        args.vectors_file_payload = os.path.join(os.path.dirname(os.path.abspath(args.vectors)),
                                                 "file_payload.json")
    write_v2 = args.write_sealed_v2 or (DEFAULT_SEALED_V2 if args.write_sealed else None)

    problems: list[str] = []
    counts = {"keys": 0, "valid": 0, "invalid": 0, "sealed": 0, "self": 0}
    # Envelope v2 (§8): its own problems and counts, reported with v1's.
    problems_v2, counts_v2, written_v2, notes_v2 = check_v2(args.vectors_v2, write_v2)
    for n in notes_v2:
        print(f"NOTE: {n}")
    # Identity backup (§10): likewise.
    problems_bk, counts_bk, notes_bk = check_backup(args.vectors_backup)
    for n in notes_bk:
        print(f"NOTE: {n}")
    # Device links (§12): likewise.
    problems_lk, counts_lk, notes_lk = check_link(args.vectors_link)
    for n in notes_lk:
        print(f"NOTE: {n}")
    # Key transitions (§13): likewise; the round trip uses the v2 file's keys.
    problems_tr, counts_tr, notes_tr = check_transition_vectors(args.vectors_transition, args.vectors_v2)
    for n in notes_tr:
        print(f"NOTE: {n}")
    # Edits, deletes and reactions (§14): likewise.
    problems_ch, counts_ch, notes_ch = check_changes_vectors(args.vectors_changes)
    for n in notes_ch:
        print(f"NOTE: {n}")
    # Files in chunks (§15): likewise.
    problems_fi, counts_fi, notes_fi = check_file_vectors(args.vectors_file)
    for n in notes_fi:
        print(f"NOTE: {n}")
    # The `file` payload (§15.4): likewise.
    problems_fp, counts_fp, notes_fp = check_file_payload_vectors(args.vectors_file_payload)
    for n in notes_fp:
        print(f"NOTE: {n}")
    others = problems_v2 + problems_bk + problems_lk + problems_tr + problems_ch + problems_fi + problems_fp

    with open(args.vectors, "rb") as f:
        vec = json.loads(f.read().decode("utf-8"))

    if vec.get("version") != 1:
        problems.append(f"vectors: version is {vec.get('version')!r}, expected 1")

    # ------------------------------------------------------------------ keys
    cards: dict[str, p.Card] = {}
    enc_priv = {}
    sig_priv = {}
    for name, k in vec["keys"].items():
        where = f"keys.{name}"
        try:
            card = p.parse_card(p.compact_json(k["card"]))
        except p.CardError as e:
            problems.append(f"{where}: card refused: {e}")
            continue
        if card.user != name:
            problems.append(f"{where}: card user {card.user!r} != key name")
        fp = card.fingerprint()
        if fp != k["fingerprint"]:
            problems.append(f"{where}: fingerprint {fp} != stated {k['fingerprint']}")
        if p.parse_fingerprint(p.format_fingerprint(fp)) != fp:
            problems.append(f"{where}: fingerprint display form does not round-trip")
        # (Member order of the card in the vectors file is not checked: §2 says
        # order is free when reading, and the file stores members sorted.)
        try:
            ep = p.load_private_pkcs8(p.b64d_strict(k["enc_private_pkcs8"]))
            sp = p.load_private_pkcs8(p.b64d_strict(k["sig_private_pkcs8"]))
        except Exception as e:
            problems.append(f"{where}: private key does not load: {e}")
            continue
        if p.spki_der(ep) != card.enc_der:
            problems.append(f"{where}: enc private key's public half != card enc")
        if p.spki_der(sp) != card.sig_der:
            problems.append(f"{where}: sig private key's public half != card sig")
        want_bits = EXPECTED_BITS.get(name)
        for label, key in (("enc", card.enc_key), ("sig", card.sig_key)):
            if want_bits is not None and key.key_size != want_bits:
                problems.append(f"{where}: {label} key is {key.key_size} bits, §7 says {want_bits}")
        cards[name] = card
        enc_priv[name] = ep
        sig_priv[name] = sp
        counts["keys"] += 1

    if set(cards) != {"alice", "bob"}:
        problems.append(f"keys: expected alice and bob, usable: {sorted(cards)}")
        return report(problems + others, counts, None, counts_v2, written_v2, counts_bk, counts_lk,
                      counts_tr, counts_ch, counts_fi, counts_fp)

    def other(n: str) -> str:
        return "bob" if n == "alice" else "alice"

    def contacts_for(me: str) -> dict:
        return {other(me): cards[other(me)]}

    # ----------------------------------------------------------------- valid
    for v in vec["valid"]:
        where = f"valid.{v['name']}"
        env = v["envelope"]
        me = v["to"]
        if env.get("to") != v["to"] or env.get("from") != v["from"]:
            problems.append(f"{where}: vector from/to disagree with envelope from/to")
        try:
            got = p.open_envelope(
                me, enc_priv[me], contacts_for(me), set(), p.compact_json(env)
            )
        except p.ProtocolError as e:
            problems.append(f"{where}: refused with {e.name} ({e.detail})")
            continue
        want = v["payload"].encode("utf-8")
        if got != want:
            problems.append(f"{where}: payload {got[:80]!r}… != vector payload {want[:80]!r}…")
            continue
        ct_len = len(base64.b64decode(env["ct"]))
        if ct_len != len(p.pad(want)) + 16:
            problems.append(
                f"{where}: len(ct)={ct_len}, §5/§6.2 predict {len(p.pad(want)) + 16}"
            )
        counts["valid"] += 1

    # --------------------------------------------------------------- invalid
    for v in vec["invalid"]:
        where = f"invalid.{v['name']}"
        me = v["to"]
        try:
            got = p.open_envelope(
                me, enc_priv[me], contacts_for(me), set(), p.compact_json(v["envelope"])
            )
        except p.ProtocolError as e:
            if e.name != v["error"]:
                problems.append(
                    f"{where}: failed with {e.name} ({e.detail}), vector says {v['error']}"
                )
            else:
                counts["invalid"] += 1
            continue
        problems.append(f"{where}: opened ({got[:60]!r}), vector says {v['error']}")

    # ------------------------------------------------ seal and open our own
    payloads = [
        ("text_empty_body", p.text_payload("")),
        ("text_emoji", p.text_payload("👍🏽 ship it 🚀 👩‍👩‍👧 🇳🇴")),
        ("text_300_bytes", None),  # built below to be exactly 300 bytes
        ("text_multibyte_escapes", p.text_payload('grüße "q" \\ \n\t\x00 日本語')),
        ("text_reply_to", p.text_payload("yes", reply_to="00112233445566778899aabbccddeeff")),
        (
            "receipt_read",
            p.receipt_payload(
                ["00112233445566778899aabbccddeeff", "ffeeddccbbaa99887766554433221100"], "read"
            ),
        ),
        ("payload_255_bytes", None),
        ("payload_256_bytes", None),
    ]
    overhead = len(p.text_payload(""))
    built = []
    for name, pl in payloads:
        if pl is None:
            total = {"text_300_bytes": 300, "payload_255_bytes": 255, "payload_256_bytes": 256}[name]
            pl = p.text_payload("y" * (total - overhead))
            assert len(pl) == total
        built.append((name, pl))

    sealed_out = []
    ts = 1764000100123
    for sender, recipient in (("alice", "bob"), ("bob", "alice")):
        for name, pl in built:
            label = f"py_{sender}_to_{recipient}_{name}"
            where = f"sealed.{label}"
            ts += 1000
            try:
                env = p.seal(sender, sig_priv[sender], cards[recipient], pl, ts=ts)
            except Exception as e:
                problems.append(f"{where}: seal failed: {e!r}")
                continue
            data = p.compact_json(env)
            seen: set = set()
            try:
                got = p.open_envelope(recipient, enc_priv[recipient], contacts_for(recipient), seen, data)
            except p.ProtocolError as e:
                problems.append(f"{where}: own opener refused with {e.name} ({e.detail})")
                continue
            if got != pl:
                problems.append(f"{where}: round trip changed the payload")
                continue
            # replay of the same envelope must be refused as `replay`
            try:
                p.open_envelope(recipient, enc_priv[recipient], contacts_for(recipient), seen, data)
                problems.append(f"{where}: second open was not refused as replay")
            except p.ProtocolError as e:
                if e.name != "replay":
                    problems.append(f"{where}: second open refused with {e.name}, expected replay")
            counts["sealed"] += 1
            sealed_out.append(
                {
                    "name": label,
                    "from": sender,
                    "to": recipient,
                    "payload": pl.decode("utf-8"),
                    "envelope": env,
                }
            )

    # ------------------------------------ strictness self-checks (own seals)
    if sealed_out:
        base = sealed_out[0]["envelope"]
        me = sealed_out[0]["to"]

        def expect(label: str, mutated, want: str, raw: bytes | None = None):
            data = raw if raw is not None else p.compact_json(mutated)
            try:
                p.open_envelope(me, enc_priv[me], contacts_for(me), set(), data)
                problems.append(f"self.{label}: opened, expected {want}")
            except p.ProtocolError as e:
                if e.name != want:
                    problems.append(f"self.{label}: got {e.name} ({e.detail}), expected {want}")
                else:
                    counts["self"] += 1

        def mut(**kw):
            d = dict(base)
            d.update(kw)
            return d

        iv = base["iv"]
        expect("iv_urlsafe", mut(iv=iv.replace("+", "-").replace("/", "_") if ("+" in iv or "/" in iv) else iv[:-3] + "-A=="), "malformed")
        expect("iv_no_padding", mut(iv=iv.rstrip("=")), "malformed")
        expect("iv_extra_padding", mut(iv=iv + "=="), "malformed")
        expect("iv_whitespace", mut(iv=iv[:8] + " " + iv[8:-1]), "malformed")
        # non-zero trailing bits: 16 bytes -> last char before "==" has 4 unused bits
        last = iv[-3]
        alpha = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
        expect("iv_trailing_bits", mut(iv=iv[:-3] + alpha[alpha.index(last) ^ 1] + "=="), "malformed")
        expect("id_uppercase", mut(id=base["id"].upper() if base["id"].upper() != base["id"] else "A" + base["id"][1:]), "malformed")
        expect("from_trailing_newline", mut(**{"from": base["from"] + "\n"}), "malformed")
        expect("v_bool", mut(v=True), "malformed")
        expect("v_string", mut(v="1"), "malformed")
        expect("ts_negative", mut(ts=-1), "malformed")
        expect("ts_2_64", mut(ts=2**64), "malformed")
        expect("v_3", mut(v=3), "unsupported_version")
        dup = p.compact_json(base)[:-1] + b',"v":1}'
        expect("duplicate_member", None, "malformed", raw=dup)
        expect("not_utf8", None, "malformed", raw=b'{"v":1,"id":"\xff"}')
        expect("over_6mib", None, "malformed", raw=b" " * (p.ENVELOPE_MAX_BYTES + 1))

    # padding unit checks (§5 examples)
    for n, want_len in ((0, 256), (255, 256), (256, 512), (257, 512)):
        padded = p.pad(b"x" * n)
        if len(padded) != want_len or p.unpad(padded) != b"x" * n:
            problems.append(f"pad: {n}-byte payload -> {len(padded)} bytes, expected {want_len}")
        else:
            counts["self"] += 1
    for label, bad in (
        ("empty", b""),
        ("no_marker", b"\x00" * 256),
        ("marker_too_early", b"\x80" + b"\x00" * 511),
        ("trailing_nonzero", b"x" * 254 + b"\x80\x01"),
        ("not_bucket", b"x" * 100 + b"\x80"),
    ):
        try:
            p.unpad(bad)
            problems.append(f"unpad.{label}: accepted")
        except ValueError:
            counts["self"] += 1

    if args.write_sealed:
        with open(args.write_sealed, "w", encoding="utf-8") as f:
            json.dump({"sealed": sealed_out}, f, ensure_ascii=False, indent=1)
            f.write("\n")

    return report(problems + others, counts, args.write_sealed, counts_v2, written_v2, counts_bk, counts_lk,
                  counts_tr, counts_ch, counts_fi, counts_fp)


def report(problems, counts, written=None, counts_v2=None, written_v2=None, counts_bk=None,
           counts_lk=None, counts_tr=None, counts_ch=None, counts_fi=None, counts_fp=None) -> int:
    v2 = f"\n    v2: {fmt_v2(counts_v2)}" if counts_v2 is not None else ""
    own = f"\n    own devices: {fmt_own(counts_v2['own'])}" if counts_v2 is not None else ""
    bkl = f"\n    backup: {fmt_backup(counts_bk)}" if counts_bk is not None else ""
    lkl = f"\n    link: {fmt_link(counts_lk)}" if counts_lk is not None else ""
    trl = f"\n    transition: {fmt_transition(counts_tr)}" if counts_tr is not None else ""
    chl = f"\n    changes: {fmt_changes(counts_ch)}" if counts_ch is not None else ""
    fil = f"\n    file: {fmt_file(counts_fi)}" if counts_fi is not None else ""
    fil += f"\n    file payload: {fmt_file_payload(counts_fp)}" if counts_fp is not None else ""
    if problems:
        for pr in problems:
            print(f"DISAGREEMENT: {pr}")
        print(f"FAIL: {len(problems)} disagreement(s); {fmt(counts)}{v2}{own}{bkl}{lkl}{trl}{chl}{fil}")
        return 1
    extra = f"; wrote {counts['sealed']} to {written}" if written else ""
    if written_v2:
        v2 += f"; wrote {counts_v2['written']} to {written_v2}"
    print(f"OK: {fmt(counts)}{extra}{v2}{own}{bkl}{lkl}{trl}{chl}{fil}")
    return 0


def fmt(c) -> str:
    return (
        f"{c['keys']} keys, {c['valid']} valid opened, {c['invalid']} invalid rejected "
        f"with the expected error, {c['sealed']} sealed+reopened (+replay refused), "
        f"{c['self']} strictness self-checks"
    )


# ===========================================================================
# Envelope v2 (§8)


def fmt_v2(c) -> str:
    return (
        f"{c['keys']} keys, {c['valid']} valid (split == delivered, "
        f"{c['opened']} delivered forms opened), {c['invalid']} invalid rejected "
        f"with the expected error, {c['invalid_sealed']} invalid sealed refused, "
        f"{c['sealed']} sealed+split+reopened ({c['sealed_opens']} opens), "
        f"{c['self']} self-checks, {c['py_file']} entries of python-sealed-v2.json reopened"
    )


def canon(x) -> str:
    """JSON value identity (so that 1 and true, or 1 and 1.0, differ)."""
    return json.dumps(x, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def check_v2(path: str, write_path: str | None):
    problems: list[str] = []
    notes: list[str] = []
    counts = {
        "keys": 0, "valid": 0, "opened": 0, "invalid": 0, "invalid_sealed": 0,
        "sealed": 0, "sealed_opens": 0, "self": 0, "written": 0, "py_file": 0,
        # one account on several devices (§11), see _check_own_devices
        "own": {"vectors": 0, "bad": 0, "good": 0, "self": 0},
    }
    written = None
    try:
        written = _check_v2(path, write_path, problems, counts, notes)
    except Exception as e:  # a crash is a failure, never a skip
        import traceback

        problems.append(f"v2: checker crashed: {e!r}\n{traceback.format_exc()}")
    return problems, counts, written, notes


def _load_keys_v2(vec_keys, problems, counts):
    ids: dict[str, q.Identity] = {}
    cards: dict[str, p.Card] = {}
    for name, k in vec_keys.items():
        where = f"v2.keys.{name}"
        try:
            card = p.parse_card(p.compact_json(k["card"]))
        except p.CardError as e:
            problems.append(f"{where}: card refused: {e}")
            continue
        if card.user != name:
            problems.append(f"{where}: card user {card.user!r} != key name")
        fp = card.fingerprint()
        if fp != k["fingerprint"]:
            problems.append(f"{where}: fingerprint {fp} != stated {k['fingerprint']}")
        try:
            ep = p.load_private_pkcs8(p.b64d_strict(k["enc_private_pkcs8"]))
            sp = p.load_private_pkcs8(p.b64d_strict(k["sig_private_pkcs8"]))
        except Exception as e:
            problems.append(f"{where}: private key does not load: {e}")
            continue
        if p.spki_der(ep) != card.enc_der:
            problems.append(f"{where}: enc private key's public half != card enc")
        if p.spki_der(sp) != card.sig_der:
            problems.append(f"{where}: sig private key's public half != card sig")
        want_bits = EXPECTED_BITS_V2.get(name)
        for label, key in (("enc", card.enc_key), ("sig", card.sig_key)):
            if key.key_size != want_bits:
                problems.append(f"{where}: {label} key is {key.key_size} bits, §8.7 says {want_bits}")
        cards[name] = card
        ids[name] = q.Identity(name, ep, sp)
        counts["keys"] += 1
    return ids, cards


def _check_v2(path, write_path, problems, counts, notes):
    if not os.path.exists(path):
        problems.append(f"v2: vectors file {path} does not exist (§8.7 says it does)")
        vec = None
    else:
        with open(path, "rb") as f:
            vec = json.loads(f.read().decode("utf-8"))
        if vec.get("version") != 2:
            problems.append(f"v2: version is {vec.get('version')!r}, expected 2")
        if set(vec.keys()) != {"version", "keys", "valid", "invalid", "invalid_sealed"}:
            problems.append(f"v2: top-level members {sorted(vec.keys())}, §8.7 lists "
                            "version, keys, valid, invalid, invalid_sealed")

    if vec is not None:
        ids, cards = _load_keys_v2(vec.get("keys", {}), problems, counts)
        if set(cards) != {"alice", "bob", "carol"}:
            problems.append(f"v2.keys: expected alice, bob and carol, usable: {sorted(cards)}")
            return None
        # The keys of the v1 file are not required to be the same; not checked.
    else:
        # Still run the self-tests (with fresh keys) so their problems show up.
        ids = {
            "alice": q.Identity("alice", p.generate_keypair(3072), p.generate_keypair(3072)),
            "bob": q.Identity("bob", p.generate_keypair(2048), p.generate_keypair(2048)),
            "carol": q.Identity("carol", p.generate_keypair(2048), p.generate_keypair(2048)),
        }
        cards = {n: i.card() for n, i in ids.items()}

    def contacts_of(me: str, pool: dict) -> dict:
        # §11: the reader's own card opens what its own account's other
        # devices send, so it is in every reader's book.
        return dict(pool)

    # ----------------------------------------------------------------- valid
    own_vectors = {}  # name -> (vector, {user: opened payload}) for §11's cases
    if vec is not None:
        for v in vec.get("valid", []):
            where = f"v2.valid.{v.get('name')}"
            try:
                opened = _check_valid_v2(v, where, ids, cards, contacts_of, problems, counts, notes)
            except Exception as e:
                problems.append(f"{where}: checker crashed: {e!r}")
                continue
            if v.get("name") in OWN_VECTORS:
                own_vectors[v["name"]] = (v, opened)

        # ------------------------------------------------------------- invalid
        for v in vec.get("invalid", []):
            where = f"v2.invalid.{v.get('name')}"
            me = v["to"]
            try:
                got = q.open_delivered(
                    ids[me], p.compact_json(v["envelope"]), contacts_of(me, cards), set()
                )
            except p.ProtocolError as e:
                if e.name != v["error"]:
                    problems.append(
                        f"{where}: failed with {e.name} ({e.detail}), vector says {v['error']}"
                    )
                else:
                    counts["invalid"] += 1
                continue
            problems.append(f"{where}: opened ({got[:60]!r}), vector says {v['error']}")

        # ------------------------------------------------------ invalid_sealed
        for v in vec.get("invalid_sealed", []):
            where = f"v2.invalid_sealed.{v.get('name')}"
            try:
                q.parse_sealed(p.compact_json(v["sealed"]))
            except p.ProtocolError:
                counts["invalid_sealed"] += 1
                continue
            problems.append(f"{where}: parse_sealed accepted it (§8.2 should refuse it)")

        if not vec.get("valid") or not vec.get("invalid") or not vec.get("invalid_sealed"):
            problems.append("v2: valid, invalid and invalid_sealed must each be non-empty")

    # ------------------------------- one account on several devices (§11)
    try:
        _check_own_devices(vec, own_vectors, cards, problems, counts["own"], notes)
    except Exception as e:  # a crash is a failure, never a skip
        import traceback

        problems.append(f"v2.own: checker crashed: {e!r}\n{traceback.format_exc()}")

    # ------------------------------------------------------------ self tests
    _self_tests_v2(ids, cards, contacts_of, problems, counts)

    # ------------------- the Python-sealed v2 file in the tree still opens
    if vec is not None and not write_path and os.path.exists(DEFAULT_SEALED_V2):
        with open(DEFAULT_SEALED_V2, "rb") as f:
            py = json.loads(f.read().decode("utf-8"))
        for e in py.get("sealed", []):
            where = f"v2.python-sealed-v2.{e.get('name')}"
            try:
                parts = q.split(p.compact_json(e["sealed"]))
                if list(parts) != sorted(e["to"], key=lambda u: u.encode()):
                    problems.append(f"{where}: sealed to {list(parts)} != listed to {e['to']}")
                    continue
                for u in e["to"]:
                    got = q.open_delivered(ids[u], p.compact_json(parts[u]), contacts_of(u, cards), set())
                    if got != e["payload"].encode("utf-8"):
                        problems.append(f"{where}: {u} got another payload")
                counts["py_file"] += 1
            except p.ProtocolError as x:
                problems.append(
                    f"{where}: refused with {x.name} ({x.detail}); if the vector keys changed, "
                    "regenerate it: check_vectors.py --write-sealed-v2 tests/interop/python-sealed-v2.json"
                )

    # ----------------------------------------------- Python-sealed v2 file
    if write_path:
        out = _python_sealed_v2(ids, cards, contacts_of, problems, counts)
        if out is not None:
            with open(write_path, "w", encoding="utf-8") as f:
                json.dump({"sealed": out}, f, ensure_ascii=False, indent=1)
                f.write("\n")
            return write_path
    return None


def _check_valid_v2(v, where, ids, cards, contacts_of, problems, counts, notes):
    """Check one valid v2 vector; returns {user: payload bytes} for each
    delivered form that opened to exactly the vector's payload."""
    opened: dict[str, bytes] = {}
    sealed = v["sealed"]
    delivered = v["delivered"]
    to = v["to"]
    if sealed.get("from") != v["from"]:
        problems.append(f"{where}: vector from {v['from']!r} != sealed from {sealed.get('from')!r}")
    sealed_users = [e.get("user") for e in sealed.get("to", [])]
    # §8.7: `to` lists exactly the sealed recipients whose keys are in the
    # file; `sealed` may name more (strangers nobody here can open for).
    keyed = [u for u in sealed_users if u in cards]
    if sorted(to, key=lambda u: u.encode()) != keyed:
        problems.append(
            f"{where}: vector to {to} is not the sealed recipients with keys in the file {keyed}"
        )
    if set(delivered) != set(to):
        problems.append(f"{where}: delivered keys {sorted(delivered)} != to {sorted(to)}")
    # the relay's shape check accepts it
    try:
        q.parse_sealed(p.compact_json(sealed))
    except p.ProtocolError as e:
        problems.append(f"{where}: parse_sealed refused the sealed form: {e.name} ({e.detail})")
        return opened
    # our own split gives exactly the vector's delivered forms
    mine = q.split(p.compact_json(sealed))
    split_ok = True
    if [u for u in mine] != sealed_users:
        problems.append(f"{where}: split gives users {list(mine)}, sealed to has {sealed_users}")
        split_ok = False
    if not set(delivered) <= set(mine):
        problems.append(f"{where}: delivered has users {sorted(set(delivered) - set(mine))} not in split")
        split_ok = False
    for user in sorted(set(mine) & set(delivered)):
        if canon(mine[user]) != canon(delivered[user]):
            split_ok = False
            a, b = mine[user], delivered[user]
            diff = sorted(
                k for k in set(a) | set(b) if canon(a.get(k)) != canon(b.get(k))
            )
            detail = ", ".join(
                f"{k}: mine {canon(a.get(k))[:120]} vs vector {canon(b.get(k))[:120]}"
                for k in diff
            )
            problems.append(f"{where}: split for {user} differs from delivered: {detail}")
    # every delivered form opens for its recipient to exactly `payload`
    want = v["payload"].encode("utf-8")
    all_open = True
    for user in to:
        if user not in delivered:
            all_open = False
            continue
        try:
            got = q.open_delivered(
                ids[user], p.compact_json(delivered[user]), contacts_of(user, cards), set()
            )
        except p.ProtocolError as e:
            problems.append(f"{where}: delivered[{user}] refused with {e.name} ({e.detail})")
            all_open = False
            continue
        if got != want:
            problems.append(f"{where}: delivered[{user}] payload {got[:80]!r} != {want[:80]!r}")
            all_open = False
            continue
        counts["opened"] += 1
        opened[user] = got
    ct_len = len(base64.b64decode(sealed["ct"]))
    if ct_len != len(p.pad(want)) + 16:
        problems.append(f"{where}: len(ct)={ct_len}, §5/§8.5 predict {len(p.pad(want)) + 16}")
        all_open = False
    if split_ok and all_open:
        counts["valid"] += 1
    return opened


def _tree_self_tests(problems, counts):
    import hashlib

    def fake_leaves(n):
        return [hashlib.sha256(b"leaf%d" % k).digest() for k in range(n)]

    # independent recursive definition of the same tree, for cross-checking
    def rec_root(hs):
        while len(hs) > 1:
            hs = [q.node(hs[k], hs[k + 1]) if k + 1 < len(hs) else hs[k] for k in range(0, len(hs), 2)]
        return hs[0]

    for n in list(range(1, 40)) + [63, 64, 65, 127, 128, 129, 999, 1000]:
        L = fake_leaves(n)
        lv = q.levels(L)
        r = lv[-1][0]
        if r != rec_root(L):
            problems.append(f"v2.self.tree: n={n} root differs between two builds")
            continue
        if n == 1 and r != L[0]:
            problems.append("v2.self.tree: n=1 root is not L[0]")
        idx = range(n) if n <= 129 else [0, 1, 2, n // 2, n - 3, n - 2, n - 1]
        for i in idx:
            pt = q.path(lv, i)
            if len(pt) != q.path_len(i, n):
                problems.append(f"v2.self.tree: n={n} i={i} path length {len(pt)} != path_len")
            if n <= 1000 and len(pt) > 10:
                problems.append(f"v2.self.tree: n={n} i={i} path of {len(pt)} > 10 hashes")
            # leaf(user, wk) is recomputed inside root_from_path: use a real leaf
    # root_from_path with real leaves
    users = [f"u{k:04d}" for k in range(1000)]
    wks = [bytes([k % 256]) * 256 for k in range(1000)]
    for n in (1, 2, 3, 5, 6, 7, 8, 9, 17, 1000):
        L = [q.leaf(users[k], wks[k]) for k in range(n)]
        lv = q.levels(L)
        r = lv[-1][0]
        for i in (range(n) if n < 1000 else [0, 1, 511, 512, 997, 998, 999]):
            pt = q.path(lv, i)
            if q.root_from_path(users[i], wks[i], i, n, pt) != r:
                problems.append(f"v2.self.tree: n={n} i={i} root_from_path != root")
            for bad in (pt + [r], pt[:-1]):
                if bad == pt:
                    continue
                try:
                    q.root_from_path(users[i], wks[i], i, n, bad)
                    problems.append(f"v2.self.tree: n={n} i={i} wrong-length path accepted")
                except ValueError:
                    pass
            if n > 1:
                other = (i + 1) % n
                if q.path_len(other, n) == len(pt) and q.root_from_path(users[i], wks[i], other, n, pt) == r:
                    problems.append(f"v2.self.tree: n={n} i={i} wrong index gives the same root")
    if max(q.path_len(i, 1000) for i in range(1000)) != 10:
        problems.append("v2.self.tree: n=1000 longest path is not 10 (§8.1)")
    counts["self"] += 1


def _self_tests_v2(ids, cards, contacts_of, problems, counts):
    _tree_self_tests(problems, counts)

    # More users for 3- and 5-recipient seals (2048-bit, generated here).
    pool_ids = dict(ids)
    for name in ("dave", "erin", "frank"):
        pool_ids[name] = q.Identity(name, p.generate_keypair(2048), p.generate_keypair(2048))
    pool = dict(cards)
    for name in ("dave", "erin", "frank"):
        pool[name] = pool_ids[name].card()
    # A big group sharing one key pair (cards of different users may share keys).
    shared = q.Identity("m000", p.generate_keypair(2048), p.generate_keypair(2048))
    big = [f"m{k:03d}" for k in range(33)]
    for u in big:
        pool_ids[u] = q.Identity(u, shared.enc_private, shared.sig_private)
        pool[u] = p.make_card(u, shared.enc_private, shared.sig_private)

    plain = p.text_payload("grüße 日本語 👍🏽 \"q\" \\ \n")
    groups = [
        ("alice", ["bob"]),
        ("alice", ["carol"]),
        ("bob", ["alice"]),
        ("alice", ["bob", "carol"]),
        ("bob", ["carol", "alice"]),
        ("carol", ["alice", "bob"]),
        ("alice", ["carol", "bob", "dave"]),
        ("dave", ["alice", "bob", "carol"]),
        ("alice", ["bob", "carol", "dave", "erin", "frank"]),
        ("frank", ["erin", "dave", "carol", "bob", "alice"]),
        ("carol", big[:7]),
        ("alice", big),
    ]
    ts = 1764000200123
    for sender, rcpts in groups:
        ts += 1000
        where = f"v2.sealed.{sender}->{','.join(rcpts) if len(rcpts) < 6 else f'{len(rcpts)} users'}"
        try:
            sealed = q.seal_v2(pool_ids[sender], [pool[u] for u in rcpts], plain, ts=ts)
        except Exception as e:
            problems.append(f"{where}: seal failed: {e!r}")
            continue
        sealed_bytes = p.compact_json(sealed)
        try:
            q.parse_sealed(sealed_bytes)
        except p.ProtocolError as e:
            problems.append(f"{where}: own sealed form refused by parse_sealed: {e.name} ({e.detail})")
            continue
        want_users = sorted(rcpts, key=lambda u: u.encode())
        if [e["user"] for e in sealed["to"]] != want_users:
            problems.append(f"{where}: sealed to is not sorted")
        parts = q.split(sealed_bytes)
        if sorted(parts) != sorted(rcpts):
            problems.append(f"{where}: split users {sorted(parts)} != {sorted(rcpts)}")
            continue
        ok = True
        for u, d in parts.items():
            data = p.compact_json(d)
            seen: set = set()
            try:
                got = q.open_delivered(pool_ids[u], data, contacts_of(u, pool), seen)
            except p.ProtocolError as e:
                problems.append(f"{where}: {u} refused own delivered form: {e.name} ({e.detail})")
                ok = False
                continue
            if got != plain:
                problems.append(f"{where}: {u} payload changed")
                ok = False
                continue
            counts["sealed_opens"] += 1
            try:
                q.open_delivered(pool_ids[u], data, contacts_of(u, pool), seen)
                problems.append(f"{where}: {u} second open was not refused as replay")
                ok = False
            except p.ProtocolError as e:
                if e.name != "replay":
                    problems.append(f"{where}: {u} second open: {e.name}, expected replay")
                    ok = False
            # someone else in the group gets wrong_recipient
            others = [x for x in rcpts if x != u]
            if others:
                try:
                    q.open_delivered(pool_ids[others[0]], data, contacts_of(others[0], pool), set())
                    problems.append(f"{where}: {others[0]} opened {u}'s delivered form")
                    ok = False
                except p.ProtocolError as e:
                    if e.name != "wrong_recipient":
                        problems.append(f"{where}: {others[0]} opening {u}'s: {e.name}, expected wrong_recipient")
                        ok = False
        if ok:
            counts["sealed"] += 1

    _negative_self_tests_v2(pool_ids, pool, contacts_of, problems, counts)


def _negative_self_tests_v2(ids, cards, contacts_of, problems, counts):
    me = "carol"
    rcpts = ["bob", "carol", "dave"]  # carol is i=1 of n=3: a path of 2 hashes
    contacts = contacts_of(me, cards)
    ts = 1764000300123

    def seal(payload=None, hooks=None, rng=os.urandom, sender="alice", to=rcpts):
        return q.seal_v2(ids[sender], [cards[u] for u in to],
                         payload if payload is not None else p.text_payload("hi"),
                         ts=ts, rng=rng, _hooks=hooks)

    def expect(label, data, want, who=me, cts=None, seen=None):
        if isinstance(data, dict):
            data = p.compact_json(data)
        try:
            q.open_delivered(ids[who], data, contacts if cts is None else cts,
                             set() if seen is None else seen)
            problems.append(f"v2.self.{label}: opened, expected {want}")
        except p.ProtocolError as e:
            if e.name != want:
                problems.append(f"v2.self.{label}: got {e.name} ({e.detail}), expected {want}")
            else:
                counts["self"] += 1

    base_sealed = seal()
    parts = q.split(base_sealed)
    base = parts[me]
    assert base["to"]["i"] == 1 and base["n"] == 3 and len(base["to"]["path"]) == 2

    def mut(**kw):
        d = json.loads(json.dumps(base))
        for k, v in kw.items():
            if k.startswith("to_"):
                d["to"][k[3:]] = v
            else:
                d[k] = v
        return d

    def flip(b64text):
        raw = bytearray(base64.b64decode(b64text))
        raw[0] ^= 1
        return p.b64e(bytes(raw))

    # --- step 1: malformed
    bad_json = p.compact_json(base)[:-1] + b',"n":3}'
    expect("dup_member", bad_json, "malformed")
    to_dup = p.compact_json(base).replace(b'"i":1', b'"i":1,"i":1', 1)
    expect("dup_member_in_to", to_dup, "malformed")
    expect("extra_member", mut(x=1), "malformed")
    expect("extra_member_in_to", mut(to_x=1), "malformed")
    d = mut(); del d["n"]
    expect("missing_n", d, "malformed")
    d = mut(); del d["to"]["path"]
    expect("missing_path", d, "malformed")
    d = mut(); del d["kc"]
    expect("missing_kc", d, "malformed")
    expect("n_0", mut(n=0), "malformed")
    expect("n_1001", mut(n=1001), "malformed")
    expect("n_float", mut(n=3.0), "malformed")
    expect("n_bool", mut(n=True), "malformed")
    expect("n_string", mut(n="3"), "malformed")
    expect("i_eq_n", mut(to_i=3), "malformed")
    expect("i_negative", mut(to_i=-1), "malformed")
    expect("i_float", mut(to_i=1.0), "malformed")
    expect("path_extra_hash", mut(to_path=base["to"]["path"] + [base["kc"]]), "malformed")
    expect("path_short", mut(to_path=base["to"]["path"][:1]), "malformed")
    expect("path_not_array", mut(to_path=base["to"]["path"][0]), "malformed")
    expect("path_31_bytes", mut(to_path=[p.b64e(b"\0" * 31), base["to"]["path"][1]]), "malformed")
    expect("path_not_canonical", mut(to_path=[base["to"]["path"][0].rstrip("="), base["to"]["path"][1]]), "malformed")
    expect("path_n_mismatch", mut(n=2), "malformed")  # i=1 of 2 needs 1 hash
    expect("to_user_invalid", mut(to_user="Carol"), "malformed")
    expect("to_array", mut(to=[base["to"]]), "malformed")
    expect("kc_31_bytes", mut(kc=p.b64e(b"\0" * 31)), "malformed")
    expect("wk_100_bytes", mut(to_wk=p.b64e(b"\1" * 100)), "malformed")
    expect("v_float", mut(v=2.0), "malformed")
    expect("v_2_32", mut(v=2**32), "malformed")
    expect("v_negative", mut(v=-1), "malformed")
    expect("ts_2_64", mut(ts=2**64), "malformed")
    expect("sealed_form_to_opener", base_sealed, "malformed")
    expect("over_6mib", b" " * (q.DELIVERED_MAX_BYTES + 1), "malformed")
    expect("not_object", b"[]", "malformed")
    # --- step 2: version
    expect("v_3", mut(v=3), "unsupported_version")
    expect("v_1_with_v2_members", mut(v=1), "unsupported_version")
    v1env = p.seal("alice", ids["alice"].sig_private, cards[me], p.text_payload("v1"), ts=ts)
    v1env["v"] = 2
    expect("v1_members_v_2", v1env, "unsupported_version")
    # --- steps 3, 4
    expect("wrong_recipient", base, "wrong_recipient", who="bob", cts=contacts_of("bob", cards))
    expect("unknown_sender", base, "unknown_sender", cts={u: c for u, c in contacts.items() if u != "alice"})
    # --- step 5: anything that changes the root or ad2 or the signed bytes
    expect("ts_changed", mut(ts=base["ts"] + 1), "bad_signature")
    expect("id_changed", mut(id="0" * 32), "bad_signature")
    expect("kc_changed", mut(kc=flip(base["kc"])), "bad_signature")
    expect("tag_changed", mut(tag=flip(base["tag"])), "bad_signature")
    expect("iv_changed", mut(iv=flip(base["iv"])), "bad_signature")
    expect("sig_changed", mut(sig=flip(base["sig"])), "bad_signature")
    expect("wk_other_entry", mut(to_wk=parts["bob"]["to"]["wk"]), "bad_signature")
    expect("wk_flipped", mut(to_wk=flip(base["to"]["wk"])), "bad_signature")
    expect("i_changed", mut(to_i=0), "bad_signature")  # i=0 of 3 also has 2 hashes
    expect("n_changed", mut(n=4), "bad_signature")  # i=1 of 4 also has 2 hashes
    expect("path_swapped", mut(to_path=base["to"]["path"][::-1]), "bad_signature")
    expect("path_hash_changed", mut(to_path=[flip(base["to"]["path"][0]), base["to"]["path"][1]]), "bad_signature")
    expect("from_changed", mut(**{"from": "bob"}), "bad_signature", cts=contacts)
    # --- step 6: replay, shared with v1
    seen: set = set()
    q.open_delivered(ids[me], p.compact_json(base), contacts, seen)
    expect("replay", base, "replay", seen=set(seen))
    v1_ok = p.seal("alice", ids["alice"].sig_private, cards[me], p.text_payload("v1"), ts=ts)
    seen = set()
    q.open_delivered(ids[me], p.compact_json(v1_ok), contacts, seen)  # v1 through open_delivered
    draws = iter([bytes.fromhex(v1_ok["id"])])
    same_id = seal(rng=lambda n: next(draws, None) or os.urandom(n))
    expect("replay_v1_id_then_v2", q.split(same_id)[me], "replay", seen=set(seen))
    # --- step 7: key_unwrap (validly signed)
    wrong = seal(hooks={"wk": lambda u, wk: cards["bob"].enc_key.encrypt(b"\0" * 64, p.OAEP) if u == me else wk})
    expect("wk_for_someone_else", q.split(wrong)[me], "key_unwrap")
    wrong = seal(hooks={"wk": lambda u, wk: cards["alice"].enc_key.encrypt(b"\0" * 64, p.OAEP) if u == me else wk})
    expect("wk_3072_for_2048", q.split(wrong)[me], "key_unwrap")
    # --- step 8: key_length
    expect("km_63", q.split(seal(hooks={"km": lambda u, km: km[:63]}))[me], "key_length")
    expect("km_65", q.split(seal(hooks={"km": lambda u, km: km + b"\0"}))[me], "key_length")
    # --- step 9: key commitment (a different enc_key, same mac_key, for carol only)
    split_kc = q.split(seal(hooks={"km": lambda u, km: (bytes(32) + km[32:]) if u == me else km}))
    expect("key_commit", split_kc[me], "key_commit")
    try:
        q.open_delivered(ids["bob"], p.compact_json(split_kc["bob"]), contacts_of("bob", cards), set())
        counts["self"] += 1
    except p.ProtocolError as e:
        problems.append(f"v2.self.key_commit: bob's (honest) entry refused with {e.name}")
    expect("kc_of_other_key", q.split(seal(hooks={"kc": lambda kc: bytes(32)}))[me], "key_commit")
    # --- step 10: MAC
    expect("bad_mac", q.split(seal(hooks={"tag": lambda t: bytes([t[0] ^ 1]) + t[1:]}))[me], "bad_mac")
    # --- steps 11-13
    expect("decrypt", q.split(seal(hooks={"plain": lambda b: b[:-16] + b"\x11" * 16}))[me], "decrypt")
    expect("decrypt_short_pad", q.split(seal(hooks={"plain": lambda b: b[:-16] + b"\x00" * 15 + b"\x01"}))[me], "padding")
    expect("padding_no_marker", q.split(seal(hooks={"plain": lambda b: b"\0" * 256 + b"\x10" * 16}))[me], "padding")
    expect("payload_not_object", q.split(seal(payload=b"[1]"))[me], "payload")
    expect("payload_bad_reply_to", q.split(seal(payload=b'{"type":"text","body":"x","reply_to":"X"}'))[me], "payload")
    expect("payload_empty_receipt", q.split(seal(payload=b'{"type":"receipt","ids":[],"kind":"read"}'))[me], "payload")
    # an unknown type is kept, not refused
    try:
        got = q.open_delivered(ids[me], p.compact_json(q.split(seal(payload=b'{"type":"poll"}'))[me]), contacts, set())
        if got != b'{"type":"poll"}':
            problems.append("v2.self.unknown_type: payload changed")
        else:
            counts["self"] += 1
    except p.ProtocolError as e:
        problems.append(f"v2.self.unknown_type: refused with {e.name}")

    # --- parse_sealed (§8.2): the relay's shape check
    def refuse(label, obj_or_bytes):
        data = obj_or_bytes if isinstance(obj_or_bytes, bytes) else p.compact_json(obj_or_bytes)
        try:
            q.parse_sealed(data)
            problems.append(f"v2.self.sealed.{label}: accepted, §8.2 refuses it")
        except p.ProtocolError:
            counts["self"] += 1
            try:
                q.split(data)
                problems.append(f"v2.self.sealed.{label}: split accepted it")
            except p.ProtocolError:
                pass

    def smut(**kw):
        d = json.loads(json.dumps(base_sealed))
        d.update(kw)
        return d

    entries = base_sealed["to"]
    refuse("unsorted", smut(to=entries[::-1]))
    refuse("repeat", smut(to=[entries[0], entries[0], entries[1]]))
    refuse("empty", smut(to=[]))
    refuse("not_array", smut(to=entries[0]))
    refuse("entry_extra", smut(to=[dict(entries[0], i=0)] + entries[1:]))
    refuse("entry_missing_wk", smut(to=[{"user": entries[0]["user"]}] + entries[1:]))
    refuse("entry_bad_user", smut(to=[dict(entries[0], user="B")] + entries[1:]))
    refuse("entry_wk_size", smut(to=[dict(entries[0], wk=p.b64e(b"\0" * 255))] + entries[1:]))
    refuse("n_member", smut(n=3))
    refuse("kc_missing", {k: v for k, v in base_sealed.items() if k != "kc"})
    refuse("kc_33", smut(kc=p.b64e(b"\0" * 33)))
    refuse("ct_not_block", smut(ct=p.b64e(b"\0" * 17)))
    refuse("ts_float", smut(ts=1.5))
    refuse("v_1", smut(v=1))
    refuse("v_3", smut(v=3))
    wk = entries[0]["wk"]
    many = [{"user": f"u{k:04d}", "wk": wk} for k in range(1001)]
    refuse("1001_entries", smut(to=many))
    refuse("over_7mib", b" " * (q.SEALED_MAX_BYTES + 1))
    refuse("dup_member", p.compact_json(base_sealed)[:-1] + b',"v":2}')
    # 1000 entries are accepted, and split's paths are at most 10 hashes
    thousand = smut(to=many[:1000])
    try:
        parts1000 = q.split(p.compact_json(thousand))
        longest = max(len(d["to"]["path"]) for d in parts1000.values())
        biggest = max(len(p.compact_json(d)) for d in parts1000.values())
        if longest != 10:
            problems.append(f"v2.self.sealed.1000_entries: longest path {longest}, §8.1 says 10")
        elif biggest > q.DELIVERED_MAX_BYTES:
            problems.append("v2.self.sealed.1000_entries: a delivered form is over 6 MiB")
        else:
            counts["self"] += 1
    except p.ProtocolError as e:
        problems.append(f"v2.self.sealed.1000_entries: refused ({e.name}: {e.detail})")
    # sealing refuses repeats, an empty list, and more than 1000
    for label, lst in (("repeat", [cards["bob"], cards["bob"]]), ("empty", [])):
        try:
            q.seal_v2(ids["alice"], lst, p.text_payload("x"), ts=ts)
            problems.append(f"v2.self.seal_{label}: sealing did not refuse")
        except ValueError:
            counts["self"] += 1


# ===========================================================================
# One account on several devices (§11)

# §11's valid cases, and the payload kind each carries.
OWN_VECTORS = {
    "sent_copy_to_own_devices": "text",  # §11.1
    "read_state_to_own_devices": "receipt",  # §11.2
    "device_added": "device_added",  # §11.3
    "contact_sync": "contact",  # §11.4
}

# §2: the order in which chatd writes a card's members.
CARD_ORDER = ["v", "user", "enc", "sig"]


def fmt_own(c) -> str:
    return (
        f"{c['vectors']} of {len(OWN_VECTORS)} own-account vectors follow §11 (payload rules "
        f"and recipients), {c['bad']} invalid variants fail with the expected rule, "
        f"{c['good']} valid variants pass, {c['self']} last-writer and example self-checks"
    )


def _writer_form(obj: dict) -> bytes:
    """The payload as chatd writes it (§4: compact, members in the order of
    the table; §2: card members v, user, enc, sig), from its parsed object."""
    t = obj["type"]
    if t == "text":
        return od.text_to_payload(obj["body"], obj["to"], obj.get("reply_to"))
    if t == "receipt":
        return od.read_receipt_payload(obj["ids"])
    if t == "device_added":
        return od.device_added_payload(obj["name"])
    return od.contact_payload(obj["user"], obj["state"], obj.get("card"), obj["at"], obj["device"])


def _check_own_vector(v, opened, cards, problems, notes) -> dict | None:
    """One of §11's valid vectors, already opened by _check_valid_v2: the
    own account is among its recipients and opened it, its payload follows
    the rules of its kind, and its recipients are the ones §11 names.
    Returns the parsed payload if all of that holds."""
    name = v["name"]
    where = f"v2.own.{name}"
    frm = v["from"]
    sealed_users = [e.get("user") for e in v["sealed"].get("to", [])]
    # §11: a device reaches its own other devices by naming its own account
    # among the recipients, and they open it with the account's own card.
    if frm not in sealed_users or frm not in v["to"]:
        problems.append(f"{where}: the sender's account {frm!r} is not among the recipients "
                        f"{sealed_users} (§11)")
        return None
    payload = opened.get(frm)
    if payload is None:
        problems.append(f"{where}: {frm}'s own delivered form did not open (see v2.valid.{name})")
        return None
    try:
        obj = od.check_own_payload(payload)
    except od.RuleError as e:
        problems.append(f"{where}: payload breaks rule {e.rule} ({od.RULES[e.rule]}): {e.detail}; "
                        f"payload {payload[:120]!r}")
        return None
    want_type = OWN_VECTORS[name]
    if obj["type"] != want_type:
        problems.append(f"{where}: payload type {obj['type']!r}, §11 gives this case a {want_type!r}")
        return None
    # Recipients: §11.1 "sealed to the contact and the own account"; §11.2
    # "to its own account only (... the account as the only recipient)";
    # §11.3 and §11.4 "to its own account only".
    if want_type == "text":
        want_users = sorted({frm, obj["to"]}, key=lambda u: u.encode("ascii"))
        rule = "§11.1: sealed to the contact named by `to` and the own account"
    else:
        want_users = [frm]
        rule = "§11.2-§11.4: sealed to the own account only"
    if sealed_users != want_users:
        problems.append(f"{where}: sealed to {sealed_users}, {rule} gives {want_users}")
        return None
    # The vector's card of bob is the keys' card of bob (a consistency of the
    # file, not a rule of the text: a NOTE if not).
    if want_type == "contact" and obj["state"] != "removed" and obj["user"] in cards:
        fp = p.as_card(obj["card"]).fingerprint()
        if fp != cards[obj["user"]].fingerprint():
            notes.append(f"{where}: the card of {obj['user']} is not the one in the file's keys")
    # The writer's form (compact, the tables' order) is chatd's, not a rule
    # for readers: a NOTE where the vector's bytes are another form.
    mine = _writer_form(obj)
    if mine != payload:
        rest_differs = True
        if want_type == "contact" and "card" in obj and list(obj["card"]) != CARD_ORDER:
            notes.append(
                f"{where}: the card in the payload has its members in the order "
                f"{list(obj['card'])}; §2 says chatd writes them in the order {CARD_ORDER} "
                "(readers take any order, so nothing else depends on it)"
            )
            # the rest of the payload in the writer's form, with the card as sent
            as_sent = json.loads(mine.decode("utf-8"))
            as_sent["card"] = obj["card"]
            rest_differs = p.compact_json(as_sent) != payload
        if rest_differs:
            notes.append(f"{where}: the payload is not in the form §4 says chatd writes: "
                         f"{_first_difference(mine.decode('utf-8'), payload.decode('utf-8'))}")
    return obj


def _own_variants(base: dict, cards) -> list:
    """(label, payload bytes, rule it breaks or None) built from the parsed
    payloads of §11's vectors, one rule broken at a time."""
    text, receipt, added, contact = (base[k] for k in ("text", "receipt", "device_added", "contact"))
    carol_card = od.card_obj(cards["carol"])
    id0 = "00112233445566778899aabbccddeeff"

    def j(obj) -> bytes:
        return p.compact_json(obj)

    def without(obj, key):
        return {k: x for k, x in obj.items() if k != key}

    def edit(data: bytes, old: bytes, new: bytes) -> bytes:
        # a byte-level edit for what a dict cannot say (repeats, escapes);
        # it must apply, or the variant would test nothing
        assert old in data, f"{old!r} not in {data[:80]!r}"
        return data.replace(old, new, 1)

    out = []
    add = out.append
    # -------------------------------------------------------- §11.1 text
    add(("text_no_to", j(without(text, "to")), "text_to"))
    add(("text_to_uppercase", j(dict(text, to="Bob")), "text_to"))
    add(("text_to_newline", j(dict(text, to="bob\n")), "text_to"))
    add(("text_to_null", j(dict(text, to=None)), "text_to"))
    add(("text_to_array", j(dict(text, to=["bob"])), "text_to"))
    add(("text_body_missing", j(without(text, "body")), "text_body"))
    add(("text_body_number", j(dict(text, body=1)), "text_body"))
    add(("text_reply_to_upper", j(dict(text, reply_to=id0.upper())), "text_reply_to"))
    add(("text_to_repeated", j(text)[:-1] + b',"to":"carol"}', "json"))
    add(("text_reply_to_id", j(dict(text, reply_to=id0)), None))
    add(("text_reply_to_null", j(dict(text, reply_to=None)), None))  # §4: or null for none
    add(("text_unknown_member", j(dict(text, sent_from="laptop")), None))  # §4: ignored
    add(("text_member_order", j(dict(reversed(list(text.items())))), None))
    add(("text_escaped", edit(j(text), b'"to":', b'"\\u0074o":'), None))
    # ------------------------------------------------------ §11.2 receipt
    add(("receipt_delivered", j(dict(receipt, kind="delivered")), "receipt_not_read"))
    add(("receipt_kind_seen", j(dict(receipt, kind="seen")), "receipt_kind"))
    add(("receipt_kind_missing", j(without(receipt, "kind")), "receipt_kind"))
    add(("receipt_ids_empty", j(dict(receipt, ids=[])), "receipt_ids"))
    add(("receipt_ids_uppercase", j(dict(receipt, ids=[id0.upper()])), "receipt_ids"))
    add(("receipt_ids_string", j(dict(receipt, ids=id0)), "receipt_ids"))
    add(("receipt_ids_repeated", j(dict(receipt, ids=[id0, id0])), None))  # §4: repeats allowed
    # ------------------------------------------------ §11.3 device_added
    add(("name_empty", j(dict(added, name="")), "name_length"))
    add(("name_33_bytes", j(dict(added, name="x" * 33)), "name_length"))
    add(("name_33_bytes_11_chars", j(dict(added, name="日" * 11)), "name_length"))
    add(("name_newline", j(dict(added, name="lap\ntop")), "name_control"))
    add(("name_tab", j(dict(added, name="lap\ttop")), "name_control"))
    add(("name_nul_escaped", b'{"type":"device_added","name":"lap\\u0000top"}', "name_control"))
    add(("name_del", j(dict(added, name="lap\x7ftop")), "name_control"))
    add(("name_c1_nel", j(dict(added, name="lap\u0085top")), "name_control"))
    add(("name_missing", j(without(added, "name")), "name_string"))
    add(("name_null", j(dict(added, name=None)), "name_string"))
    add(("name_number", j(dict(added, name=7)), "name_string"))
    add(("name_lone_surrogate", b'{"type":"device_added","name":"\\ud800"}', "json"))
    add(("name_32_bytes", j(dict(added, name="x" * 32)), None))
    add(("name_32_bytes_16_chars", j(dict(added, name="é" * 16)), None))
    add(("name_one_byte", j(dict(added, name="x")), None))
    add(("name_emoji", j(dict(added, name="laptop 👩‍💻")), None))
    add(("name_format_char", j(dict(added, name="lap\u202etop")), None))  # Cf, not Cc
    # ---------------------------------------------------- §11.4 contact
    removed = without(dict(contact, state="removed"), "card")
    add(("contact_removed_with_card", j(dict(contact, state="removed")), "contact_card_presence"))
    add(("contact_removed_card_null", j(dict(removed, card=None)), "contact_card_presence"))
    add(("contact_pinned_without_card", j(without(dict(contact, state="pinned"), "card")),
         "contact_card_presence"))
    add(("contact_verified_without_card", j(without(contact, "card")), "contact_card_presence"))
    add(("contact_card_null", j(dict(contact, card=None)), "contact_card_object"))
    add(("contact_card_as_text", j(dict(contact, card=json.dumps(contact["card"]))),
         "contact_card_object"))
    add(("contact_card_other_user", j(dict(contact, card=carol_card)), "contact_card_user"))
    add(("contact_card_user_renamed", j(dict(contact, card=dict(contact["card"], user="carol"))),
         "contact_card_user"))
    add(("contact_card_extra_member", j(dict(contact, card=dict(contact["card"], x=1))), "contact_card"))
    add(("contact_card_missing_sig", j(dict(contact, card=without(contact["card"], "sig"))),
         "contact_card"))
    add(("contact_card_v_2", j(dict(contact, card=dict(contact["card"], v=2))), "contact_card"))
    add(("contact_card_v_float", j(dict(contact, card=dict(contact["card"], v=1.0))), "contact_card"))
    add(("contact_card_enc_not_b64", j(dict(contact, card=dict(contact["card"], enc="!!"))),
         "contact_card"))
    add(("contact_card_user_invalid", j(dict(contact, user="Bob", card=dict(contact["card"], user="Bob"))),
         "contact_user"))
    add(("contact_card_repeated_member", edit(j(contact), b'"card":{', b'"card":{"v":1,'), "json"))
    add(("contact_device_uppercase", j(dict(contact, device=contact["device"].upper())),
         "contact_device"))
    add(("contact_device_15", j(dict(contact, device=contact["device"][:15])), "contact_device"))
    add(("contact_device_17", j(dict(contact, device=contact["device"] + "0")), "contact_device"))
    add(("contact_device_number", j(dict(contact, device=1234567890123456)), "contact_device"))
    add(("contact_device_missing", j(without(contact, "device")), "contact_device"))
    add(("contact_at_float", j(dict(contact, at=float(contact["at"]))), "contact_at"))
    add(("contact_at_exponent", edit(j(contact), b'"at":%d' % contact["at"], b'"at":%de0' % contact["at"]),
         "contact_at"))
    add(("contact_at_string", j(dict(contact, at=str(contact["at"]))), "contact_at"))
    add(("contact_at_bool", j(dict(contact, at=True)), "contact_at"))
    add(("contact_at_negative", j(dict(contact, at=-1)), "contact_at"))
    add(("contact_at_missing", j(without(contact, "at")), "contact_at"))
    add(("contact_state_blocked", j(dict(contact, state="blocked")), "contact_state"))
    add(("contact_state_missing", j(without(contact, "state")), "contact_state"))
    add(("contact_user_missing", j(without(contact, "user")), "contact_user"))
    add(("contact_removed", j(removed), None))
    add(("contact_pinned", j(dict(contact, state="pinned")), None))
    add(("contact_at_zero", j(dict(contact, at=0)), None))
    add(("contact_unknown_member", j(dict(contact, note="x")), None))  # §4: ignored
    add(("contact_card_member_order", j(dict(contact, card={k: contact["card"][k] for k in CARD_ORDER})),
         None))
    # ----------------------------------------------------------- any kind
    add(("not_json", b'{"type":"text",', "json"))
    add(("not_utf8", b'{"type":"device_added","name":"\xff"}', "json"))
    add(("array", b'[{"type":"text"}]', "object"))
    add(("type_missing", j(without(added, "type")), "type"))
    add(("type_other", j(dict(added, type="device_removed")), "type"))
    return out


def _check_own_devices(vec, own_vectors, cards, problems, c, notes):
    # The four vectors: rules of their payloads and of their recipients.
    base = {}
    if vec is not None:
        for name, kind in OWN_VECTORS.items():
            if name not in own_vectors:
                problems.append(f"v2.own: §11 names the valid case {name!r}; it is not in the file")
                continue
            v, opened = own_vectors[name]
            obj = _check_own_vector(v, opened, cards, problems, notes)
            if obj is not None:
                c["vectors"] += 1
                base[kind] = obj
    # Variants are built from the vectors' payloads; a kind whose vector did
    # not pass is built from the writers instead, so the rules still run.
    T, D = 1764100503000, "5be0c1d7a4f29e36"
    fallback = {
        "text": od.text_to_payload("deploy done", "bob"),
        "receipt": od.read_receipt_payload(["00112233445566778899aabbccddeeff"]),
        "device_added": od.device_added_payload("laptop"),
        "contact": od.contact_payload("bob", "verified", cards["bob"], T, D),
    }
    for kind, pl in fallback.items():
        base.setdefault(kind, json.loads(pl.decode("utf-8")))
    for label, payload, want in _own_variants(base, cards):
        where = f"v2.own.variant.{label}"
        got = od.failed_rule(payload)
        if got != want:
            problems.append(f"{where}: {'passes' if got is None else 'fails ' + got}, expected "
                            f"{'to pass' if want is None else want}; payload {payload[:140]!r}")
        elif want is None:
            c["good"] += 1
        else:
            c["bad"] += 1
    # §11.4's last-writer rule, with the file's cards (carol's keys stand in
    # for another key of bob).
    try:
        c["self"] += od.selftest(bob_card=cards["bob"], other_bob_keys_card=cards["carol"],
                                 alice_card=cards["alice"])
    except AssertionError as e:
        problems.append(f"v2.own.self: {e}")


PY_SEALED_V2_PAYLOADS = [
    ("text_non_ascii", p.text_payload("grüße, ça va? 日本語 👍🏽 \"q\" \\ \n\t")),
    ("receipt", p.receipt_payload(
        ["00112233445566778899aabbccddeeff", "ffeeddccbbaa99887766554433221100",
         "00112233445566778899aabbccddeeff"], "delivered")),
    ("text_reply_to", p.text_payload("yes, agreed", reply_to="0123456789abcdef0123456789abcdef")),
]


def _python_sealed_v2(ids, cards, contacts_of, problems, counts):
    out = []
    ts = 1764000400123
    for sender, rcpts in (("alice", ["bob", "carol"]), ("bob", ["alice", "carol"]), ("carol", ["alice", "bob"])):
        for pname, pl in PY_SEALED_V2_PAYLOADS:
            ts += 1000
            label = f"py_v2_{sender}_to_{'_'.join(rcpts)}_{pname}"
            sealed = q.seal_v2(ids[sender], [cards[u] for u in rcpts], pl, ts=ts)
            parts = q.split(p.compact_json(sealed))
            for u in rcpts:
                try:
                    got = q.open_delivered(ids[u], p.compact_json(parts[u]), contacts_of(u, cards), set())
                except p.ProtocolError as e:
                    problems.append(f"v2.write.{label}: {u} refused it: {e.name}")
                    return None
                if got != pl:
                    problems.append(f"v2.write.{label}: {u} got another payload")
                    return None
            out.append({"name": label, "from": sender, "to": rcpts,
                        "payload": pl.decode("utf-8"), "sealed": sealed})
            counts["written"] += 1
    return out


# ===========================================================================
# Identity backup (§10)

BACKUP_SELF_PARAMS = (65536, 1, 1)  # m, t, p: the cheapest allowed, to stay fast


def fmt_backup(c) -> str:
    src = "" if c["file"] else " (no vectors file)"
    return (
        f"{c['valid']} valid sealed byte-exact and opened{src}, {c['invalid']} invalid "
        f"rejected with the expected error, {c['self']} self-checks"
    )


class _Derived(Exception):
    """Raised by the stand-in for Argon2id: a key derivation was attempted."""


class _NoArgon2id:
    def __init__(self, *a, **kw):
        raise _Derived()


class _no_derivation:
    """Within it, any Argon2id derivation in backup.py raises _Derived."""

    def __enter__(self):
        self.saved = bk.Argon2id
        bk.Argon2id = _NoArgon2id

    def __exit__(self, *exc):
        bk.Argon2id = self.saved
        return False


def check_backup(path: str):
    problems: list[str] = []
    notes: list[str] = []
    counts = {"valid": 0, "invalid": 0, "self": 0, "file": False}
    try:
        _check_backup(path, problems, counts, notes)
    except Exception as e:  # a crash is a failure, never a skip
        import traceback

        problems.append(f"backup: checker crashed: {e!r}\n{traceback.format_exc()}")
    try:
        _self_tests_backup(problems, counts)
    except Exception as e:
        import traceback

        problems.append(f"backup.self: crashed: {e!r}\n{traceback.format_exc()}")
    return problems, counts, notes


def _first_difference(mine: str, theirs: str) -> str:
    try:
        a, b = json.loads(mine), json.loads(theirs)
        if isinstance(a, dict) and isinstance(b, dict):
            diff = [k for k in list(a) + [k for k in b if k not in a] if canon(a.get(k)) != canon(b.get(k))]
            if diff:
                return "members differ: " + ", ".join(diff)
            if list(a) != list(b):
                return f"member order: mine {list(a)} vs vector {list(b)}"
    except ValueError:
        pass
    i = next((k for k in range(min(len(mine), len(theirs))) if mine[k] != theirs[k]), min(len(mine), len(theirs)))
    return f"first difference at offset {i}: mine {mine[i:i + 40]!r} vs vector {theirs[i:i + 40]!r}"


def _check_backup(path, problems, counts, notes):
    if not os.path.exists(path):
        notes.append(f"backup vectors file {path} does not exist yet; backup vectors skipped "
                     "(the backup self-tests still ran)")
        return
    counts["file"] = True
    with open(path, "rb") as f:
        vec = json.loads(f.read().decode("utf-8"))
    if vec.get("version") != 1:
        problems.append(f"backup: version is {vec.get('version')!r}, expected 1")
    missing = {"version", "valid", "invalid"} - set(vec)
    if missing:
        problems.append(f"backup: top-level members {sorted(missing)} missing")
    unknown = set(vec) - {"version", "description", "valid", "invalid"}
    if unknown:
        notes.append(f"backup: top-level members {sorted(unknown)} not checked")
    if not vec.get("valid") or not vec.get("invalid"):
        problems.append("backup: valid and invalid must each be non-empty")

    for v in vec.get("valid", []):
        where = f"backup.valid.{v.get('name')}"
        try:
            _check_valid_backup(v, where, problems, counts, notes)
        except Exception as e:
            problems.append(f"{where}: checker crashed: {e!r}")

    seen_errors = set()
    for v in vec.get("invalid", []):
        where = f"backup.invalid.{v.get('name')}"
        want = v.get("error")
        if want not in bk.ERROR_NAMES:
            problems.append(f"{where}: error {want!r} is not one of {list(bk.ERROR_NAMES)}")
            continue
        seen_errors.add(want)
        data = v["backup"].encode("utf-8")
        # Steps 1-3 must refuse before any key is derived (§10.3 step 3).
        early = want in ("malformed", "unsupported", "weak_or_costly")
        try:
            if early:
                with _no_derivation():
                    bk.open_backup(v["passphrase"], data, v["user"])
            else:
                bk.open_backup(v["passphrase"], data, v["user"])
        except _Derived:
            problems.append(f"{where}: passed steps 1-3 and derived a key; vector says {want}")
            continue
        except bk.BackupError as e:
            if e.name != want:
                problems.append(f"{where}: failed with {e.name} ({e.detail}), vector says {want}")
            else:
                counts["invalid"] += 1
            continue
        problems.append(f"{where}: opened, vector says {want}")
    not_covered = [n for n in bk.ERROR_NAMES if n not in seen_errors]
    if not_covered and vec.get("invalid"):
        notes.append(f"backup: no invalid vector for {', '.join(not_covered)}")


def _check_valid_backup(v, where, problems, counts, notes):
    try:
        salt = p.b64d_strict(v["salt"])
        iv = p.b64d_strict(v["iv"])
    except ValueError as e:
        problems.append(f"{where}: salt/iv not strict b64: {e}")
        return
    plain = v["plaintext"].encode("utf-8")
    ok = True
    try:
        mine = bk.seal_backup(v["passphrase"], plain, v["m"], v["t"], v["p"], salt, iv)
    except ValueError as e:
        problems.append(f"{where}: seal_backup refused the inputs: {e}")
        mine = None
        ok = False
    if mine is not None and mine != v["backup"]:
        problems.append(f"{where}: sealed text differs from the vector's backup: "
                        f"{_first_difference(mine, v['backup'])}")
        ok = False
    try:
        got, contents = bk.open_backup_raw(v["passphrase"], v["backup"].encode("utf-8"), v["user"])
    except bk.BackupError as e:
        problems.append(f"{where}: open_backup refused it: {e.name} ({e.detail})")
        return
    if got != plain:
        problems.append(f"{where}: opened plaintext {got[:80]!r}... != vector plaintext {plain[:80]!r}...")
        ok = False
    # §10.1 says chatd writes M compact, members in the stated order (and §2
    # says it writes cards v, user, enc, sig). Readers do not depend on it, so
    # a difference is a NOTE (like the v2 file vs §8.7), not a failure.
    if p.compact_json(contents) != plain:
        notes.append(f"{where}: plaintext is not compact JSON as §10.1 describes M "
                     f"({_first_difference(p.compact_json(contents).decode('utf-8'), v['plaintext'])})")
    _note_contents_order(contents, where, notes)
    if not bk.passphrase_ok(v["passphrase"]):
        notes.append(f"{where}: passphrase estimate {bk.passphrase_bits(v['passphrase']):.1f} bits "
                     "is below 80 (§10.4: chatd would not seal under it)")
    if ok:
        counts["valid"] += 1


def _note_contents_order(contents: dict, where: str, notes: list) -> None:
    """NOTEs where a plaintext's member order differs from the writer's order
    of §10.1 (and §2 for cards, §12.5 for history items). Readers do not
    depend on it, so it is never a failure."""
    order = [k for k in bk.CONTENTS_ORDER if k in contents]
    if list(contents) != order:
        notes.append(f"{where}: plaintext members in order {list(contents)}; §10.1 says {order}")
    card_order = ["v", "user", "enc", "sig"]
    odd = [c["card"]["user"] for c in contents["contacts"] if list(c["card"]) != card_order]
    if odd:
        notes.append(f"{where}: contact card(s) of {odd} not in §2's writing order {card_order}")
    for i, h in enumerate(contents.get("history", [])):
        h_order = [k for k in bk.HISTORY_ORDER if k in h]
        if list(h) != h_order:
            notes.append(f"{where}: history[{i}] members in order {list(h)}; §12.5 says {h_order}")
            break


def _self_tests_backup(problems, counts):
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.asymmetric import rsa as _rsa

    m0, t0, p0 = BACKUP_SELF_PARAMS
    pw = "correct horse battery staple 7"

    def ok(label: str, cond: bool, detail: str = ""):
        if cond:
            counts["self"] += 1
        else:
            problems.append(f"backup.self.{label}: {detail or 'failed'}")

    # The primitive: RFC 9106 §5.3's Argon2id vector (version 0x13).
    tag = bk.Argon2id(salt=b"\x02" * 16, length=32, iterations=3, lanes=4, memory_cost=32,
                      ad=b"\x04" * 12, secret=b"\x03" * 8).derive(b"\x01" * 32)
    ok("argon2id_rfc9106", tag.hex() == "0d640df58d78766c08c037a34a8b53c9d01ef0452d75b65eb52520e96b01e659")

    # ---------------------------------------------------- round trip (fresh keys)
    a_enc, a_sig = p.generate_keypair(2048), p.generate_keypair(2048)
    b_key = p.generate_keypair(2048)
    bob = p.make_card("bob", b_key, b_key)  # one key pair as enc and sig: §2 allows it
    plain = bk.make_contents("alice", a_enc, a_sig, [(bob, True)], 1764000000000)
    salt, iv = os.urandom(16), os.urandom(16)
    text = bk.seal_backup(pw, plain, m0, t0, p0, salt, iv)
    obj = json.loads(text)
    ok("sealed_form", list(obj) == ["v", "kdf", "iv", "ct", "tag"]
       and list(obj["kdf"]) == ["alg", "m", "t", "p", "salt"]
       and p.compact_json(obj).decode("utf-8") == text
       and obj["kdf"] == {"alg": "argon2id", "m": m0, "t": t0, "p": p0, "salt": p.b64e(salt)}
       and obj["iv"] == p.b64e(iv)
       and len(base64.b64decode(obj["ct"])) == 16 * (len(plain) // 16 + 1)
       and len(base64.b64decode(obj["tag"])) == 32, f"unexpected sealed form {text[:200]}")
    ok("seal_deterministic", bk.seal_backup(pw, plain, m0, t0, p0, salt, iv) == text)
    try:
        got, contents = bk.open_backup_raw(pw, text.encode("utf-8"), "alice")
        ok("round_trip", got == plain and contents["user"] == "alice"
           and contents["contacts"] == [{"card": json.loads(bob.to_json_bytes()), "verified": True}]
           and p.compact_json(contents) == plain, "plaintext or contents changed")
    except bk.BackupError as e:
        problems.append(f"backup.self.round_trip: refused with {e.name} ({e.detail})")
        return
    try:
        bk.open_backup(pw, text.encode("utf-8") + b"\n", "alice")  # RFC 8259 allows it
        ok("trailing_newline_accepted", True)
    except bk.BackupError as e:
        problems.append(f"backup.self.trailing_newline_accepted: {e.name} ({e.detail})")
    upw = "pässwörd ✓ 🚀 ünïcödé"
    try:
        bk.open_backup(upw, bk.seal_backup(upw, plain, m0, t0, p0, salt, iv), "alice")
        ok("round_trip_non_ascii_passphrase", True)
    except bk.BackupError as e:
        problems.append(f"backup.self.round_trip_non_ascii_passphrase: {e.name} ({e.detail})")

    # ---------------------------------------------------------- refusals
    def expect(label, data, want, passphrase=pw, user="alice", derive=None):
        """derive: None = don't care, False = must refuse before any key derivation,
        True = must get past step 3 (checked with the Argon2id stand-in)."""
        if isinstance(data, dict):
            data = p.compact_json(data)
        elif isinstance(data, str):
            data = data.encode("utf-8")
        try:
            if derive is None:
                bk.open_backup(passphrase, data, user)
            else:
                with _no_derivation():
                    bk.open_backup(passphrase, data, user)
            problems.append(f"backup.self.{label}: opened, expected {want}")
        except _Derived:
            if derive:
                counts["self"] += 1
            else:
                problems.append(f"backup.self.{label}: derived a key, expected {want} before that")
        except bk.BackupError as e:
            if derive:
                problems.append(f"backup.self.{label}: {e.name} ({e.detail}), expected to reach step 4")
            elif e.name != want:
                problems.append(f"backup.self.{label}: got {e.name} ({e.detail}), expected {want}")
            else:
                counts["self"] += 1

    def mut(kdf=None, **kw):
        d = json.loads(text)
        d.update(kw)
        if kdf:
            d["kdf"].update(kdf)
        return d

    def flip(b64text, i=0):
        raw = bytearray(base64.b64decode(b64text))
        raw[i] ^= 1
        return p.b64e(bytes(raw))

    W = "wrong_passphrase_or_tampered"
    # step 4: anything the tag covers, or another passphrase
    expect("ct_first_byte", mut(ct=flip(obj["ct"])), W)
    expect("ct_last_byte", mut(ct=flip(obj["ct"], -1)), W)
    expect("iv_flipped", mut(iv=flip(obj["iv"])), W)
    expect("salt_flipped", mut(kdf={"salt": flip(obj["kdf"]["salt"])}), W)
    expect("tag_flipped", mut(tag=flip(obj["tag"])), W)
    expect("tag_last_byte", mut(tag=flip(obj["tag"], -1)), W)
    expect("m_changed", mut(kdf={"m": m0 + 1}), W)
    expect("t_changed", mut(kdf={"t": t0 + 1}), W)
    expect("p_changed", mut(kdf={"p": p0 + 1}), W)
    expect("ct_block_dropped", mut(ct=p.b64e(base64.b64decode(obj["ct"])[:-16])), W)
    expect("wrong_passphrase", text, W, passphrase=pw + "8")
    expect("passphrase_trailing_space", text, W, passphrase=pw + " ")
    expect("passphrase_nfd", bk.seal_backup("café horse battery", plain, m0, t0, p0, salt, iv),
           W, passphrase="cafe\u0301 horse battery")  # no normalisation (§10.2: its UTF-8 bytes)
    # step 5: a good tag over a bad padding
    bad_pad = bk.pkcs7_pad(plain)[:-1] + b"\x11"
    expect("bad_padding", bk._seal_padded(pw, bad_pad, m0, t0, p0, salt, iv), W)
    bad_pad = bk.pkcs7_pad(plain)[:-2] + b"\x01\x02"
    expect("bad_padding_inconsistent", bk._seal_padded(pw, bad_pad, m0, t0, p0, salt, iv), W)
    # step 3: refused before deriving; the bounds themselves are allowed
    for label, kdf in (("m_65535", {"m": 65535}), ("m_1048577", {"m": 1048577}),
                       ("t_0", {"t": 0}), ("t_17", {"t": 17}), ("p_0", {"p": 0}), ("p_9", {"p": 9}),
                       ("m_0", {"m": 0})):
        expect(label, mut(kdf=kdf), "weak_or_costly", derive=False)
    # step 3: an integer outside 0..2^32 is malformed, not a cost
    for label, kdf in (("m_negative", {"m": -1}), ("m_2_32", {"m": 2**32}),
                       ("t_negative", {"t": -1}), ("p_2_64", {"p": 2**64})):
        expect(label, mut(kdf=kdf), "malformed", derive=False)
    for label, kdf in (("m_1048576_allowed", {"m": 1048576}), ("t_16_allowed", {"t": 16}),
                       ("p_8_allowed", {"p": 8}), ("all_max_allowed", {"m": 1048576, "t": 16, "p": 8})):
        expect(label, mut(kdf=kdf), "(reaches step 4)", derive=True)
    # step 2
    expect("v_2", mut(v=2), "unsupported", derive=False)
    expect("v_0", mut(v=0), "unsupported", derive=False)
    expect("alg_argon2i", mut(kdf={"alg": "argon2i"}), "unsupported", derive=False)
    expect("alg_uppercase", mut(kdf={"alg": "Argon2id"}), "unsupported", derive=False)
    expect("v_2_weak_params", mut(v=2, kdf={"m": 1}), "unsupported", derive=False)  # step 2 before 3
    # step 1
    M = "malformed"
    raw = text.encode("utf-8")
    for label, cut in (("truncated_1", len(raw) - 1), ("truncated_half", len(raw) // 2),
                       ("truncated_in_ct", raw.index(b'"ct":') + 10), ("truncated_to_1", 1),
                       ("empty", 0)):
        expect(label, raw[:cut], M, derive=False)
    expect("extra_member", mut(x=1), M, derive=False)
    d = mut(); del d["tag"]
    expect("missing_tag", d, M, derive=False)
    expect("kdf_extra_member", mut(kdf={"secret": ""}), M, derive=False)
    d = mut(); del d["kdf"]["salt"]
    expect("kdf_missing_salt", d, M, derive=False)
    expect("kdf_not_object", mut(kdf=None) | {"kdf": [1]}, M, derive=False)
    expect("v_string", mut(v="1"), M, derive=False)
    expect("v_float", mut(v=1.0), M, derive=False)
    expect("v_bool", mut(v=True), M, derive=False)
    expect("v_exponent", raw.replace(b'"v":1,', b'"v":1e0,', 1), M, derive=False)
    expect("m_float", mut(kdf={"m": 65536.0}), M, derive=False)
    expect("m_string", mut(kdf={"m": "65536"}), M, derive=False)
    expect("t_null", mut(kdf={"t": None}), M, derive=False)
    expect("alg_not_string", mut(kdf={"alg": 1}), M, derive=False)
    expect("salt_15", mut(kdf={"salt": p.b64e(salt[:15])}), M, derive=False)
    expect("salt_17", mut(kdf={"salt": p.b64e(salt + b"\0")}), M, derive=False)
    expect("iv_15", mut(iv=p.b64e(iv[:15])), M, derive=False)
    expect("tag_31", mut(tag=p.b64e(base64.b64decode(obj["tag"])[:31])), M, derive=False)
    expect("tag_33", mut(tag=p.b64e(base64.b64decode(obj["tag"]) + b"\0")), M, derive=False)
    expect("ct_empty", mut(ct=""), M, derive=False)
    expect("ct_17", mut(ct=p.b64e(base64.b64decode(obj["ct"])[:17])), M, derive=False)
    expect("ct_not_string", mut(ct=[]), M, derive=False)
    expect("iv_no_padding", mut(iv=obj["iv"].rstrip("=")), M, derive=False)
    expect("iv_whitespace", mut(iv=obj["iv"][:4] + " " + obj["iv"][4:]), M, derive=False)
    expect("iv_urlsafe", mut(iv=p.b64e(b"\xfb\xff" + iv[2:]).replace("+", "-").replace("/", "_")), M, derive=False)
    alpha = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    ivs = obj["iv"]
    expect("iv_trailing_bits", mut(iv=ivs[:-3] + alpha[alpha.index(ivs[-3]) ^ 1] + "=="), M, derive=False)
    expect("v_2_and_salt_15", mut(v=2, kdf={"salt": p.b64e(salt[:15])}), "unsupported", derive=False)  # 2 before 3
    expect("duplicate_member", raw[:-1] + b',"v":1}', M, derive=False)
    expect("duplicate_kdf_member", raw.replace(b'"alg":"argon2id"', b'"alg":"argon2id","alg":"argon2id"', 1),
           M, derive=False)
    expect("bom", b"\xef\xbb\xbf" + raw, M, derive=False)
    expect("not_utf8", raw.replace(b'"v":1', b'"v\xff":1', 1), M, derive=False)
    expect("array", b"[" + raw + b"]", M, derive=False)
    expect("over_64mib", raw + b" " * (bk.BACKUP_MAX_BYTES + 1 - len(raw)), M, derive=False)
    ok("64mib_exactly_parses", bk.parse_backup(raw + b" " * (bk.BACKUP_MAX_BYTES - len(raw)))["v"] == 1)

    # ---------------------------------------------------------- step 6
    expect("user_not_account", text, "bad_contents", user="bob")

    def sealed(pl: bytes) -> bytes:
        return bk.seal_backup(pw, pl, m0, t0, p0, salt, iv).encode("utf-8")

    base_c = json.loads(plain)

    def cmut(**kw):
        d = dict(base_c)
        d.update(kw)
        return p.compact_json(d)

    expect("contents_extra_member_e2e", sealed(cmut(x=1)), "bad_contents")
    expect("contents_not_json_e2e", sealed(b"not json"), "bad_contents")
    expect("contents_empty_e2e", sealed(b""), "bad_contents")

    def contents_bad(label, pl: bytes, user: str = "alice"):
        try:
            bk.check_contents(pl, user)
            problems.append(f"backup.self.contents.{label}: accepted, expected bad_contents")
        except bk.BackupError as e:
            ok(f"contents.{label}", e.name == "bad_contents", f"got {e.name}")

    def contents_good(label, pl: bytes, user: str = "alice"):
        try:
            bk.check_contents(pl, user)
            counts["self"] += 1
        except bk.BackupError as e:
            problems.append(f"backup.self.contents.{label}: refused ({e.detail})")

    def pkcs8(k):
        return p.b64e(k.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                                      serialization.NoEncryption()))

    def pkcs1(k):
        return p.b64e(k.private_bytes(serialization.Encoding.DER,
                                      serialization.PrivateFormat.TraditionalOpenSSL,
                                      serialization.NoEncryption()))

    contact = base_c["contacts"][0]
    card = contact["card"]
    contents_good("base", plain)
    contents_good("member_order_free", p.compact_json(dict(reversed(list(base_c.items())))))
    contents_good("no_contacts", cmut(contacts=[]))
    contents_good("same_key_enc_sig", cmut(sig=base_c["enc"]))
    contents_good("verified_false", cmut(contacts=[dict(contact, verified=False)]))
    contents_good("created_at_0", cmut(created_at=0))
    contents_good("10000_contacts", cmut(contacts=[contact] * bk.CONTACTS_MAX))
    contents_bad("10001_contacts", cmut(contacts=[contact] * (bk.CONTACTS_MAX + 1)))
    contents_bad("not_object", b"[]")
    contents_bad("bom", b"\xef\xbb\xbf" + plain)
    contents_bad("duplicate_member", plain[:-1] + b',"v":1}')
    d = dict(base_c); del d["created_at"]
    contents_bad("missing_created_at", p.compact_json(d))
    contents_bad("extra_member", cmut(device="x"))
    contents_bad("v_2", cmut(v=2))
    contents_bad("v_float", cmut(v=1.0))
    contents_bad("v_bool", cmut(v=True))
    contents_bad("wrong_user", plain, user="bob")
    contents_bad("user_invalid", cmut(user="Alice"), user="Alice")
    contents_bad("enc_not_b64", cmut(enc="!!"))
    contents_bad("enc_b64_not_canonical", cmut(enc=base_c["enc"].rstrip("=") if base_c["enc"].endswith("=")
                                              else base_c["enc"] + "=="))
    contents_bad("enc_pkcs1", cmut(enc=pkcs1(a_enc)))
    contents_bad("enc_public_key", cmut(enc=card["enc"]))
    contents_bad("enc_truncated", cmut(enc=p.b64e(base64.b64decode(base_c["enc"])[:-1])))
    contents_bad("enc_ec", cmut(enc=pkcs8(ec.generate_private_key(ec.SECP256R1()))))
    contents_bad("sig_1024_bits", cmut(sig=pkcs8(_rsa.generate_private_key(public_exponent=65537, key_size=1024))))
    contents_bad("sig_e_3", cmut(sig=pkcs8(_rsa.generate_private_key(public_exponent=3, key_size=2048))))
    contents_bad("enc_not_string", cmut(enc=None))
    contents_bad("contacts_not_array", cmut(contacts=contact))
    contents_bad("contact_missing_verified", cmut(contacts=[{"card": card}]))
    contents_bad("contact_extra_member", cmut(contacts=[dict(contact, fingerprint="x")]))
    contents_bad("contact_verified_int", cmut(contacts=[dict(contact, verified=1)]))
    contents_bad("contact_card_as_string", cmut(contacts=[dict(contact, card=json.dumps(card))]))
    contents_bad("contact_card_extra_member", cmut(contacts=[dict(contact, card=dict(card, x=1))]))
    contents_bad("contact_card_bad_user", cmut(contacts=[dict(contact, card=dict(card, user="B"))]))
    contents_bad("contact_card_v_2", cmut(contacts=[dict(contact, card=dict(card, v=2))]))
    small = _rsa.generate_private_key(public_exponent=65537, key_size=1024)
    contents_bad("contact_card_1024_bits", cmut(contacts=[dict(contact, card=dict(card, enc=p.b64e(p.spki_der(small))))]))
    contents_bad("created_at_negative", cmut(created_at=-1))
    contents_bad("created_at_float", cmut(created_at=1.5))
    contents_bad("created_at_string", cmut(created_at="1764000000000"))
    contents_bad("created_at_2_64", cmut(created_at=2**64))

    # groups (§10.1): shape only, the roster text is opaque
    gid = "0123456789abcdef0123456789abcdef"
    roster = {"text": '{"v":1}', "sender": "alice"}
    group = {"id": gid, "rosters": [roster]}
    contents_good("groups_one", cmut(groups=[group]))
    contents_good("groups_empty", cmut(groups=[]))
    contents_good("groups_1000", cmut(groups=[group] * bk.GROUPS_MAX))
    contents_good("rosters_1000", cmut(groups=[dict(group, rosters=[roster] * bk.ROSTERS_MAX)]))
    contents_good("roster_text_not_a_roster", cmut(groups=[dict(group, rosters=[dict(roster, text="")])]))
    contents_bad("groups_1001", cmut(groups=[group] * (bk.GROUPS_MAX + 1)))
    contents_bad("groups_not_array", cmut(groups=group))
    contents_bad("groups_null", cmut(groups=None))
    contents_bad("group_extra_member", cmut(groups=[dict(group, name="ops")]))
    contents_bad("group_missing_rosters", cmut(groups=[{"id": gid}]))
    contents_bad("group_id_uppercase", cmut(groups=[dict(group, id=gid.upper())]))
    contents_bad("group_id_31", cmut(groups=[dict(group, id=gid[:31])]))
    contents_bad("rosters_empty", cmut(groups=[dict(group, rosters=[])]))
    contents_bad("rosters_1001", cmut(groups=[dict(group, rosters=[roster] * (bk.ROSTERS_MAX + 1))]))
    contents_bad("roster_extra_member", cmut(groups=[dict(group, rosters=[dict(roster, ts=1)])]))
    contents_bad("roster_missing_sender", cmut(groups=[dict(group, rosters=[{"text": "{}"}])]))
    contents_bad("roster_text_object", cmut(groups=[dict(group, rosters=[dict(roster, text={"v": 1})])]))
    contents_bad("roster_sender_null", cmut(groups=[dict(group, rosters=[dict(roster, sender=None)])]))

    # history (§12.5): exactly its members, of the right types
    item = {"id": "00112233445566778899aabbccddeeff", "peer": "bob", "dir": "in", "from": "bob",
            "to": "alice", "ts": 1764000000000, "kind": "text", "body": "hi", "state": "read"}
    no_body = {k: x for k, x in item.items() if k != "body"}
    contents_good("history_one", cmut(history=[item]))
    contents_good("history_empty", cmut(history=[]))
    contents_good("history_no_body", cmut(history=[no_body]))
    contents_good("history_reply_to", cmut(history=[dict(item, reply_to="ffeeddccbbaa99887766554433221100")]))
    contents_good("history_unknown_kind_dir_state", cmut(history=[dict(item, kind="poll", dir="x", state="y")]))
    contents_good("history_ts_max", cmut(history=[dict(item, ts=2**64 - 1)]))
    contents_good("history_with_groups", cmut(groups=[group], history=[item]))
    contents_good("history_100000", cmut(history=[no_body] * bk.HISTORY_MAX))
    contents_bad("history_100001", cmut(history=[no_body] * (bk.HISTORY_MAX + 1)))
    contents_bad("history_not_array", cmut(history=item))
    contents_bad("history_item_not_object", cmut(history=["x"]))
    contents_bad("history_extra_member", cmut(history=[dict(item, seen=True)]))
    for name in sorted(bk.HISTORY_MEMBERS):
        contents_bad(f"history_missing_{name}", cmut(history=[{k: x for k, x in item.items() if k != name}]))
    contents_bad("history_body_null", cmut(history=[dict(item, body=None)]))
    contents_bad("history_reply_to_int", cmut(history=[dict(item, reply_to=1)]))
    contents_bad("history_ts_string", cmut(history=[dict(item, ts="1764000000000")]))
    contents_bad("history_ts_float", cmut(history=[dict(item, ts=1.0)]))
    contents_bad("history_ts_negative", cmut(history=[dict(item, ts=-1)]))
    contents_bad("history_ts_2_64", cmut(history=[dict(item, ts=2**64)]))
    contents_bad("history_peer_null", cmut(history=[dict(item, peer=None)]))
    contents_bad("history_state_int", cmut(history=[dict(item, state=3)]))
    contents_bad("history_duplicate_member",
                 cmut(history=[item]).replace(b'"state":"read"', b'"state":"read","state":"read"', 1))
    full = bk.make_contents("alice", a_enc, a_sig, [(bob, False)], 1764000000000,
                            groups=[(gid, [(roster["text"], roster["sender"])])], history=[item])
    full_obj = json.loads(full)
    ok("make_contents_order", list(full_obj) == list(bk.CONTENTS_ORDER)
       and list(full_obj["history"][0]) == [k for k in bk.HISTORY_ORDER if k in item],
       f"members in order {list(full_obj)}")
    contents_good("make_contents_full", full)

    # -------------------------------------------------------------- §10.4
    def bits(label, s, want):
        got = bk.passphrase_bits(s)
        ok(f"bits.{label}", abs(got - want) < 1e-9, f"{s!r}: {got}, expected {want}")

    bits("empty", "", 0.0)
    bits("lower", "abc", 3 * math.log2(26))
    bits("run_counted_once", "aaabbbccc", 3 * math.log2(26))
    bits("runs_only_adjacent", "abab", 4 * math.log2(26))
    bits("upper_digit", "A1", 2 * math.log2(36))
    bits("space_is_punct", "a b", 3 * math.log2(59))
    bits("four_classes", "aB3$", 4 * math.log2(95))
    bits("non_ascii", "é", math.log2(100))
    bits("all_five", "aB3$é", 5 * math.log2(195))
    bits("tab_adds_no_pool", "ab\tc", 4 * math.log2(26))
    bits("emoji_code_points", "👩‍👩‍👧", 5 * math.log2(100))  # 5 code points (ZWJ sequence)
    ok("bits.14_of_95_pass", bk.passphrase_ok("aB3$cD4%eF5&gH"))  # §10.4's example
    ok("bits.12_of_95_fail", not bk.passphrase_ok("aB3$cD4%eF5&"))
    ok("bits.six_words_pass", bk.passphrase_ok("cage polo army fog lid oak"))  # §10.4's example
    ok("bits.short_words_fail", not bk.passphrase_ok("aaaa"))


# ===========================================================================
# Device links (§12)


def fmt_link(c) -> str:
    src = "" if c["file"] else " (no vectors file)"
    return (
        f"{c['codes']} codes shown, read back ({c['typed']} typed forms) and derived{src}, "
        f"{c['bad_codes']} bad codes refused, {c['valid']} valid sealed byte-exact and opened, "
        f"{c['invalid']} invalid rejected with the expected error, {c['self']} self-checks"
    )


def check_link(path: str):
    problems: list[str] = []
    notes: list[str] = []
    counts = {"codes": 0, "typed": 0, "bad_codes": 0, "valid": 0, "invalid": 0, "self": 0,
              "file": False}
    try:
        _check_link(path, problems, counts, notes)
    except Exception as e:  # a crash is a failure, never a skip
        import traceback

        problems.append(f"link: checker crashed: {e!r}\n{traceback.format_exc()}")
    try:
        counts["self"] += lk.selftest()
    except AssertionError as e:
        problems.append(f"link.self: {e}")
    except Exception as e:
        import traceback

        problems.append(f"link.self: crashed: {e!r}\n{traceback.format_exc()}")
    return problems, counts, notes


def _check_link(path, problems, counts, notes):
    if not os.path.exists(path):
        notes.append(f"link vectors file {path} does not exist yet; link vectors skipped "
                     "(the link self-test still ran)")
        return
    counts["file"] = True
    with open(path, "rb") as f:
        vec = json.loads(f.read().decode("utf-8"))
    if vec.get("version") != 1:
        problems.append(f"link: version is {vec.get('version')!r}, expected 1")
    lists = ("codes", "bad_codes", "valid", "invalid")
    missing = ({"version"} | set(lists)) - set(vec)
    if missing:
        problems.append(f"link: top-level members {sorted(missing)} missing")
    unknown = set(vec) - {"version", "description"} - set(lists)
    if unknown:
        notes.append(f"link: top-level members {sorted(unknown)} not checked")
    empty = [name for name in lists if not vec.get(name)]
    if empty:
        problems.append(f"link: {', '.join(empty)} must be non-empty")

    for i, c in enumerate(vec.get("codes", [])):
        try:
            _check_link_code(c, f"link.codes[{i}]", problems, counts)
        except Exception as e:
            problems.append(f"link.codes[{i}]: checker crashed: {e!r}")

    # Any well-formed link, to show that a bad code is refused before the
    # link is looked at (§12.4 step 1).
    some_link = next((v["link"] for v in vec.get("valid", [])), "{}")
    for i, text in enumerate(vec.get("bad_codes", [])):
        where = f"link.bad_codes[{i}] ({text!r})"
        try:
            got = lk.parse_code(text)
            problems.append(f"{where}: read as {got.hex()}, vector says bad_code")
            continue
        except lk.LinkError as e:
            if e.name != "bad_code":
                problems.append(f"{where}: failed with {e.name}, expected bad_code")
                continue
        try:
            lk.open_link(text, some_link, "alice")
            problems.append(f"{where}: opening did not fail")
        except lk.LinkError as e:
            if e.name != "bad_code":
                problems.append(f"{where}: opening failed with {e.name}, expected bad_code")
                continue
        counts["bad_codes"] += 1

    for v in vec.get("valid", []):
        where = f"link.valid.{v.get('name')}"
        try:
            _check_valid_link(v, where, problems, counts, notes)
        except Exception as e:
            problems.append(f"{where}: checker crashed: {e!r}")

    seen_errors = set()
    for v in vec.get("invalid", []):
        where = f"link.invalid.{v.get('name')}"
        want = v.get("error")
        if want not in lk.ERROR_NAMES:
            problems.append(f"{where}: error {want!r} is not one of {list(lk.ERROR_NAMES)}")
            continue
        seen_errors.add(want)
        try:
            lk.open_link(v["code"], v["link"].encode("utf-8"), v["user"])
        except lk.LinkError as e:
            if e.name != want:
                problems.append(f"{where}: failed with {e.name} ({e.detail}), vector says {want}")
            else:
                counts["invalid"] += 1
            continue
        problems.append(f"{where}: opened, vector says {want}")
    # bad_code is covered by bad_codes; no_such_link is the relay's.
    not_covered = [n for n in lk.ERROR_NAMES
                   if n not in seen_errors and n not in ("bad_code", "no_such_link")]
    if not_covered and vec.get("invalid"):
        notes.append(f"link: no invalid vector for {', '.join(not_covered)}")


def _check_link_code(c, where, problems, counts):
    code = bytes.fromhex(c["bytes"])
    if len(code) != lk.CODE_BYTES:
        problems.append(f"{where}: bytes is {len(code)} bytes, §12.1 says {lk.CODE_BYTES}")
        return
    ok = True
    shown = lk.render_code(code)
    if shown != c["text"]:
        problems.append(f"{where}: {c['bytes']} is shown as {shown}, vector says {c['text']}")
        ok = False
    for k, typed in enumerate([c["text"]] + list(c.get("typed", []))):
        try:
            got = lk.parse_code(typed)
        except lk.LinkError as e:
            problems.append(f"{where}: {typed!r} does not read: {e.detail}")
            ok = False
            continue
        if got != code:
            problems.append(f"{where}: {typed!r} reads as {got.hex()}, vector says {c['bytes']}")
            ok = False
        elif k > 0:  # one of `typed`, not `text` itself
            counts["typed"] += 1
    keys = lk.derive(code)
    for name, mine in (("handle", keys.handle_hex), ("ke", keys.ke.hex()), ("km", keys.km.hex())):
        if mine != c.get(name):
            problems.append(f"{where}: {name} {mine} != vector {c.get(name)}")
            ok = False
    if ok:
        counts["codes"] += 1


def _check_valid_link(v, where, problems, counts, notes):
    try:
        iv = p.b64d_strict(v["iv"])
    except ValueError as e:
        problems.append(f"{where}: iv not strict b64: {e}")
        return
    plain = v["plaintext"].encode("utf-8")
    ok = True
    mine = lk.seal_link(v["code"], plain, iv)
    if mine != v["link"]:
        problems.append(f"{where}: sealed text differs from the vector's link: "
                        f"{_first_difference(mine, v['link'])}")
        ok = False
    try:
        got, contents = lk.open_link_raw(v["code"], v["link"].encode("utf-8"), v["user"])
    except lk.LinkError as e:
        problems.append(f"{where}: open_link refused it: {e.name} ({e.detail})")
        return
    if got != plain:
        problems.append(f"{where}: opened plaintext {got[:80]!r}... != vector plaintext {plain[:80]!r}...")
        ok = False
    # As for backups: the writer's form (compact, §10.1's order) is a NOTE.
    if p.compact_json(contents) != plain:
        notes.append(f"{where}: plaintext is not compact JSON as §10.1 describes M "
                     f"({_first_difference(p.compact_json(contents).decode('utf-8'), v['plaintext'])})")
    _note_contents_order(contents, where, notes)
    if ok:
        counts["valid"] += 1


# ===========================================================================
# Key transitions (§13)

# §13.3's steps, numbered, to tell which step an invalid vector names.
TRANSITION_STEP = {"malformed": 3, "unsupported": 2, "wrong_user": 4, "not_pinned": 5,
                   "bad_card": 6, "bad_signature": 7}
TRANSITION_VALID_MEMBERS = {"name", "sender", "pinned", "transition", "card", "counter"}
TRANSITION_INVALID_MEMBERS = {"name", "sender", "pinned", "transition", "error"}
TRANSITION_AT = 1764000000000  # `at` of the transitions made here


def fmt_transition(c) -> str:
    src = "" if c["file"] else " (no vectors file)"
    keys = "" if c["keys"] else " (no vector keys)"
    return (
        f"{c['valid']} valid accepted with the stated card and counter{src}, {c['invalid']} invalid "
        f"rejected with the expected error, {c['remade']} valid remade from the vectors' keys "
        f"(byte-exact but for the signatures), {c['made']} made with the vectors' keys{keys} "
        f"and accepted, {c['self']} self-checks"
    )


def check_transition_vectors(path: str, v2_path: str):
    problems: list[str] = []
    notes: list[str] = []
    counts = {"valid": 0, "invalid": 0, "remade": 0, "made": 0, "self": 0, "file": False,
              "keys": False}
    try:
        _check_transition(path, v2_path, problems, counts, notes)
    except Exception as e:  # a crash is a failure, never a skip
        import traceback

        problems.append(f"transition: checker crashed: {e!r}\n{traceback.format_exc()}")
    try:
        counts["self"] += tr.selftest()
    except AssertionError as e:
        problems.append(f"transition.self: {e}")
    except Exception as e:
        import traceback

        problems.append(f"transition.self: crashed: {e!r}\n{traceback.format_exc()}")
    return problems, counts, notes


def _transition_order(text: str) -> list | None:
    """The member names of a transition text in the order written, or None
    when it is not a JSON object."""
    try:
        pairs = json.loads(text, object_pairs_hook=lambda kv: kv)
    except ValueError:
        return None
    return [k for k, _ in pairs] if isinstance(pairs, list) else None


def _load_transition_keys(v2_path, problems, notes) -> dict:
    """{name: ((enc, sig) private keys, card)} from envelope-v2.json's keys."""
    if not os.path.exists(v2_path):
        notes.append(f"transition: {v2_path} does not exist; no transitions made with the vectors' keys")
        return {}
    with open(v2_path, "rb") as f:
        vec = json.loads(f.read().decode("utf-8"))
    out = {}
    for name, k in vec.get("keys", {}).items():
        where = f"transition.keys.{name}"
        try:
            card = p.parse_card(p.compact_json(k["card"]))
            enc = p.load_private_pkcs8(p.b64d_strict(k["enc_private_pkcs8"]))
            sig = p.load_private_pkcs8(p.b64d_strict(k["sig_private_pkcs8"]))
        except Exception as e:
            problems.append(f"{where}: unusable: {e}")
            continue
        if (p.spki_der(enc), p.spki_der(sig)) != (card.enc_der, card.sig_der):
            problems.append(f"{where}: the private keys are not the card's")
            continue
        out[name] = ((enc, sig), card)
    if set(out) != {"alice", "bob", "carol"}:
        problems.append(f"transition.keys: expected alice, bob and carol, usable: {sorted(out)}")
    return out


def _check_transition(path, v2_path, problems, counts, notes):
    keys = _load_transition_keys(v2_path, problems, notes)
    counts["keys"] = bool(keys)
    if not os.path.exists(path):
        notes.append(f"transition vectors file {path} does not exist yet; transition vectors skipped "
                     "(the transition self-test and the transitions made with the v2 keys still ran)")
        vec = {}
    else:
        counts["file"] = True
        with open(path, "rb") as f:
            vec = json.loads(f.read().decode("utf-8"))
        if vec.get("version") != 1:
            problems.append(f"transition: version is {vec.get('version')!r}, expected 1")
        missing = {"version", "valid", "invalid"} - set(vec)
        if missing:
            problems.append(f"transition: top-level members {sorted(missing)} missing")
        unknown = set(vec) - {"version", "description", "valid", "invalid"}
        if unknown:
            notes.append(f"transition: top-level members {sorted(unknown)} not checked")
        if not vec.get("valid") or not vec.get("invalid"):
            problems.append("transition: valid and invalid must each be non-empty")

    for v in vec.get("valid", []):
        where = f"transition.valid.{v.get('name')}"
        try:
            _check_valid_transition(v, where, keys, problems, counts, notes)
        except Exception as e:
            problems.append(f"{where}: checker crashed: {e!r}")

    seen_errors = set()
    sorted_members = []  # invalid entries not written in §13.1's order
    sig_cases = set()  # (sig_old verifies, sig_new verifies) of the bad_signature entries
    for v in vec.get("invalid", []):
        where = f"transition.invalid.{v.get('name')}"
        want = v.get("error")
        if want not in tr.ERROR_NAMES:
            problems.append(f"{where}: error {want!r} is not one of {list(tr.ERROR_NAMES)}")
            continue
        if set(v) != TRANSITION_INVALID_MEMBERS:
            notes.append(f"{where}: members {sorted(set(v) ^ TRANSITION_INVALID_MEMBERS)} unexpected / missing")
        seen_errors.add(want)
        order = _transition_order(v["transition"])
        if order is not None and tuple(order) != tr.TRANSITION_ORDER:
            sorted_members.append(f"{v.get('name')} ({want})")
        try:
            got = tr.check_transition(v["transition"].encode("utf-8"), v["sender"], v["pinned"])
        except tr.TransitionError as e:
            if e.name != want:
                problems.append(f"{where}: failed with {e.name} ({e.detail}), vector says {want}")
            else:
                counts["invalid"] += 1
                if want == "bad_signature":
                    sig_cases.add(_which_signatures_verify(v))
            continue
        problems.append(f"{where}: accepted (card of {got.card.user!r}, counter {got.counter}), "
                        f"vector says {want}")

    # What the vectors leave to the self-test: said, not a failure.
    if vec.get("invalid"):
        not_covered = [n for n in tr.ERROR_NAMES if n not in seen_errors]
        if not_covered:
            notes.append(f"transition: no invalid vector for {', '.join(not_covered)}")
        if sorted_members:
            later = [s for s in sorted_members
                     if TRANSITION_STEP[s.rsplit("(", 1)[1][:-1]] > 3]
            notes.append(
                f"transition: {len(sorted_members)} invalid vectors are not written in §13.1's member "
                f"order ({'; '.join(sorted_members)}); §13.3 step 3 refuses \"not exactly the members\", "
                f"a set, so order is read as the writer's form, as the {len(later)} of them that expect "
                "a later step's error require")
        if (False, True) not in sig_cases:
            notes.append("transition: no bad_signature vector has a good sig_new and a bad sig_old "
                         f"(cases sig_old/sig_new verify: {sorted(sig_cases)}): a reader that never "
                         "checked sig_old would pass every vector (the self-test's one_key.* cases cover it)")
        if (True, False) not in sig_cases:
            notes.append("transition: no bad_signature vector has a good sig_old and a bad sig_new "
                         f"(cases sig_old/sig_new verify: {sorted(sig_cases)})")

    _made_with_vector_keys(keys, problems, counts)


def _which_signatures_verify(v) -> tuple[bool, bool]:
    """(sig_old verifies with the pinned key, sig_new with the new card's
    key) over the m of the entry's own members; each on its own."""
    obj = p.strict_json_loads(v["transition"].encode("utf-8"))
    m = tr.transition_message(obj["user"], obj["old"], obj["card"], obj["counter"], obj["at"])
    pinned = p.as_card(v["pinned"])
    try:
        new_key = p.parse_card(obj["card"].encode("utf-8")).sig_key
    except p.CardError:
        new_key = None
    ok_old = tr.pss_verify(pinned.sig_key, p.b64d_strict(obj["sig_old"]), m)
    ok_new = new_key is not None and tr.pss_verify(new_key, p.b64d_strict(obj["sig_new"]), m)
    return ok_old, ok_new


def _same_card(a: p.Card, b: p.Card) -> bool:
    return (a.user, a.enc_der, a.sig_der) == (b.user, b.enc_der, b.sig_der)


def _check_valid_transition(v, where, keys, problems, counts, notes):
    if set(v) != TRANSITION_VALID_MEMBERS:
        notes.append(f"{where}: members {sorted(set(v) ^ TRANSITION_VALID_MEMBERS)} unexpected / missing")
    text = v["transition"].encode("utf-8")
    try:
        got = tr.check_transition(text, v["sender"], v["pinned"])
    except tr.TransitionError as e:
        problems.append(f"{where}: refused with {e.name} ({e.detail})")
        return
    ok = True
    want_card = p.as_card(v["card"])
    if not _same_card(got.card, want_card):
        problems.append(f"{where}: moves to the card {got.card.fingerprint()}, vector says "
                        f"{want_card.fingerprint()}")
        ok = False
    if not p.is_int(v["counter"]) or got.counter != v["counter"]:
        problems.append(f"{where}: counter {got.counter}, vector says {v['counter']!r}")
        ok = False
    # chatd's writing form (§13.1: compact, in this order; §2 for the card).
    obj = p.strict_json_loads(text)
    sig_old, sig_new = p.b64d_strict(obj["sig_old"]), p.b64d_strict(obj["sig_new"])
    mine = tr.transition_text(got.user, got.old, got.card_text, got.counter, got.at, sig_old, sig_new)
    if mine != text:
        problems.append(f"{where}: not written as §13.1 says chatd writes it: "
                        f"{_first_difference(mine.decode('utf-8'), v['transition'])}")
        ok = False
    if got.card.to_json_bytes() != got.card_text.encode("utf-8"):
        problems.append(f"{where}: the card text is not written as §2 says chatd writes it: "
                        f"{_first_difference(got.card.to_json_bytes().decode(), got.card_text)}")
        ok = False
    if ok:
        counts["valid"] += 1

    # The same transition made by transition.py from the vector keys it
    # uses: equal to the vector's text once its own signatures are put in.
    pinned = p.as_card(v["pinned"])
    old_keys = next((k for k, c in keys.values()
                     if (c.enc_der, c.sig_der) == (pinned.enc_der, pinned.sig_der)), None)
    new_keys = next((k for k, c in keys.values()
                     if (c.enc_der, c.sig_der) == (got.card.enc_der, got.card.sig_der)), None)
    if old_keys is None or new_keys is None:
        notes.append(f"{where}: its keys are not among envelope-v2.json's; not remade")
        return
    made = tr.make_transition(old_keys, new_keys, got.user, got.counter, got.at)
    made_obj = p.strict_json_loads(made)
    try:
        tr.check_transition(made, v["sender"], v["pinned"])
    except tr.TransitionError as e:
        problems.append(f"{where}: remade from the vectors' keys, refused with {e.name} ({e.detail})")
        return
    # Its own members with the vector's signatures put in.
    remade = tr.transition_text(made_obj["user"], made_obj["old"], made_obj["card"], made_obj["counter"],
                                made_obj["at"], sig_old, sig_new)
    if remade != text:
        problems.append(f"{where}: remade from the vectors' keys, differs from the vector "
                        f"(signatures aside): {_first_difference(remade.decode(), v['transition'])}")
        return
    counts["remade"] += 1


def _made_with_vector_keys(keys, problems, counts):
    """Transitions made by transition.py with envelope-v2.json's private
    keys pass the check (a round trip across the format): each user's card
    to a card of their name with each other identity's keys, then on again
    from that card with the counter one up."""
    names = sorted(keys)
    for user in names:
        old_keys, pinned = keys[user]
        for other in names:
            if other == user:
                continue
            where = f"transition.made.{user}_to_{other}_keys"
            new_keys = keys[other][0]
            text = tr.make_transition(old_keys, new_keys, user, 1, TRANSITION_AT)
            try:
                got = tr.check_transition(text, user, pinned)
            except tr.TransitionError as e:
                problems.append(f"{where}: refused with {e.name} ({e.detail})")
                continue
            want = p.make_card(user, *new_keys)
            if not _same_card(got.card, want) or (got.counter, got.at) != (1, TRANSITION_AT):
                problems.append(f"{where}: accepted, but moves to {got.card.fingerprint()} "
                                f"(counter {got.counter}, at {got.at})")
                continue
            counts["made"] += 1
            # On from there to the third identity's keys, pinned to the card
            # just moved to; the first pin no longer matches.
            third = next(n for n in names if n not in (user, other))
            where2 = f"{where}_then_{third}_keys"
            text2 = tr.make_transition(new_keys, keys[third][0], user, 2, TRANSITION_AT + 1)
            try:
                got2 = tr.check_transition(text2, user, got.card)
            except tr.TransitionError as e:
                problems.append(f"{where2}: refused with {e.name} ({e.detail})")
                continue
            if not _same_card(got2.card, p.make_card(user, *keys[third][0])) or got2.counter != 2:
                problems.append(f"{where2}: accepted, but moves to {got2.card.fingerprint()}")
                continue
            try:
                tr.check_transition(text2, user, pinned)
                problems.append(f"{where2}: accepted with the first pin, expected not_pinned")
                continue
            except tr.TransitionError as e:
                if e.name != "not_pinned":
                    problems.append(f"{where2}: with the first pin: {e.name}, expected not_pinned")
                    continue
            counts["made"] += 1



# ===========================================================================
# Edits, deletes and reactions (§14)

CHANGES_VALID_MEMBERS = {"name", "payload", "fields", "written"}
CHANGES_INVALID_MEMBERS = {"name", "payload", "error"}


def fmt_changes(c) -> str:
    src = "" if c["file"] else " (no vectors file)"
    return (
        f"{c['valid']} valid read to their fields{src}, {c['written']} written byte-exact, "
        f"{c['invalid']} invalid rejected with the expected error, {c['self']} self-checks"
    )


def check_changes_vectors(path: str):
    problems: list[str] = []
    notes: list[str] = []
    counts = {"valid": 0, "written": 0, "invalid": 0, "self": 0, "file": False}
    try:
        _check_changes(path, problems, counts, notes)
    except Exception as e:  # a crash is a failure, never a skip
        import traceback

        problems.append(f"changes: checker crashed: {e!r}\n{traceback.format_exc()}")
    try:
        counts["self"] += ch.selftest()
    except AssertionError as e:
        problems.append(f"changes.self: {e}")
    except Exception as e:
        import traceback

        problems.append(f"changes.self: crashed: {e!r}\n{traceback.format_exc()}")
    return problems, counts, notes


def _check_changes(path, problems, counts, notes):
    if not os.path.exists(path):
        notes.append(f"changes vectors file {path} does not exist yet; changes vectors skipped "
                     "(the changes self-test still ran)")
        return
    counts["file"] = True
    with open(path, "rb") as f:
        vec = json.loads(f.read().decode("utf-8"))
    if vec.get("version") != 1:
        problems.append(f"changes: version is {vec.get('version')!r}, expected 1")
    missing = {"version", "valid", "invalid"} - set(vec)
    if missing:
        problems.append(f"changes: top-level members {sorted(missing)} missing")
    unknown = set(vec) - {"version", "description", "valid", "invalid"}
    if unknown:
        notes.append(f"changes: top-level members {sorted(unknown)} not checked")
    if not vec.get("valid") or not vec.get("invalid"):
        problems.append("changes: valid and invalid must each be non-empty")

    for v in vec.get("valid", []):
        where = f"changes.valid.{v.get('name')}"
        try:
            _check_valid_change(v, where, problems, counts, notes)
        except Exception as e:
            problems.append(f"{where}: checker crashed: {e!r}")

    seen_errors = set()
    for v in vec.get("invalid", []):
        where = f"changes.invalid.{v.get('name')}"
        want = v.get("error")
        if want not in ch.ERROR_NAMES:
            problems.append(f"{where}: error {want!r} is not one of {list(ch.ERROR_NAMES)}")
            continue
        if set(v) != CHANGES_INVALID_MEMBERS:
            notes.append(f"{where}: members {sorted(set(v) ^ CHANGES_INVALID_MEMBERS)} unexpected / missing")
        seen_errors.add(want)
        try:
            got = ch.read_change(v["payload"].encode("utf-8"))
        except ch.ChangeError as e:
            if e.name != want:
                problems.append(f"{where}: failed with {e.name} ({e.detail}), vector says {want}")
            else:
                counts["invalid"] += 1
            continue
        except ch.NotAChange as e:
            problems.append(f"{where}: not an edit, delete or react ({e}), vector says {want}")
            continue
        problems.append(f"{where}: read as {got}, vector says {want}")

    # What the vectors leave to the self-test: said, not a failure.
    if vec.get("invalid"):
        not_covered = [n for n in ch.ERROR_NAMES if n not in seen_errors]
        if not_covered:
            notes.append(f"changes: no invalid vector for {', '.join(not_covered)} "
                         "(the changes self-test covers it)")


def _check_valid_change(v, where, problems, counts, notes):
    if set(v) != CHANGES_VALID_MEMBERS:
        notes.append(f"{where}: members {sorted(set(v) ^ CHANGES_VALID_MEMBERS)} unexpected / missing")
    want = v["fields"]
    if set(want) != set(ch.FIELD_ORDER):
        problems.append(f"{where}: fields {sorted(want)} are not every member of §14.1's table "
                        f"{list(ch.FIELD_ORDER)}")
        return
    try:
        got = ch.read_change(v["payload"].encode("utf-8"))
    except ch.ChangeError as e:
        problems.append(f"{where}: refused with {e.name} ({e.detail})")
        return
    except ch.NotAChange as e:
        problems.append(f"{where}: not an edit, delete or react ({e})")
        return
    if got != want:
        differ = [n for n in ch.FIELD_ORDER if got[n] != want[n]]
        problems.append(f"{where}: read {', '.join(f'{n}={got[n]!r}' for n in differ)}, vector says "
                        f"{', '.join(f'{n}={want[n]!r}' for n in differ)}")
        return
    counts["valid"] += 1
    mine = ch.write_change(got).decode("utf-8")
    if mine != v["written"]:
        problems.append(f"{where}: written differently: {_first_difference(mine, v['written'])}")
        return
    counts["written"] += 1


# ===========================================================================
# Files in chunks (§15)

FILE_VALID_MEMBERS = {"name", "key", "id", "size", "sha256", "blob_length", "blob_sha256", "tags"}
FILE_VALID_OPTIONAL = {"blob"}  # the whole blob, for small files only
FILE_INVALID_MEMBERS = {"name", "of", "change", "error"}
# The changes an invalid vector may make: to its valid vector's chunks,
# applied in this order whatever order the JSON writes them in ...
FILE_BLOB_CHANGES = ("swap", "keep", "truncate_last_by", "repeat_last", "flip")
# ... and to what the reader is told.
FILE_READER_CHANGES = ("size", "id", "sha256")

# chatd/tests/vectors_file.rs: byte i of a vector's file is i * 31 mod 251,
# so the file repeats every 251 bytes.
FILE_PERIOD = bytes(i * 31 % 251 for i in range(251))
FILE_IV_PREFIX = b"chat-file-vector-iv"


def fmt_file(c) -> str:
    src = "" if c["file"] else " (no vectors file)"
    return (
        f"{c['valid']} valid sealed byte-exact ({c['chunks']} chunks' tags, {c['blobs']} whole blobs) "
        f"and opened{src}, {c['invalid']} invalid rejected with the expected error, {c['self']} self-checks"
    )


def check_file_vectors(path: str):
    problems: list[str] = []
    notes: list[str] = []
    counts = {"valid": 0, "chunks": 0, "blobs": 0, "invalid": 0, "self": 0, "file": False}
    try:
        _check_file(path, problems, counts, notes)
    except Exception as e:  # a crash is a failure, never a skip
        import traceback

        problems.append(f"file: checker crashed: {e!r}\n{traceback.format_exc()}")
    try:
        counts["self"] += fc.selftest()
    except AssertionError as e:
        problems.append(f"file.self: {e}")
    except Exception as e:
        import traceback

        problems.append(f"file.self: crashed: {e!r}\n{traceback.format_exc()}")
    return problems, counts, notes


def _vector_file_bytes(start: int, end: int) -> bytes:
    """Bytes start..end of every vector's file."""
    offset = start % len(FILE_PERIOD)
    repeats = (end - start) // len(FILE_PERIOD) + 2
    return (FILE_PERIOD * repeats)[offset:offset + end - start]


def _vector_iv(i: int) -> bytes:
    return hashlib.sha256(FILE_IV_PREFIX + p.u64be(i)).digest()[:fc.IV_BYTES]


def _sha256_hex(text, what: str) -> bytes:
    if not isinstance(text, str) or len(text) != 64 or any(c not in "0123456789abcdef" for c in text):
        raise ValueError(f"{what} is not 64 lowercase hex digits: {text!r}")
    return bytes.fromhex(text)


def _where_in_chunk(size: int, offset: int) -> str:
    """Which chunk of a blob, and which part of it, a byte offset is in."""
    for i in range(fc.chunk_count(size)):
        at = offset - fc.chunk_start(size, i)
        if 0 <= at < fc.chunk_length(size, i):
            part = ("iv" if at < fc.IV_BYTES else
                    "tag" if at >= fc.chunk_length(size, i) - fc.TAG_BYTES else "ciphertext")
            return f"chunk {i}'s {part}, byte {at} of the chunk"
    return "after the last chunk"


def _check_file(path, problems, counts, notes):
    if not os.path.exists(path):
        notes.append(f"file vectors file {path} does not exist yet; file vectors skipped "
                     "(the file_chunks self-test still ran)")
        return
    counts["file"] = True
    with open(path, "rb") as f:
        vec = json.loads(f.read().decode("utf-8"))
    if vec.get("version") != 1:
        problems.append(f"file: version is {vec.get('version')!r}, expected 1")
    missing = {"version", "chunk", "valid", "invalid"} - set(vec)
    if missing:
        problems.append(f"file: top-level members {sorted(missing)} missing")
    unknown = set(vec) - {"version", "description", "chunk", "valid", "invalid"}
    if unknown:
        notes.append(f"file: top-level members {sorted(unknown)} not checked")
    if "chunk" in vec and vec["chunk"] != fc.CHUNK_BYTES:
        problems.append(f"file: chunk is {vec['chunk']!r}, §15.1 says {fc.CHUNK_BYTES}")
    if not vec.get("valid") or not vec.get("invalid"):
        problems.append("file: valid and invalid must each be non-empty")

    # The valid vectors that checked, by name: what their invalid ones change.
    opened: dict[str, dict] = {}
    for v in vec.get("valid", []):
        where = f"file.valid.{v.get('name')}"
        try:
            base = _check_valid_file(v, where, problems, counts, notes)
        except Exception as e:
            problems.append(f"{where}: checker crashed: {e!r}")
            continue
        if base is not None:
            opened[v["name"]] = base

    valid_names = {v.get("name") for v in vec.get("valid", [])}
    seen_errors = set()
    for v in vec.get("invalid", []):
        where = f"file.invalid.{v.get('name')}"
        try:
            _check_invalid_file(v, where, valid_names, opened, seen_errors, problems, counts, notes)
        except Exception as e:
            problems.append(f"{where}: checker crashed: {e!r}")

    # What the vectors leave to the self-test: said, not a failure.
    if vec.get("invalid"):
        not_covered = [n for n in fc.ERROR_NAMES if n not in seen_errors]
        if not_covered:
            notes.append(f"file: no invalid vector for {', '.join(not_covered)} "
                         "(the file_chunks self-test covers it)")


def _check_valid_file(v, where, problems, counts, notes) -> dict | None:
    """Seals the vector's file as §15.2 says and compares; then opens it.
    Gives what its invalid vectors change (None if it did not check)."""
    missing = FILE_VALID_MEMBERS - set(v)
    if missing:
        problems.append(f"{where}: members {sorted(missing)} missing")
        return None
    unknown = set(v) - FILE_VALID_MEMBERS - FILE_VALID_OPTIONAL
    if unknown:
        notes.append(f"{where}: members {sorted(unknown)} not checked")
    try:
        key = p.b64d_strict(v["key"])
        fc.split_key(key)
        blob_id = fc.parse_blob_name(v["id"])
        sha = _sha256_hex(v["sha256"], "sha256")
        fc.chunk_count(v["size"])
    except ValueError as e:
        problems.append(f"{where}: {e}")
        return None
    size = v["size"]

    # The file by the rule, sealed chunk by chunk with the rule's ivs.
    sealer = fc.ChunkSealer(key, blob_id, size)
    digest = hashlib.sha256()
    chunks = []
    for i in range(fc.chunk_count(size)):
        start = i * fc.CHUNK_BYTES
        plaintext = _vector_file_bytes(start, start + fc.plain_length(size, i))
        digest.update(plaintext)
        chunks.append(sealer.seal(plaintext, _vector_iv(i)))
    sealer.finish()
    blob = b"".join(chunks)

    ok = True
    if digest.digest() != sha:
        problems.append(f"{where}: the file made by the rule has SHA-256 {digest.hexdigest()}, "
                        f"the vector says {v['sha256']}")
        ok = False
    if fc.blob_length(size) != v["blob_length"]:
        problems.append(f"{where}: §15.2 gives a file of {size} bytes a blob of {fc.blob_length(size)} "
                        f"bytes, the vector says {v['blob_length']}")
        ok = False
    if len(blob) != v["blob_length"]:
        problems.append(f"{where}: sealed {len(blob)} bytes, the vector says {v['blob_length']}")
        ok = False
    if hashlib.sha256(blob).hexdigest() != v["blob_sha256"]:
        problems.append(f"{where}: the blob's SHA-256 is {hashlib.sha256(blob).hexdigest()}, "
                        f"the vector says {v['blob_sha256']}")
        ok = False
    tags = [c[-fc.TAG_BYTES:].hex() for c in chunks]
    theirs = v["tags"]
    if not isinstance(theirs, list) or len(theirs) != len(tags):
        problems.append(f"{where}: {len(tags)} chunks sealed, the vector has tags {theirs!r}")
        ok = False
    else:
        for i, (mine, stated) in enumerate(zip(tags, theirs)):
            if mine != stated:
                problems.append(f"{where}: chunk {i}'s tag is {mine}, the vector says {stated}")
                ok = False
            else:
                counts["chunks"] += 1
    if "blob" in v:
        try:
            stated_blob = p.b64d_strict(v["blob"])
        except ValueError as e:
            problems.append(f"{where}: blob: {e}")
            return None
        if stated_blob != blob:
            at = next((k for k, (a, b) in enumerate(zip(blob, stated_blob)) if a != b),
                      min(len(blob), len(stated_blob)))
            problems.append(f"{where}: the blob differs from the vector's first at byte {at} "
                            f"({_where_in_chunk(size, at)}); {len(blob)} bytes sealed, "
                            f"{len(stated_blob)} in the vector")
            ok = False
    if not ok:
        return None

    try:
        got = fc.open_bytes(blob, key, blob_id, size, sha)
    except fc.FileError as e:
        problems.append(f"{where}: sealed, but does not open: {e.name} ({e.detail})")
        return None
    if got != _vector_file_bytes(0, size):
        problems.append(f"{where}: opened to {len(got)} bytes that are not the file")
        return None
    counts["valid"] += 1
    counts["blobs"] += "blob" in v
    return {"key": key, "id": blob_id, "size": size, "sha256": sha, "chunks": chunks}


def _apply_file_change(base: dict, change) -> tuple[bytes, dict]:
    """The blob and the reader's inputs after an invalid vector's change;
    ValueError for a change this reading does not understand."""
    if not isinstance(change, dict) or not change:
        raise ValueError(f"change is not a non-empty object: {change!r}")
    unknown = set(change) - set(FILE_BLOB_CHANGES) - set(FILE_READER_CHANGES)
    if unknown:
        raise ValueError(f"unknown changes {sorted(unknown)}")

    def index(x, below: int, what: str) -> int:
        if not p.is_int(x) or not 0 <= x < below:
            raise ValueError(f"{what} {x!r} is not an integer in 0..{below - 1}")
        return x

    chunks = list(base["chunks"])
    if "swap" in change:
        pair = change["swap"]
        if not isinstance(pair, list) or len(pair) != 2:
            raise ValueError(f"swap {pair!r} is not two chunk numbers")
        a, b = (index(x, len(chunks), "swap's chunk") for x in pair)
        chunks[a], chunks[b] = chunks[b], chunks[a]
    if "keep" in change:
        chunks = chunks[:index(change["keep"], len(chunks) + 1, "keep")]
    if "truncate_last_by" in change:
        if not chunks:
            raise ValueError("truncate_last_by with no chunk left")
        by = index(change["truncate_last_by"], len(chunks[-1]) + 1, "truncate_last_by")
        chunks[-1] = chunks[-1][:len(chunks[-1]) - by]
    if "repeat_last" in change:
        if change["repeat_last"] is not True or not chunks:
            raise ValueError(f"repeat_last {change['repeat_last']!r} is not true, or no chunk is left")
        chunks.append(chunks[-1])
    if "flip" in change:
        f = change["flip"]
        if not isinstance(f, dict) or set(f) != {"chunk", "byte", "mask"}:
            raise ValueError(f"flip {f!r} is not an object of chunk, byte and mask")
        c = index(f["chunk"], len(chunks), "flip's chunk")
        at = index(f["byte"], len(chunks[c]), "flip's byte")
        mask = index(f["mask"], 256, "flip's mask")
        changed = bytearray(chunks[c])
        changed[at] ^= mask
        chunks[c] = bytes(changed)

    reader = {name: base[name] for name in ("key", "id", "size", "sha256")}
    if "size" in change:
        if not p.is_int(change["size"]) or change["size"] < 0:
            raise ValueError(f"size {change['size']!r} is not a non-negative integer")
        reader["size"] = change["size"]
    if "id" in change:
        reader["id"] = fc.parse_blob_name(change["id"])
    if "sha256" in change:
        reader["sha256"] = _sha256_hex(change["sha256"], "the change's sha256")
    blob = b"".join(chunks)
    if blob == b"".join(base["chunks"]) and all(reader[n] == base[n] for n in reader):
        raise ValueError("the change changes nothing")
    return blob, reader


def _check_invalid_file(v, where, valid_names, opened, seen_errors, problems, counts, notes):
    if set(v) != FILE_INVALID_MEMBERS:
        notes.append(f"{where}: members {sorted(set(v) ^ FILE_INVALID_MEMBERS)} unexpected / missing")
    want = v.get("error")
    if want not in fc.ERROR_NAMES:
        problems.append(f"{where}: error {want!r} is not one of §15.3's {list(fc.ERROR_NAMES)}")
        return
    seen_errors.add(want)
    base = opened.get(v.get("of"))
    if base is None:
        why = "did not check" if v.get("of") in valid_names else "is not a valid vector's name"
        problems.append(f"{where}: `of` {v.get('of')!r} {why}; its change cannot be made")
        return
    try:
        blob, reader = _apply_file_change(base, v.get("change"))
    except ValueError as e:
        problems.append(f"{where}: change {v.get('change')!r} not understood: {e}")
        return
    try:
        fc.open_bytes(blob, reader["key"], reader["id"], reader["size"], reader["sha256"])
    except fc.FileError as e:
        if e.name != want:
            problems.append(f"{where}: failed with {e.name} ({e.detail}), the vector says {want}")
        else:
            counts["invalid"] += 1
        return
    problems.append(f"{where}: opened, the vector says {want}")



# ===========================================================================
# The `file` payload (§15.4)

FILE_PAYLOAD_VALID_MEMBERS = {"name", "payload", "fields", "written"}
FILE_PAYLOAD_INVALID_MEMBERS = {"name", "payload", "error"}
FILE_PAYLOAD_NAME_MEMBERS = {"name", "shown"}


def fmt_file_payload(c) -> str:
    src = "" if c["file"] else " (no vectors file)"
    return (
        f"{c['valid']} valid read to their fields{src}, {c['written']} written byte-exact, "
        f"{c['invalid']} invalid rejected with the expected error, {c['names']} names shown as stated, "
        f"{c['self']} self-checks"
    )


def check_file_payload_vectors(path: str):
    problems: list[str] = []
    notes: list[str] = []
    counts = {"valid": 0, "written": 0, "invalid": 0, "names": 0, "self": 0, "file": False}
    try:
        _check_file_payload(path, problems, counts, notes)
    except Exception as e:  # a crash is a failure, never a skip
        import traceback

        problems.append(f"file_payload: checker crashed: {e!r}\n{traceback.format_exc()}")
    try:
        counts["self"] += fp.selftest()
    except AssertionError as e:
        problems.append(f"file_payload.self: {e}")
    except Exception as e:
        import traceback

        problems.append(f"file_payload.self: crashed: {e!r}\n{traceback.format_exc()}")
    return problems, counts, notes


def _check_file_payload(path, problems, counts, notes):
    if not os.path.exists(path):
        notes.append(f"file payload vectors file {path} does not exist yet; file payload vectors skipped "
                     "(the file_payload self-test still ran)")
        return
    counts["file"] = True
    with open(path, "rb") as f:
        vec = json.loads(f.read().decode("utf-8"))
    if vec.get("version") != 1:
        problems.append(f"file_payload: version is {vec.get('version')!r}, expected 1")
    missing = {"version", "valid", "invalid", "names"} - set(vec)
    if missing:
        problems.append(f"file_payload: top-level members {sorted(missing)} missing")
    unknown = set(vec) - {"version", "description", "valid", "invalid", "names"}
    if unknown:
        notes.append(f"file_payload: top-level members {sorted(unknown)} not checked")
    if not vec.get("valid") or not vec.get("invalid") or not vec.get("names"):
        problems.append("file_payload: valid, invalid and names must each be non-empty")

    for v in vec.get("valid", []):
        where = f"file_payload.valid.{v.get('name')}"
        try:
            _check_valid_file_payload(v, where, problems, counts, notes)
        except Exception as e:
            problems.append(f"{where}: checker crashed: {e!r}")

    seen_errors = set()
    for v in vec.get("invalid", []):
        where = f"file_payload.invalid.{v.get('name')}"
        want = v.get("error")
        if want not in fp.ERROR_NAMES:
            problems.append(f"{where}: error {want!r} is not one of {list(fp.ERROR_NAMES)}")
            continue
        if set(v) != FILE_PAYLOAD_INVALID_MEMBERS:
            notes.append(f"{where}: members {sorted(set(v) ^ FILE_PAYLOAD_INVALID_MEMBERS)} unexpected / missing")
        seen_errors.add(want)
        try:
            got = fp.read_file_payload(v["payload"].encode("utf-8"))
        except fp.FilePayloadError as e:
            if e.name != want:
                problems.append(f"{where}: failed with {e.name} ({e.detail}), vector says {want}")
            else:
                counts["invalid"] += 1
            continue
        except fp.NotAFilePayload as e:
            problems.append(f"{where}: not a file payload ({e}), vector says {want}")
            continue
        except Exception as e:
            problems.append(f"{where}: checker crashed: {e!r}")
            continue
        problems.append(f"{where}: read as {got}, vector says {want}")

    for v in vec.get("names", []):
        where = f"file_payload.names.{v.get('name')!r}"
        if set(v) != FILE_PAYLOAD_NAME_MEMBERS:
            notes.append(f"{where}: members {sorted(set(v) ^ FILE_PAYLOAD_NAME_MEMBERS)} unexpected / missing")
        if not isinstance(v.get("name"), str) or not isinstance(v.get("shown"), str):
            problems.append(f"{where}: name and shown must be strings")
            continue
        got = fp.shown_name(v["name"])
        if got != v["shown"]:
            problems.append(f"{where}: shows as {got!r}, vector says {v['shown']!r}")
        else:
            counts["names"] += 1

    # What the vectors leave to the self-test: said, not a failure.
    if vec.get("invalid"):
        not_covered = [n for n in fp.ERROR_NAMES if n not in seen_errors]
        if not_covered:
            notes.append(f"file_payload: no invalid vector for {', '.join(not_covered)} "
                         "(the file_payload self-test covers it)")


def _check_valid_file_payload(v, where, problems, counts, notes):
    if set(v) != FILE_PAYLOAD_VALID_MEMBERS:
        notes.append(f"{where}: members {sorted(set(v) ^ FILE_PAYLOAD_VALID_MEMBERS)} unexpected / missing")
    want = v["fields"]
    if set(want) != set(fp.FIELDS):
        problems.append(f"{where}: fields {sorted(want)} are not every member of §15.4's table and "
                        f"shown_name {list(fp.FIELDS)}")
        return
    try:
        got = fp.read_file_payload(v["payload"].encode("utf-8"))
    except fp.FilePayloadError as e:
        problems.append(f"{where}: refused with {e.name} ({e.detail})")
        return
    except fp.NotAFilePayload as e:
        problems.append(f"{where}: not a file payload ({e})")
        return
    # A size must be an integer in the vector too (json gives 5.0 as a float).
    if got != want or any(p.is_int(got[n]) != p.is_int(want[n]) for n in fp.FIELDS):
        differ = [n for n in fp.FIELDS if got[n] != want[n] or p.is_int(got[n]) != p.is_int(want[n])]
        problems.append(f"{where}: read {', '.join(f'{n}={got[n]!r}' for n in differ)}, vector says "
                        f"{', '.join(f'{n}={want[n]!r}' for n in differ)}")
        return
    counts["valid"] += 1
    mine = fp.write_file_payload(got).decode("utf-8")
    if mine != v["written"]:
        problems.append(f"{where}: written differently: {_first_difference(mine, v['written'])}")
        return
    counts["written"] += 1


if __name__ == "__main__":
    sys.exit(main())
