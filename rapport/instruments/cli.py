"""``rapport score INSTRUMENT_ID --answers 0,1,2,,3 [--json] [--instruments-dir DIR]``.

Scores answers given in item order (an empty field is a missing item). Clinic
definitions come from ``--instruments-dir`` (repeatable) and from the
``RAPPORT_INSTRUMENTS_DIR`` environment variable (several folders separated by
``os.pathsep``). Invalid input prints one line to stderr and returns 2.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from typing import NoReturn, TextIO

from rapport.env import env_str
from rapport.instruments.errors import AnswerError, DefinitionError
from rapport.instruments.model import Instrument, ScoreResult
from rapport.instruments.registry import ENV_INSTRUMENTS_DIR, instrument_dirs, load_registry

EXIT_OK = 0
EXIT_INVALID_INPUT = 2
_PROG = "rapport score"


class _UsageError(Exception):
    """Raised instead of argparse's print-usage-and-exit, so main() can return 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise _UsageError(message)


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser for ``rapport score``."""
    parser = _Parser(prog=_PROG, description="Score one administration of an instrument.")
    parser.add_argument("instrument_id", metavar="INSTRUMENT_ID", help="e.g. phq9, gad7")
    parser.add_argument(
        "--answers",
        required=True,
        help="comma-separated answers in item order; leave a field empty for a missing item",
    )
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    parser.add_argument(
        "--instruments-dir",
        action="append",
        default=[],
        metavar="DIR",
        help=f"a folder of clinic definitions (repeatable; also read from ${ENV_INSTRUMENTS_DIR})",
    )
    return parser


def main(argv: Sequence[str] | None = None, *, stdout: TextIO | None = None) -> int:
    """Run ``rapport score``; return the exit status.

    Parameters
    ----------
    argv : sequence of str, optional
        Arguments after the program name. A leading ``"score"`` is accepted and
        skipped, so both ``["score", "phq9", ...]`` and ``["phq9", ...]`` work.
    stdout : text stream, optional
        Where to print the result (default ``sys.stdout``).

    Returns
    -------
    int
        0 on success, 2 on invalid input (unknown instrument, wrong count,
        a value that is not an option, a non-number, a broken definition).
    """
    out = stdout or sys.stdout
    arguments = list(sys.argv[1:] if argv is None else argv)
    if arguments[:1] == ["score"]:
        arguments = arguments[1:]
    try:
        options = build_parser().parse_args(arguments)
        registry = load_registry(
            instrument_dirs(env_str(ENV_INSTRUMENTS_DIR), options.instruments_dir)
        )
        instrument = registry[options.instrument_id]
        result = instrument.score(instrument.parse_answer_list(options.answers))
    except (_UsageError, AnswerError, DefinitionError) as exc:
        return _fail(str(exc))
    except KeyError as exc:
        return _fail(str(exc.args[0]))
    out.write(_as_json(result) if options.json else _as_text(instrument, result))
    return EXIT_OK


def _fail(message: str) -> int:
    one_line = " ".join(message.split())
    print(f"{_PROG}: error: {one_line}", file=sys.stderr)
    return EXIT_INVALID_INPUT


def _as_json(result: ScoreResult) -> str:
    document = result.as_dict()
    del document["version"]
    return json.dumps(document, ensure_ascii=False) + "\n"


def _as_text(instrument: Instrument, result: ScoreResult) -> str:
    def number(value: float | None) -> str:
        return (
            "not scored (too many missing items)"
            if value is None
            else f"{value:.{instrument.decimals}f}"
        )

    title = instrument.title.get("en") or next(iter(instrument.title.values()))
    lines = [f"{title} ({instrument.id} v{instrument.version})"]
    notes = [note for note in (result.band, "estimated" if result.estimated else "") if note]
    band = f" ({', '.join(notes)})" if notes else ""
    lines.append(f"total: {number(result.total)}{band}")
    lines.extend(f"subscale {name}: {number(value)}" for name, value in result.subscales.items())
    lines.append(f"flags: {', '.join(result.flags) or 'none'}")
    lines.append(f"missing: {', '.join(result.missing) or 'none'}")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":  # pragma: no cover - exercised through main() in tests
    raise SystemExit(main())
