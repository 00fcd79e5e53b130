"""The vendored spec and seed are the ones in ``../shared`` (checked where it exists)."""

import os
from pathlib import Path

from support.contract import SEED_PATH, SPEC_PATH

SHARED = Path(__file__).resolve().parents[2] / "shared"


def test_vendored_contract_matches_shared() -> None:
    if not SHARED.is_dir():
        # Outside this project's workspace there is nothing to compare with;
        # CI always has shared/ beside the clone, so it must be found there.
        assert not os.environ.get("CI"), f"CI run without {SHARED}"
        return
    assert SPEC_PATH.read_bytes() == (SHARED / "spec" / SPEC_PATH.name).read_bytes()
    assert SEED_PATH.read_bytes() == (SHARED / "seed" / SEED_PATH.name).read_bytes()
