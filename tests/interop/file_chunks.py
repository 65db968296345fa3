"""Independent Python reading of files in chunks (docs/PROTOCOL.md §15).

Written from the text of §15 and the Notation list only; no chatd source
was read. Depends on the standard library, `cryptography` (AES-256-CBC)
and, by import, u64be of protocol_v1.py.

Covers:

* The lengths of §15.1 and §15.2: chunk_count, plain_length,
  sealed_length, chunk_length, chunk_start, blob_length.
* Sealing (§15.2): seal_chunk for one chunk, and ChunkSealer, which takes a
  file's plaintext chunk by chunk, each with the iv it is given (or a fresh
  one).
* Opening (§15.3): ChunkOpener takes a blob's chunks one by one, checks
  each in §15.3's order and gives its plaintext, then finish() does the
  end's checks; a failure raises FileError carrying the step's name.
  read_blob_chunks cuts a blob read from a stream where §15.2 says each
  chunk starts, and open_blob joins the two. Neither holds more than one
  chunk at a time.
* selftest(): round trips and tamperings of its own, no vectors file
  needed.

Interpretation choices where the text leaves room (each is also in the
review report):

* `u8(last)` is one byte, 0x00 or 0x01 (u8 was missing from the Notation
  list, which now has it).
* A reader that has a blob rather than chunks cuts it at the lengths
  §15.2 gives for `size`: bytes after chunk n − 1 are more chunks
  (`bad_count`, whatever their length), a blob that ends inside a chunk
  leaves that chunk short (`bad_length`), and one that ends at a chunk
  boundary before chunk n − 1 has fewer chunks (`bad_count` at the end).
  So `bad_length` is only ever a short last piece of a blob; a chunk that
  is too long can only reach ChunkOpener from a caller that cut the blob
  some other way.
* Step 3's "the padding or the plaintext's length is wrong" (only a sender
  who knows `km` can make either): after the tag verifies, PKCS#7 padding
  that is not 1 to 16 bytes each holding its own count, or a plaintext
  whose length is not the one §15.1 gives chunk `i`, is `bad_tag`.
* "At the end, fewer" comes before step 4: a blob cut short at a chunk
  boundary is `bad_count` whatever its SHA-256.
* The SHA-256 is compared in constant time too (it need not be, the
  plaintext being the reader's by then; it costs nothing).
* An opener that has raised a FileError, or finished, takes nothing more
  (RuntimeError: the caller's mistake, not one of §15.3's names).
"""

from __future__ import annotations

import hashlib
import hmac
import io
import os
from typing import BinaryIO, Iterator

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from protocol_v1 import u64be

# ---------------------------------------------------------------------------
# Constants (§15.1, §15.2)

CHUNK_BYTES = 1_048_576  # plaintext of every chunk but the last
KEY_BYTES = 64  # ke (AES-256) || km (HMAC-SHA256)
ID_BYTES = 16
IV_BYTES = 16
TAG_BYTES = 32
BLOCK_BYTES = 16  # AES's block, which PKCS#7 pads to
SHA256_BYTES = 32
TAG_PREFIX = b"chat-file-v1\0"

# §15.3's names, in the order its steps are checked.
ERROR_NAMES = ("bad_count", "bad_length", "bad_tag", "bad_digest")


class FileError(Exception):
    """A blob that does not open; `.name` is one of §15.3's names."""

    def __init__(self, name: str, detail: str = ""):
        assert name in ERROR_NAMES, name
        super().__init__(f"{name}: {detail}" if detail else name)
        self.name = name
        self.detail = detail


# ---------------------------------------------------------------------------
# Lengths (§15.1, §15.2)


def _check_size(size: int) -> None:
    if not isinstance(size, int) or isinstance(size, bool) or size < 0:
        raise ValueError(f"size must be a non-negative integer, not {size!r}")


