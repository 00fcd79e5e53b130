"""The package's three command lines: one error and exit-status convention, one home per rule.

``gr4vy-async``, ``python -m gr4vy_async.contrib.saq_cleanup`` and
``python -m gr4vy_async.testing`` run through one helper
(:func:`gr4vy_async._command_line.run_command_line`): 0 ok, 1 failed, 2 usage or
bad input as one line ``<prog>: error: <message>``, 130 interrupted.
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from support.cli_runner import invoke

import gr4vy_async
from gr4vy_async import _command_line as exits
from gr4vy_async import id_files

PACKAGE = Path(gr4vy_async.__file__).parent
#: The modules of the command lines and of the rules they share.
COMMAND_LINE_MODULES = sorted(
    [
        *(PACKAGE / "cli").glob("*.py"),
        *(PACKAGE / "contrib" / "saq_cleanup").glob("*.py"),
        PACKAGE / "testing" / "__main__.py",
        PACKAGE / "__main__.py",
        PACKAGE / "id_files.py",
        PACKAGE / "_files.py",
        PACKAGE / "_command_line.py",
        PACKAGE / "_keyfile.py",
        PACKAGE / "_terminal.py",
        PACKAGE / "session_ids.py",
    ]
)


def _queue_main(argv: list[str]) -> int:
    from gr4vy_async.contrib.saq_cleanup import main

    return main(argv)


def _fake_main(argv: list[str]) -> int:
    from gr4vy_async.testing.__main__ import main

    return main(argv)


def _cli_main(argv: list[str]) -> int:
    from gr4vy_async.cli import main

    return main(argv)


MAINS: dict[str, tuple[Callable[[list[str]], int], list[str]]] = {
    "gr4vy-async": (_cli_main, ["checkout-sessions", "get"]),
    "python -m gr4vy_async.contrib.saq_cleanup": (_queue_main, ["enqueue"]),
    "python -m gr4vy_async.testing": (_fake_main, ["--port", "eighty"]),
}


@pytest.mark.parametrize("prog", MAINS)
def test_a_usage_error_is_one_line_and_exit_2_on_every_command_line(
    prog: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """argparse's own errors were a usage block and an error line on two of the three."""
    main, argv = MAINS[prog]
    code: object
    try:
        code = main(argv)
    except SystemExit as exit_:
        code = exit_.code
    out, err = capsys.readouterr()
    assert (code, out) == (exits.EXIT_USAGE, "")
    assert err.startswith(f"{prog}: error: ")
    assert err.endswith(" --help')\n")
    assert err.count("\n") == 1


def test_the_three_command_lines_share_one_runner() -> None:
    from gr4vy_async import cli
    from gr4vy_async.contrib.saq_cleanup import command_line
    from gr4vy_async.testing import __main__ as fake_command

    for module in (cli, command_line, fake_command):
        assert vars(module)["run_command_line"] is exits.run_command_line, module.__name__


def test_the_cli_and_the_queue_producer_read_ids_files_with_one_reader() -> None:
    from gr4vy_async.cli import delete
    from gr4vy_async.contrib.saq_cleanup import command_line, producer

    assert vars(delete)["open_id_lines"] is id_files.open_id_lines
    assert vars(command_line)["open_id_lines"] is id_files.open_id_lines
    assert vars(producer)["read_id_lines"] is id_files.read_id_lines


def test_a_key_file_over_64_kib_is_refused_by_the_cli_as_by_the_workers(tmp_path: Path) -> None:
    """The CLI read key files up to 1 MiB, the queue workers up to 64 KiB: one bound now."""
    big = tmp_path / "key.pem"
    big.write_bytes(b"-" * (100 * 1024))
    code, out, err = invoke(["--private-key", str(big), "token"])
    assert (code, out) == (2, "")
    assert err == "gr4vy-async: error: --private-key: the key file is larger than 64 KiB\n"


def test_the_queue_producer_refuses_an_ids_fifo_at_once(tmp_path: Path) -> None:
    """It opened a FIFO with open(), which waited for a writer forever."""
    fifo = tmp_path / "ids"
    os.mkfifo(fifo)
    command = [sys.executable, "-m", "gr4vy_async.contrib.saq_cleanup", "enqueue"]
    process = subprocess.run(  # noqa: S603
        [*command, "redis://127.0.0.1:1", "--run", "r", "--from-file", str(fifo)],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    prog = "python -m gr4vy_async.contrib.saq_cleanup"
    assert (process.returncode, process.stdout) == (2, "")
    assert process.stderr == f"{prog}: error: not a regular file: {fifo}\n"


def test_an_ids_file_reads_the_same_whole_or_in_pieces(tmp_path: Path) -> None:
    """BOM dropped, lines stripped, CRLF and a last line without newline, bad UTF-8 as U+FFFD."""
    path = tmp_path / "ids.txt"
    path.write_bytes(b"\xef\xbb\xbf a \r\n\r\nb\n\xff\rc")
    expected = ["a", "", "b", "\ufffd", "c"]
    assert list(id_files.read_id_lines(str(path))) == expected
    with path.open(encoding="utf-8-sig", errors="replace", newline=None) as stream:
        assert list(id_files.read_id_lines(stream)) == expected
    assert id_files.count_ids(str(path)) == 4


def _imported_private_names(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module != "__future__":
            inside = node.level > 0 or (node.module or "").startswith("gr4vy_async")
            for alias in node.names if inside else ():
                for name in (alias.name, alias.asname or ""):
                    if name.startswith("_") and not name.startswith("__"):
                        found.append(f"{path.relative_to(PACKAGE)}: {alias.name}")
    return found


def test_no_private_name_is_imported_across_the_command_line_modules() -> None:
    assert [name for path in COMMAND_LINE_MODULES for name in _imported_private_names(path)] == []


def test_no_command_line_module_is_over_500_lines() -> None:
    sizes = {path.name: len(path.read_text().splitlines()) for path in COMMAND_LINE_MODULES}
    assert {name: size for name, size in sizes.items() if size > 500} == {}


def test_the_fake_and_the_queue_recipe_do_not_import_the_cli() -> None:
    """The convention is below all three: no back-arrow from testing or contrib to the CLI."""
    code = (
        "import sys\n"
        "import gr4vy_async.testing.__main__, gr4vy_async.contrib.saq_cleanup\n"
        "assert 'gr4vy_async.cli' not in sys.modules, sorted(sys.modules)\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=30)  # noqa: S603
