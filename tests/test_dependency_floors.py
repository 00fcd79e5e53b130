"""The install floors leave out the releases with bugs a client of this library would hit."""

from __future__ import annotations

import configparser
from pathlib import Path

from packaging.requirements import Requirement
from packaging.version import Version

SETUP_CFG = Path(__file__).parents[1] / "setup.cfg"

#: The lowest release each dependency may be, and why (the CHANGELOG says the same).
FLOORS = {
    # 3.14.1: a cancelled request left its connection open; 3.14.2: a read timeout
    # re-armed on a pooled keep-alive connection failed the next request at once.
    "aiohttp": Version("3.14.3"),
    # 0.21.0: a segfault creating structs on Python 3.13+, a leak decoding sets;
    # 0.21.1: a reference leak checking big ints against constraints, errors double-wrapped.
    "msgspec": Version("0.21.1"),
}


def install_requires() -> dict[str, Requirement]:
    config = configparser.ConfigParser()
    config.read(SETUP_CFG)
    lines = config["options"]["install_requires"].strip().splitlines()
    return {req.name: req for req in map(Requirement, lines)}


def test_floors_exclude_the_releases_with_client_bugs() -> None:
    requirements = install_requires()
    for name, floor in FLOORS.items():
        specifier = requirements[name].specifier
        assert str(specifier) == f">={floor}", name
        assert not specifier.contains(Version(f"{floor.major}.{floor.minor}.{floor.micro - 1}"))
