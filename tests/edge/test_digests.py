import hashlib
import subprocess
import sys

from tfedge.edge.digests import blake2b, sha256_hex, shake_256


def test_digests_are_hashlibs():
    for data in (b"", b"tfedge", bytes(range(256)) * 4099):
        assert sha256_hex(data) == hashlib.sha256(data).hexdigest()
        assert shake_256(data, 1000) == hashlib.shake_256(data).digest(1000)
        assert blake2b(data, 8) == hashlib.blake2b(data, digest_size=8).digest()


def test_the_run_path_does_not_load_openssl():
    """hashlib loads OpenSSL's libcrypto (3.3 MB of RSS); the live run's modules do without it.

    What numpy and cv2 load themselves is theirs (numpy 1.26's random module imports hashlib
    through `secrets`; numpy 2 does not), so only what our modules add counts."""
    code = ("import sys, numpy, cv2\n"
            "watched = ('hashlib', '_hashlib', 'ssl')\n"
            "before = {k for k in watched if k in sys.modules}\n"
            "import tfedge.edge.live.hot_swap, tfedge.edge.live.pipeline, tfedge.edge.live.capture\n"
            "import tfedge.edge.sinks.jsonlines, tfedge.edge.sinks.collect, tfedge.edge.sinks.web\n"
            "print(sorted(k for k in watched if k in sys.modules and k not in before))")
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True).stdout.strip() == "[]"
