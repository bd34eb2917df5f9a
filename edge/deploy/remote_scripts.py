"""The POSIX shell scripts `tfedge deploy` runs on the device, and what their exit codes mean.

One SSH session per deploy: the model arrives on the script's stdin into a temp name beside
PATH; its size and sha256 are checked there, the device's own tfedge runs its self-test, the
file in place is kept as PATH.previous (a hard link, so the running model's file stays as it
was), and the new one is renamed onto PATH (atomic: a watching `tfedge run` never sees half a
file). Any failure, a broken connection included, removes the temp file: the device is left
exactly as it was. Progress lines on stdout (`tfedge-deploy: STEP`) time each step.
"""

from __future__ import annotations

import shlex

MARK = "tfedge-deploy:"

_COMMON = r"""
set -u
path=$1
dir=$(dirname -- "$path"); base=$(basename -- "$path")
fail() { code=$1; shift; echo "$*" >&2; exit "$code"; }
[ -d "$path" ] && fail 20 "$path is a folder"
[ -d "$dir" ] || fail 21 "$dir does not exist"
[ -w "$dir" ] || fail 22 "$dir is not writable by $(id -un)"
selftest() {
    said=$("$tfedge" verify --self-test --json "$1" 2>&1)
    code=$?
    if [ $code = 0 ]; then
        echo "tfedge-deploy: self-test-report $(printf '%s\n' "$said" | grep '^{' | tail -n 1)"
        return 0
    fi
    [ $code = 127 ] && fail 26 "$tfedge not found"
    [ $code = 126 ] && fail 26 "$tfedge cannot be run"
    said=$(printf '%s\n' "$said" | grep -v '^INFO: ' | tail -n 1 | sed 's/^tfedge verify: error: //')
    fail 27 "the device's tfedge refused the model (exit $code): $said"
}
keep_previous() {
    [ -e "$path" ] || return 0
    ln -f -- "$path" "$prev" 2>/dev/null || cp -p -- "$path" "$prev" || fail 23 "cannot keep $path.previous"
}
"""

DEPLOY = _COMMON + r"""
size=$2; sha=$3; tfedge=$4
tmp="$dir/.$base.tfedge-deploy.$$"; prev="$dir/.$base.previous.tfedge-deploy.$$"
trap 'rm -f -- "$tmp" "$prev"' EXIT
trap 'exit 1' HUP INT TERM PIPE
cat > "$tmp" || fail 23 "writing $tmp failed"
got=$(wc -c < "$tmp" | tr -d ' ')
[ "$got" = "$size" ] || fail 24 "received $got of $size bytes"
echo "tfedge-deploy: transferred"
got=$(sha256sum -- "$tmp" | cut -d' ' -f1)
[ "$got" = "$sha" ] || fail 25 "sha256 on the device is $got, not $sha"
selftest "$tmp"
echo "tfedge-deploy: self-tested"
keep_previous
[ -e "$prev" ] && { mv -f -- "$prev" "$path.previous" || fail 23 "cannot keep $path.previous"; }
mv -f -- "$tmp" "$path" || fail 23 "cannot rename the new model onto $path"
echo "tfedge-deploy: installed"
"""

ROLLBACK = _COMMON + r"""
tfedge=$2
prev="$dir/.$base.rollback.tfedge-deploy.$$"
trap 'rm -f -- "$prev"' EXIT
trap 'exit 1' HUP INT TERM PIPE
[ -f "$path.previous" ] || fail 28 "nothing to roll back to: there is no $path.previous"
selftest "$path.previous"
echo "tfedge-deploy: self-tested"
keep_previous
mv -f -- "$path.previous" "$path" || fail 23 "cannot rename $path.previous onto $path"
[ -e "$prev" ] && mv -f -- "$prev" "$path.previous"
echo "tfedge-deploy: installed $(sha256sum -- "$path" | cut -d' ' -f1)"
"""

# exit code of a script -> (tfedge ExitCode name, what to do)
EXIT_CODES = {
    20: ("OUTPUT", "give the file's path, not a folder (for example DIR/model.tflite)"),
    21: ("OUTPUT", "create the folder on the device first, or give another PATH"),
    22: ("OUTPUT", "give a PATH in a folder that the SSH user can write"),
    23: ("OUTPUT", "free space on the device (df -h) or check the folder; the device is as it was"),
    24: ("REMOTE", "the transfer was cut short; the device is as it was: deploy again"),
    25: ("REMOTE", "the file changed on the way; the device is as it was: deploy again"),
    26: ("DEPENDENCY", "install tfedge on the device, or give its path with --remote-tfedge"),
    27: ("ACCURACY", "the model was not installed; the device is as it was"),
    28: ("MODEL", "deploy a model first (each deploy keeps the one it replaces)"),
}


def remote_command(script: str, *args: str) -> str:
    """The command line ssh hands to the device's shell: `sh -c SCRIPT tfedge-deploy ARGS...`."""
    return " ".join(["sh", "-c", shlex.quote(script), "tfedge-deploy", *(shlex.quote(a) for a in args)])
