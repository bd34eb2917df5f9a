"""SHA-256, SHAKE-256 and BLAKE2b without loading OpenSSL: `hashlib` loads libcrypto, 3.3 MB of
RSS on the device, for digests CPython also builds in (its own `random` module imports them the
same way). Same digests as hashlib's; the built-in SHA-256 is slower (10 ms for a 4 MB model
against 2 ms), paid once per model file."""

from __future__ import annotations

try:  # CPython 3.12 and later
    from _sha2 import sha256 as _sha256
except ImportError:
    try:  # CPython 3.11 and earlier
        from _sha256 import sha256 as _sha256
    except ImportError:  # another Python: hashlib's
        from hashlib import sha256 as _sha256
try:
    from _sha3 import shake_256 as _shake_256
except ImportError:
    from hashlib import shake_256 as _shake_256
try:
    from _blake2 import blake2b as _blake2b
except ImportError:
    from hashlib import blake2b as _blake2b


def sha256_hex(data: bytes) -> str:
    """hashlib.sha256(data).hexdigest()."""
    return _sha256(data).hexdigest()


def shake_256(data: bytes, length: int) -> bytes:
    """hashlib.shake_256(data).digest(length)."""
    return _shake_256(data).digest(length)


def blake2b(data: bytes, size: int) -> bytes:
    """hashlib.blake2b(data, digest_size=size).digest()."""
    return _blake2b(data, digest_size=size).digest()
