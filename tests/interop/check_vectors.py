#!/usr/bin/env python3
"""Check chatd's frozen envelope vectors against the independent Python
implementation in protocol_v1.py (written from docs/PROTOCOL.md only), then
seal fresh envelopes with it and open them again.

Usage:
    check_vectors.py [--vectors PATH] [--write-sealed PATH]

Exit 0 with a one-line summary on success; exit 1 listing every
disagreement otherwise.
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

DEFAULT_VECTORS = os.path.normpath(
    os.path.join(HERE, "..", "..", "chatd", "tests", "vectors", "envelope-v1.json")
)

EXPECTED_BITS = {"alice": 3072, "bob": 2048}  # §7


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--vectors", default=DEFAULT_VECTORS)
    ap.add_argument("--write-sealed", metavar="PATH")
    args = ap.parse_args()

    problems: list[str] = []
    counts = {"keys": 0, "valid": 0, "invalid": 0, "sealed": 0, "self": 0}

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
        return report(problems, counts)

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

    return report(problems, counts, args.write_sealed)


def report(problems, counts, written=None) -> int:
    if problems:
        for pr in problems:
            print(f"DISAGREEMENT: {pr}")
        print(f"FAIL: {len(problems)} disagreement(s); {fmt(counts)}")
        return 1
    extra = f"; wrote {counts['sealed']} to {written}" if written else ""
    print(f"OK: {fmt(counts)}{extra}")
    return 0


def fmt(c) -> str:
    return (
        f"{c['keys']} keys, {c['valid']} valid opened, {c['invalid']} invalid rejected "
        f"with the expected error, {c['sealed']} sealed+reopened (+replay refused), "
        f"{c['self']} strictness self-checks"
    )


if __name__ == "__main__":
    sys.exit(main())
