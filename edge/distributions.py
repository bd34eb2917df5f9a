"""Installed Python distributions and their versions, read from their folder names.

`importlib.metadata` parses each distribution's METADATA with the `email` package: importing it
and asking one version cost `tfedge run` 3.3 MB of peak memory and 14 ms of start-up (the
OpenCV build check and the interpreter's version line asked on every run). Installers name the
folder after the distribution and its version, which is all tfedge asks: `NAME-VERSION.dist-info`
(pip, uv: wheels) or `NAME-VERSION[-pyX.Y].egg-info` (older setuptools, Debian's packages).
A version not found that way is asked of `importlib.metadata` after all.
"""

from __future__ import annotations

import os
import re
import sys

_SUFFIXES = (".dist-info", ".egg-info")


def normalized(name: str) -> str:
    """A distribution name as folder names spell it, for comparison (PEP 503, with underscores)."""
    return re.sub(r"[-_.]+", "_", name).lower()


def _folders():
    """(normalized name, version) of each distribution folder on sys.path, in sys.path order."""
    for entry in sys.path:
        try:
            names = os.listdir(entry or ".")
        except OSError:  # a zip file, a missing folder
            continue
        for name in names:
            if name.endswith(_SUFFIXES):
                stem, _, version = name.rpartition(".")[0].partition("-")
                yield normalized(stem), version.split("-")[0]


def installed_versions(names) -> dict[str, str]:
    """{name: version} for each of `names` installed on sys.path (the first one found, as Python
    imports it); a folder without a version in its name gives ""."""
    wanted = {normalized(name): name for name in names}
    found: dict[str, str] = {}
    for key, version in _folders():
        if key in wanted and wanted[key] not in found:
            found[wanted[key]] = version
    return found


def version(name: str) -> str | None:
    """The installed version of distribution `name`, or None when it is not installed."""
    found = installed_versions([name]).get(name)
    if found:
        return found
    from importlib import metadata  # a folder name without a version (a develop install)

    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None