def chunk_count(size: int) -> int:
    """n = max(1, ⌈size / 1 MiB⌉): an empty file still has one chunk."""
    _check_size(size)
    return max(1, -(-size // CHUNK_BYTES))


def plain_length(size: int, i: int) -> int:
    """Bytes of the file in chunk `i`: 1 MiB but for the last, which holds
    the rest."""
    n = chunk_count(size)
    if not 0 <= i < n:
        raise ValueError(f"a file of {size} bytes has no chunk {i}")
    return CHUNK_BYTES if i < n - 1 else size - (n - 1) * CHUNK_BYTES


def sealed_length(p: int) -> int:
    """A chunk of `p` plaintext bytes: iv, PKCS#7-padded ciphertext (a
    whole block of padding when p is a multiple of 16), tag."""
    return p - p % BLOCK_BYTES + IV_BYTES + BLOCK_BYTES + TAG_BYTES


def chunk_length(size: int, i: int) -> int:
    """How long chunk `i` of a file of `size` bytes is (step 2)."""
    return sealed_length(plain_length(size, i))


def chunk_start(size: int, i: int) -> int:
    """Where chunk `i` starts in the blob: every chunk before it is full."""
    plain_length(size, i)  # refuses an `i` the file does not have
    return i * sealed_length(CHUNK_BYTES)


def blob_length(size: int) -> int:
    n = chunk_count(size)
    return chunk_start(size, n - 1) + chunk_length(size, n - 1)


# ---------------------------------------------------------------------------
# Keys and ids (§15.1)


def split_key(key: bytes) -> tuple[bytes, bytes]:
    """(ke, km): the first 32 bytes and the last 32."""
    if len(key) != KEY_BYTES:
        raise ValueError(f"a file key is {KEY_BYTES} bytes, not {len(key)}")
    return bytes(key[:32]), bytes(key[32:])


def new_key() -> bytes:
    return os.urandom(KEY_BYTES)


def new_id() -> bytes:
    return os.urandom(ID_BYTES)


def blob_name(blob_id: bytes) -> str:
    """The relay's id of the blob: 32 lowercase hex digits."""
    if len(blob_id) != ID_BYTES:
        raise ValueError(f"a blob id is {ID_BYTES} bytes, not {len(blob_id)}")
    return blob_id.hex()


def parse_blob_name(text: str) -> bytes:
    """The blob id of its relay name; anything but 32 lowercase hex digits
    is a ValueError."""
    if (not isinstance(text, str) or len(text) != 2 * ID_BYTES
            or any(c not in "0123456789abcdef" for c in text)):
        raise ValueError(f"a blob id is 32 lowercase hex digits, not {text!r}")
    return bytes.fromhex(text)


def _check_id(blob_id: bytes) -> bytes:
    if len(blob_id) != ID_BYTES:
        raise ValueError(f"a blob id is {ID_BYTES} bytes, not {len(blob_id)}")
    return bytes(blob_id)


# ---------------------------------------------------------------------------
# Sealing (§15.2)


def _pkcs7_pad(data: bytes) -> bytes:
    k = BLOCK_BYTES - len(data) % BLOCK_BYTES
    return bytes(data) + bytes([k]) * k


def _pkcs7_unpad(data: bytes) -> bytes | None:
    """None for a padding PKCS#7 does not allow."""
    if not data or len(data) % BLOCK_BYTES:
        return None
    k = data[-1]
    if not 1 <= k <= BLOCK_BYTES or data[-k:] != bytes([k]) * k:
        return None
    return data[:-k]


def chunk_tag(km: bytes, blob_id: bytes, i: int, last: bool, iv: bytes, ct) -> bytes:
    """HMAC-SHA256(km, "chat-file-v1\\0" || id || u64be(i) || u8(last) || iv
    || ct), fed piece by piece so a 1 MiB ct is not copied."""
    mac = hmac.new(km, TAG_PREFIX, hashlib.sha256)
    mac.update(blob_id)
    mac.update(u64be(i))
    mac.update(b"\x01" if last else b"\x00")
    mac.update(iv)
    mac.update(ct)
    return mac.digest()


def _seal_padded(key: bytes, blob_id: bytes, i: int, last: bool, iv: bytes, padded: bytes) -> bytes:
    """A chunk from an already padded plaintext (the self-test uses it for
    chunks with a good tag over a bad padding)."""
    ke, km = split_key(key)
    if len(iv) != IV_BYTES:
        raise ValueError(f"an iv is {IV_BYTES} bytes, not {len(iv)}")
    enc = Cipher(algorithms.AES(ke), modes.CBC(bytes(iv))).encryptor()
    ct = enc.update(padded) + enc.finalize()
    return bytes(iv) + ct + chunk_tag(km, _check_id(blob_id), i, last, iv, ct)


def seal_chunk(key: bytes, blob_id: bytes, i: int, last: bool, iv: bytes, plaintext: bytes) -> bytes:
    """Chunk `i` of a blob, iv || ct || tag. Checks nothing about where the
    chunk goes: ChunkSealer does (and tests need misplaced chunks)."""
    return _seal_padded(key, blob_id, i, last, iv, _pkcs7_pad(plaintext))


class ChunkSealer:
    """Seals a file of `size` bytes chunk by chunk: seal() takes chunk i's
    plaintext, exactly plain_length(size, i) bytes, and gives the chunk,
    which goes next in the blob; finish() says every chunk was sealed."""

    def __init__(self, key: bytes, blob_id: bytes, size: int):
        split_key(key)
        self._key = bytes(key)
        self._id = _check_id(blob_id)
        self._size = size
        self._n = chunk_count(size)
        self._i = 0

    def seal(self, plaintext: bytes, iv: bytes | None = None) -> bytes:
        """The next chunk, with `iv` or else a fresh random one."""
        i = self._i
        if i >= self._n:
            raise ValueError(f"a file of {self._size} bytes has only {self._n} chunks")
        want = plain_length(self._size, i)
        if len(plaintext) != want:
            raise ValueError(f"chunk {i} holds {want} bytes of the file, not {len(plaintext)}")
        if iv is None:
            iv = os.urandom(IV_BYTES)
        chunk = seal_chunk(self._key, self._id, i, i == self._n - 1, iv, plaintext)
        self._i += 1
        return chunk

    def finish(self) -> None:
        if self._i != self._n:
            raise ValueError(f"{self._i} of {self._n} chunks sealed")


def seal_bytes(key: bytes, blob_id: bytes, data: bytes, iv_of=None) -> bytes:
    """The blob of a whole file held in memory (for tests); `iv_of(i)`, if
    given, is chunk i's iv."""
    sealer = ChunkSealer(key, blob_id, len(data))
    chunks = []
    for i in range(chunk_count(len(data))):
        start = i * CHUNK_BYTES
        piece = data[start:start + plain_length(len(data), i)]
        chunks.append(sealer.seal(piece, iv_of(i) if iv_of else None))
    sealer.finish()
    return b"".join(chunks)


# ---------------------------------------------------------------------------
# Opening (§15.3)


class ChunkOpener:
    """Opens a blob chunk by chunk. open() takes the next chunk and gives
    its plaintext; finish(), after the last, does the end's checks. The
    plaintext is not the file's until finish() returns: a reader keeps it
    aside (a temporary file) until then and drops it on any FileError."""

    def __init__(self, key: bytes, blob_id: bytes, size: int, sha256: bytes):
        self._ke, self._km = split_key(key)
        self._id = _check_id(blob_id)
        self._n = chunk_count(size)
        self._size = size
        if len(sha256) != SHA256_BYTES:
            raise ValueError(f"a SHA-256 is {SHA256_BYTES} bytes, not {len(sha256)}")
        self._sha256 = bytes(sha256)
        self._digest = hashlib.sha256()
        self._i = 0
        self._state = "open"  # then "failed" or "finished"

    def _usable(self) -> None:
        if self._state != "open":
            raise RuntimeError(f"this opener has {self._state}")

    def _fail(self, name: str, detail: str) -> FileError:
        self._state = "failed"
        return FileError(name, detail)

    def open(self, chunk: bytes) -> bytes:
        self._usable()
        i = self._i
        # 1. More chunks than n.
        if i >= self._n:
            raise self._fail("bad_count", f"chunk {i} of a file of {self._n} chunks")
        # 2. Exactly the length §15.2 gives chunk i.
        want = chunk_length(self._size, i)
        if len(chunk) != want:
            raise self._fail("bad_length", f"chunk {i} is {len(chunk)} bytes, not {want}")
        # 3. The tag, then (only then) the padding and the length.
        view = memoryview(chunk)
        iv, ct, tag = view[:IV_BYTES], view[IV_BYTES:-TAG_BYTES], view[-TAG_BYTES:]
        expected = chunk_tag(self._km, self._id, i, i == self._n - 1, iv, ct)
        if not hmac.compare_digest(expected, tag):
            raise self._fail("bad_tag", f"chunk {i}'s tag does not verify")
        plaintext = _pkcs7_unpad(self._decrypt(bytes(iv), ct))
        if plaintext is None:
            raise self._fail("bad_tag", f"chunk {i}'s padding is not PKCS#7")
        if len(plaintext) != plain_length(self._size, i):
            raise self._fail("bad_tag", f"chunk {i} holds {len(plaintext)} bytes, not "
                                        f"{plain_length(self._size, i)}")
        self._digest.update(plaintext)
        self._i += 1
        return plaintext

    def finish(self) -> None:
        self._usable()
        # 1, at the end: fewer chunks than n.
        if self._i < self._n:
            raise self._fail("bad_count", f"{self._i} chunks of a file of {self._n}")
        # 4. The SHA-256 of all the plaintext.
        if not hmac.compare_digest(self._digest.digest(), self._sha256):
            raise self._fail("bad_digest", f"the plaintext's SHA-256 is {self._digest.hexdigest()}, "
                                           f"not {self._sha256.hex()}")
        self._state = "finished"

    def _decrypt(self, iv: bytes, ct) -> bytes:
        dec = Cipher(algorithms.AES(self._ke), modes.CBC(iv)).decryptor()
        return dec.update(ct) + dec.finalize()


def _read_up_to(stream: BinaryIO, n: int) -> bytes:
    """n bytes, or fewer only at the end of the stream."""
    parts = []
    while n > 0:
        part = stream.read(n)
        if not part:
            break
        parts.append(part)
        n -= len(part)
    return b"".join(parts)


def read_blob_chunks(stream: BinaryIO, size: int) -> Iterator[bytes]:
    """A blob's chunks, cut where §15.2 says each starts for a file of
    `size` bytes, then whatever follows chunk n − 1 as more chunks."""
    for i in range(chunk_count(size)):
        chunk = _read_up_to(stream, chunk_length(size, i))
        if not chunk:
            return
        yield chunk
    while True:
        extra = _read_up_to(stream, sealed_length(CHUNK_BYTES))
        if not extra:
            return
        yield extra


def open_blob(stream: BinaryIO, key: bytes, blob_id: bytes, size: int, sha256: bytes,
              out: BinaryIO) -> None:
    """Opens the blob read from `stream` into `out`; on a FileError what
    was written to `out` is not the file and must be thrown away."""
    opener = ChunkOpener(key, blob_id, size, sha256)
    for chunk in read_blob_chunks(stream, size):
        out.write(opener.open(chunk))
    opener.finish()


def open_bytes(blob: bytes, key: bytes, blob_id: bytes, size: int, sha256: bytes) -> bytes:
    """open_blob on a blob held in memory (for tests)."""
    out = io.BytesIO()
    open_blob(io.BytesIO(blob), key, blob_id, size, sha256, out)
    return out.getvalue()


# ---------------------------------------------------------------------------
# Self-test (no vectors file needed)


def selftest() -> int:
    """Checks this module against itself: the lengths §15.2 states, round
    trips at the sizes around a block and a chunk, each failure of §15.3
    and their order, chunks with a good tag over a bad padding, and that
    no chunk is decrypted before its tag verifies. Returns the number of
    checks passed; raises AssertionError listing every failure."""
    failures: list[str] = []
    passed = 0

    def check(label: str, cond: bool, detail: str = "") -> None:
        nonlocal passed
        if cond:
            passed += 1
        else:
            failures.append(f"{label}: {detail or 'failed'}")

    def fails(label: str, want: str, chunks, key, blob_id, size, sha256) -> None:
        """Chunks given one by one must fail at `want`."""
        opener = ChunkOpener(key, blob_id, size, sha256)
        try:
            for chunk in chunks:
                opener.open(chunk)
            opener.finish()
            check(label, False, f"opened, expected {want}")
        except FileError as e:
            check(label, e.name == want, f"got {e.name} ({e.detail}), expected {want}")

    def blob_fails(label: str, want: str, blob, key, blob_id, size, sha256) -> None:
        """A blob cut by read_blob_chunks must fail at `want`."""
        try:
            open_bytes(blob, key, blob_id, size, sha256)
            check(label, False, f"opened, expected {want}")
        except FileError as e:
            check(label, e.name == want, f"got {e.name} ({e.detail}), expected {want}")

    def refused(label: str, fn) -> None:
        try:
            fn()
            check(label, False, "accepted")
        except (ValueError, RuntimeError):
            check(label, True)

    def cut(blob: bytes, size: int) -> list[bytes]:
        return list(read_blob_chunks(io.BytesIO(blob), size))

    def flip(chunk: bytes, at: int) -> bytes:
        b = bytearray(chunk)
        b[at] ^= 0x01
        return bytes(b)

    mib = CHUNK_BYTES

    # ------------------------------------------------------------ lengths
    for p, want in ((0, 64), (1, 64), (15, 64), (16, 80), (17, 80), (mib, 1_048_640)):
        check(f"sealed_length.{p}", sealed_length(p) == want, f"{sealed_length(p)}, expected {want}")
    for size, want in ((0, 1), (1, 1), (mib, 1), (mib + 1, 2), (2 * mib, 2), (2 * mib + 1, 3)):
        check(f"chunk_count.{size}", chunk_count(size) == want, f"{chunk_count(size)}, expected {want}")
    check("plain_length.empty", plain_length(0, 0) == 0)
    check("plain_length.full_then_rest", (plain_length(mib + 5, 0), plain_length(mib + 5, 1)) == (mib, 5))
    check("plain_length.exactly_full", plain_length(2 * mib, 1) == mib)
    check("chunk_start.second", chunk_start(3 * mib, 1) == 1_048_640)
    check("blob_length.chunk_and_byte", blob_length(mib + 1) == 1_048_640 + 64)
    refused("plain_length.no_such_chunk", lambda: plain_length(mib, 1))
    refused("chunk_count.negative", lambda: chunk_count(-1))

    # -------------------------------------------------------- round trips
    for size in (0, 1, 15, 16, 17, mib - 1, mib, mib + 1, 2 * mib + 1000):
        key, blob_id, data = new_key(), new_id(), os.urandom(size)
        ivs = [os.urandom(IV_BYTES) for _ in range(chunk_count(size))]
        blob = seal_bytes(key, blob_id, data, lambda i: ivs[i])
        label = f"round_trip.{size}"
        check(f"{label}.blob_length", len(blob) == blob_length(size), f"{len(blob)} != {blob_length(size)}")
        chunks = cut(blob, size)
        check(f"{label}.chunks", [len(c) for c in chunks]
              == [chunk_length(size, i) for i in range(chunk_count(size))])
        check(f"{label}.ivs_where_chunks_start",
              all(blob[chunk_start(size, i):chunk_start(size, i) + IV_BYTES] == iv for i, iv in enumerate(ivs)))
        try:
            got = open_bytes(blob, key, blob_id, size, hashlib.sha256(data).digest())
            check(f"{label}.opened", got == data, f"{len(got)} bytes back of {size}")
        except FileError as e:
            check(f"{label}.opened", False, f"{e.name} ({e.detail})")
    # Fresh ivs when none are given: the same file seals to another blob.
    key, blob_id = new_key(), new_id()
    check("fresh_ivs", seal_bytes(key, blob_id, b"x") != seal_bytes(key, blob_id, b"x"))

    # ---------------------------------------------------------- tampering
    # A file of three chunks, the last short (100 bytes, 112 padded).
    size = 2 * mib + 100
    key, blob_id, data = new_key(), new_id(), os.urandom(size)
    sha = hashlib.sha256(data).digest()
    blob = seal_bytes(key, blob_id, data)
    c0, c1, c2 = cut(blob, size)
    args = (key, blob_id, size, sha)

    # 1. bad_count
    fails("count.last_dropped", "bad_count", [c0, c1], *args)
    fails("count.last_repeated", "bad_count", [c0, c1, c2, c2], *args)
    fails("count.extra_chunk_of_any_length", "bad_count", [c0, c1, c2, b"x"], *args)
    blob_fails("count.a_byte_after_the_blob", "bad_count", blob + b"\x00", *args)
    blob_fails("count.blob_cut_at_a_boundary", "bad_count", c0 + c1, *args)
    blob_fails("count.empty_blob", "bad_count", b"", new_key(), new_id(), 0, hashlib.sha256(b"").digest())
    # 2. bad_length
    fails("length.last_a_byte_short", "bad_length", [c0, c1, c2[:-1]], *args)
    fails("length.last_a_byte_long", "bad_length", [c0, c1, c2 + b"\x00"], *args)
    fails("length.middle_dropped", "bad_length", [c0, c2], *args)
    fails("length.last_two_swapped", "bad_length", [c0, c2, c1], *args)
    blob_fails("length.blob_a_byte_short", "bad_length", blob[:-1], *args)
    blob_fails("length.blob_ends_inside_chunk_1", "bad_length", blob[:chunk_start(size, 1) + 100], *args)
    # 3. bad_tag: every part of a chunk is under the tag, and so is its place.
    fails("tag.first_two_swapped", "bad_tag", [c1, c0, c2], *args)
    for name, chunk_i, at in (("iv", 0, 0), ("ciphertext_start", 1, IV_BYTES),
                              ("ciphertext_end", 2, -TAG_BYTES - 1), ("tag_start", 0, -TAG_BYTES),
                              ("tag_end", 2, -1)):
        chunks = [c0, c1, c2]
        chunks[chunk_i] = flip(chunks[chunk_i], at)
        fails(f"tag.flip_{name}_of_chunk_{chunk_i}", "bad_tag", chunks, *args)
    fails("tag.other_id", "bad_tag", [c0, c1, c2], key, new_id(), size, sha)
    fails("tag.other_km", "bad_tag", [c0, c1, c2], key[:32] + new_key()[32:], blob_id, size, sha)
    fails("tag.cut_at_a_boundary_read_as_shorter", "bad_tag", [c0, c1], key, blob_id, 2 * mib,
          hashlib.sha256(data[:2 * mib]).digest())
    other_blob = seal_bytes(key, new_id(), data)
    fails("tag.chunk_of_another_blob", "bad_tag", [c0, cut(other_blob, size)[1], c2], *args)
    early_last = seal_chunk(key, blob_id, 0, True, os.urandom(IV_BYTES), data[:mib])
    fails("tag.first_sealed_as_last", "bad_tag", [early_last, c1, c2], *args)
    late_not_last = seal_chunk(key, blob_id, 2, False, os.urandom(IV_BYTES), data[2 * mib:])
    fails("tag.last_sealed_as_not_last", "bad_tag", [c0, c1, late_not_last], *args)
    # A good tag over a bad padding or a wrong length (a sender who has km).
    iv = os.urandom(IV_BYTES)
    tail = data[2 * mib:]
    for name, padded in (
        ("padding_zero", tail + bytes(12)),
        ("padding_over_16", tail[:95] + bytes([17]) * 17),
        ("padding_bytes_differ", tail + bytes([12]) * 11 + bytes([11])),
        ("padding_good_length_wrong", tail + b"xyz" + bytes([9]) * 9),
    ):
        bad = _seal_padded(key, blob_id, 2, True, iv, padded)
        fails(f"tag.good_tag_{name}", "bad_tag", [c0, c1, bad], *args)
    full_short = _seal_padded(key, blob_id, 0, False, iv, data[:mib + 15] + b"\x01")
    fails("tag.good_tag_full_chunk_one_byte_of_padding", "bad_tag", [full_short, c1, c2], *args)
    # 4. bad_digest
    fails("digest.other_sha256", "bad_digest", [c0, c1, c2], key, blob_id, size, hashlib.sha256(b"").digest())

    # The order of the steps.
    other_sha = hashlib.sha256(b"other").digest()
    fails("order.count_before_length", "bad_count", [c0, c1, c2, c2[:-1]], *args)
    fails("order.length_before_tag", "bad_length", [c0, c1, flip(c2, -1)[:-1]], *args)
    fails("order.tag_before_digest", "bad_tag", [c0, flip(c1, 20), c2], key, blob_id, size, other_sha)
    fails("order.count_before_digest", "bad_count", [c0, c1], key, blob_id, size, other_sha)
    fails("order.first_bad_chunk_first", "bad_tag", [flip(c0, -1), c1, c2[:-1]], *args)

    # Nothing of a chunk is decrypted before its tag verifies.
    class Counting(ChunkOpener):
        decrypted = 0

        def _decrypt(self, iv, ct):
            Counting.decrypted += 1
            return super()._decrypt(iv, ct)

    opener = Counting(*args)
    try:
        opener.open(c0)
        opener.open(flip(c1, IV_BYTES))
    except FileError:
        pass
    check("decrypted_only_after_the_tag", Counting.decrypted == 1, f"{Counting.decrypted} decryptions")

    # An opener that failed or finished takes nothing more.
    refused("opener.after_failure", lambda: opener.open(c2))
    done = ChunkOpener(*args)
    for chunk in (c0, c1, c2):
        done.open(chunk)
    done.finish()
    refused("opener.after_finish", lambda: done.open(c0))
    refused("opener.short_key", lambda: ChunkOpener(key[:63], blob_id, size, sha))
    refused("opener.short_sha256", lambda: ChunkOpener(key, blob_id, size, sha[:31]))

    # The sealer seals exactly the file's chunks.
    refused("sealer.short_chunk", lambda: ChunkSealer(key, blob_id, size).seal(data[:mib - 1]))
    refused("sealer.last_too_long", lambda: ChunkSealer(key, blob_id, 5).seal(b"123456"))
    refused("sealer.short_iv", lambda: ChunkSealer(key, blob_id, 1).seal(b"1", bytes(15)))
    refused("sealer.short_id", lambda: ChunkSealer(key, bytes(15), 1))

    def one_too_many():
        sealer = ChunkSealer(key, blob_id, 1)
        sealer.seal(b"1")
        sealer.seal(b"")

    refused("sealer.one_chunk_too_many", one_too_many)
    refused("sealer.finish_early", lambda: ChunkSealer(key, blob_id, mib + 1).finish())

    # Blob ids as the relay names them.
    check("blob_name.round_trip", parse_blob_name(blob_name(blob_id)) == blob_id)
    refused("blob_name.uppercase", lambda: parse_blob_name("AB" * 16))
    refused("blob_name.short", lambda: parse_blob_name("ab" * 15))

    if failures:
        raise AssertionError("file_chunks selftest: " + "; ".join(failures))
    return passed


if __name__ == "__main__":
    print(f"file_chunks selftest: {selftest()} checks passed")
