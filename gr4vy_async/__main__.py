"""``python -m gr4vy_async demo``: the library's main job, end to end."""

import asyncio
import sys

from .demo import run_demo


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args != ["demo"]:
        print("usage: python -m gr4vy_async demo", file=sys.stderr)
        return 2
    return asyncio.run(run_demo(sys.stdout))


if __name__ == "__main__":
    sys.exit(main())
