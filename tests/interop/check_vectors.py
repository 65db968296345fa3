#!/usr/bin/env python3
"""Check chatd's frozen envelope vectors against the independent Python
implementation in protocol_v1.py and protocol_v2.py (written from
docs/PROTOCOL.md only), then seal fresh envelopes with it and open them again.

Usage:
    check_vectors.py [--vectors PATH] [--vectors-v2 PATH]
                     [--write-sealed PATH] [--write-sealed-v2 PATH]

--vectors-v2 defaults to envelope-v2.json next to the v1 file; a missing v2
file is a failure. --write-sealed writes the Python-sealed v1 envelopes to
PATH and the v2 ones to --write-sealed-v2 (default
tests/interop/python-sealed-v2.json); --write-sealed-v2 alone writes only
the v2 file (the v1 sealer draws fresh randomness, so rewriting the v1 file
always changes it).

Exit 0 with a summary (one line for v1, one for v2; NOTE lines for
places where the v2 vectors file and the text of §8.7 differ without
affecting the protocol) on success; exit 1 listing every disagreement
otherwise.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.dont_write_bytecode = True
sys.path.insert(0, HERE)

import protocol_v1 as p  # noqa: E402
import protocol_v2 as q  # noqa: E402

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
    ap.add_argument("--write-sealed", metavar="PATH")
    ap.add_argument("--write-sealed-v2", metavar="PATH", help=f"default with --write-sealed: {DEFAULT_SEALED_V2}")
    args = ap.parse_args()
    if args.vectors_v2 is None:
        args.vectors_v2 = os.path.join(os.path.dirname(os.path.abspath(args.vectors)), "envelope-v2.json")
    write_v2 = args.write_sealed_v2 or (DEFAULT_SEALED_V2 if args.write_sealed else None)

    problems: list[str] = []
    counts = {"keys": 0, "valid": 0, "invalid": 0, "sealed": 0, "self": 0}
    # Envelope v2 (§8): its own problems and counts, reported with v1's.
    problems_v2, counts_v2, written_v2, notes_v2 = check_v2(args.vectors_v2, write_v2)
    for n in notes_v2:
        print(f"NOTE: {n}")

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
        return report(problems + problems_v2, counts, None, counts_v2, written_v2)

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

    return report(problems + problems_v2, counts, args.write_sealed, counts_v2, written_v2)


def report(problems, counts, written=None, counts_v2=None, written_v2=None) -> int:
    v2 = f"\n    v2: {fmt_v2(counts_v2)}" if counts_v2 is not None else ""
    if problems:
        for pr in problems:
            print(f"DISAGREEMENT: {pr}")
        print(f"FAIL: {len(problems)} disagreement(s); {fmt(counts)}{v2}")
        return 1
    extra = f"; wrote {counts['sealed']} to {written}" if written else ""
    if written_v2:
        v2 += f"; wrote {counts_v2['written']} to {written_v2}"
    print(f"OK: {fmt(counts)}{extra}{v2}")
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
        return {u: c for u, c in pool.items() if u != me}

    # ----------------------------------------------------------------- valid
    if vec is not None:
        for v in vec.get("valid", []):
            where = f"v2.valid.{v.get('name')}"
            try:
                _check_valid_v2(v, where, ids, cards, contacts_of, problems, counts, notes)
            except Exception as e:
                problems.append(f"{where}: checker crashed: {e!r}")

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
        return
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
    ct_len = len(base64.b64decode(sealed["ct"]))
    if ct_len != len(p.pad(want)) + 16:
        problems.append(f"{where}: len(ct)={ct_len}, §5/§8.5 predict {len(p.pad(want)) + 16}")
        all_open = False
    if split_ok and all_open:
        counts["valid"] += 1


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


if __name__ == "__main__":
    sys.exit(main())
