"""``rapport stats``: psychometrics for researchers, on CSV files (no Django, no database).

Usage::

    rapport stats reliability FILE.csv [--items COL ...] [--reverse COL ...]
                                       [--missing pairwise|listwise] [--json]
    rapport stats correlate FILE.csv X Y [--compare R0 [--compare-n N]] [--json]
    rapport stats dif FILE.csv --group COL [--items COL ...] [--no-purify]
                               [--alpha A] [--rule score|r2]
                               [--r2 mcfadden|nagelkerke|coxsnell] [--json]

Bad input (missing file or columns, text in numeric columns, an empty file, fewer
than 3 respondents, ...) prints one line to stderr and returns exit status 2.

Adding a subcommand: write ``_add_<name>(subparsers)``, which creates the parser
and sets ``handler=`` to a function ``(args, out) -> int``, and append it to
``SUBCOMMANDS``.  Handlers raise ``ValueError`` for bad input; :func:`main` turns
it into the one-line error.  :func:`read_csv` reads a file with the same checks.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NoReturn, TextIO

import pandas as pd

from rapport.psychometrics.correlation import correlate
from rapport.psychometrics.dif import dif
from rapport.psychometrics.reliability import reliability

_PROG = "rapport stats"

ITEM_KEYS = ("item", "n", "mean", "sd", "raw_r", "std_r", "r_drop", "alpha_if_dropped")


class UsageError(Exception):
    """Raised instead of argparse's print-usage-and-exit, so main() can return 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise UsageError(message)


# --------------------------------------------------------------------------- helpers


def read_csv(path: str | Path) -> pd.DataFrame:
    """Read a CSV file, raising ``ValueError`` with a one-line message on any problem."""
    p = Path(path)
    if not p.exists():
        raise ValueError(f"{p}: no such file")
    if p.is_dir():
        raise ValueError(f"{p}: is a directory, not a CSV file")
    try:
        return pd.read_csv(p)
    except pd.errors.EmptyDataError:
        raise ValueError(f"{p}: the file is empty") from None
    except pd.errors.ParserError as error:
        raise ValueError(f"{p}: not a valid CSV file ({error})") from None
    except UnicodeDecodeError:
        raise ValueError(f"{p}: not a UTF-8 text file") from None
    except OSError as error:
        raise ValueError(f"{p}: cannot be read ({error.strerror or error})") from None


def _columns(values: Sequence[str] | None) -> list[str] | None:
    """Accept ``--items a b c`` as well as ``--items a,b,c``."""
    if not values:
        return None
    return [c for v in values for c in v.split(",") if c]


def _dump(obj: Any, out: TextIO) -> None:
    out.write(json.dumps(obj, allow_nan=False) + "\n")


def _fmt(v: float | None, digits: int = 3) -> str:
    return "NA" if v is None else f"{v:.{digits}f}"


# --------------------------------------------------------------------------- reliability


def _add_reliability(sub: Any) -> None:
    p = sub.add_parser(
        "reliability",
        help="Cronbach's alpha with Feldt and Duhachek CIs and item statistics",
        description="Cronbach's alpha as R psych::alpha (one row per respondent, "
        "one numeric column per item).",
    )
    p.add_argument("file", help="CSV file with a header row")
    p.add_argument("--items", nargs="+", metavar="COL", help="item columns (default: all)")
    p.add_argument("--reverse", nargs="+", metavar="COL", help="reverse-keyed items")
    p.add_argument("--missing", choices=("pairwise", "listwise"), default="pairwise")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(handler=_run_reliability)


def _run_reliability(args: argparse.Namespace, out: TextIO) -> int:
    data = read_csv(args.file)
    res = reliability(
        data,
        _columns(args.items),
        missing=args.missing,
        reverse=_columns(args.reverse) or (),
    ).as_dict()
    payload = {
        "n": res["n"],
        "k": res["k"],
        "alpha": res["alpha"],
        "std_alpha": res["std_alpha"],
        "feldt_ci": res["feldt_ci"],
        "duhachek_ci": res["duhachek_ci"],
        "items": [{key: row[key] for key in ITEM_KEYS} for row in res["items"]],
    }
    if args.json:
        _dump(payload, out)
        return 0
    lo, hi = payload["feldt_ci"]
    dlo, dhi = payload["duhachek_ci"]
    out.write(
        f"n = {payload['n']}, k = {payload['k']} items ({args.missing} missing-data handling)\n"
        f"alpha = {_fmt(payload['alpha'])}  (std. alpha {_fmt(payload['std_alpha'])})\n"
        f"95% CI Feldt [{_fmt(lo)}, {_fmt(hi)}]  Duhachek [{_fmt(dlo)}, {_fmt(dhi)}]\n\n"
    )
    header = f"{'item':<16}{'n':>8}{'mean':>8}{'sd':>8}{'raw_r':>8}{'std_r':>8}"
    out.write(header + f"{'r_drop':>8}{'a_drop':>8}\n")
    for row in payload["items"]:
        out.write(
            f"{row['item']!s:<16}{row['n']:>8}{_fmt(row['mean'], 2):>8}{_fmt(row['sd'], 2):>8}"
            f"{_fmt(row['raw_r'], 2):>8}{_fmt(row['std_r'], 2):>8}{_fmt(row['r_drop'], 2):>8}"
            f"{_fmt(row['alpha_if_dropped'], 2):>8}\n"
        )
    return 0


# --------------------------------------------------------------------------- correlate


def _add_correlate(sub: Any) -> None:
    p = sub.add_parser(
        "correlate",
        help="Pearson r with Fisher-z CI, optionally compared with a published r",
        description="Pearson correlation of two columns (complete pairs), as R cor.test.",
    )
    p.add_argument("file", help="CSV file with a header row")
    p.add_argument("x", help="first column")
    p.add_argument("y", help="second column")
    p.add_argument(
        "--compare",
        type=float,
        metavar="R0",
        help="published correlation to test against (fixed value unless --compare-n)",
    )
    p.add_argument(
        "--compare-n",
        type=int,
        metavar="N",
        help="sample size behind R0: compare as independent samples (psych::r.test)",
    )
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(handler=_run_correlate)


def _run_correlate(args: argparse.Namespace, out: TextIO) -> int:
    if args.compare_n is not None and args.compare is None:
        raise ValueError("--compare-n needs --compare R0")
    data = read_csv(args.file)
    res = correlate(data, args.x, args.y, r0=args.compare, n0=args.compare_n).as_dict()
    cmp = res["compare"]
    payload = {
        "n": res["n"],
        "r": res["r"],
        "ci": res["ci"],
        "p": res["p"],
        "compare": None if cmp is None else {"r0": cmp["r0"], "z": cmp["z"], "p": cmp["p"]},
    }
    if args.json:
        _dump(payload, out)
        return 0
    lo, hi = payload["ci"]
    out.write(
        f"r({args.x}, {args.y}) = {_fmt(payload['r'])}, n = {payload['n']}, "
        f"95% CI [{_fmt(lo)}, {_fmt(hi)}], p = {payload['p']:.3g}\n"
    )
    if cmp is not None:
        how = "fixed value" if cmp["n0"] is None else f"independent sample, n = {cmp['n0']}"
        out.write(f"vs r0 = {cmp['r0']} ({how}): z = {_fmt(cmp['z'])}, p = {cmp['p']:.3g}\n")
    return 0


# --------------------------------------------------------------------------- dif

DIF_KEYS = (
    "item", "n", "lr_uniform", "p_uniform", "lr_nonuniform", "p_nonuniform",
    "lr_total", "p_total", "p_adjusted", "effect_size", "score_diff", "score_diff_ci_low",
    "score_diff_ci_high", "score_diff_group", "flag", "note",
)  # fmt: skip


def _add_dif(sub: Any) -> None:
    p = sub.add_parser(
        "dif",
        help="ordinal logistic-regression DIF across groups, purified matching score",
        description="Differential item functioning of every item across the groups of "
        "--group (uniform, non-uniform and total LR tests; pseudo-R2 change).",
    )
    p.add_argument("file", help="CSV file with a header row")
    p.add_argument("--group", required=True, metavar="COL", help="group column")
    p.add_argument("--items", nargs="+", metavar="COL", help="item columns (default: all others)")
    p.add_argument("--no-purify", action="store_true", help="do not purify the matching score")
    p.add_argument("--alpha", type=float, default=0.01, help="significance level (default .01)")
    p.add_argument(
        "--rule",
        choices=("score", "r2"),
        default="score",
        help="flag rule: Holm-adjusted p and expected item-score difference (default), or "
        "p and pseudo-R2 change with Jodoin-Gierl cut-offs",
    )
    p.add_argument("--r2", choices=("mcfadden", "nagelkerke", "coxsnell"), default="mcfadden")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(handler=_run_dif)


def _run_dif(args: argparse.Namespace, out: TextIO) -> int:
    data = read_csv(args.file)
    items = _columns(args.items) or [c for c in data.columns if c != args.group]
    res = dif(
        data,
        items,
        args.group,
        purify=not args.no_purify,
        rule=args.rule,
        alpha=args.alpha,
        r2=args.r2,
    )
    rows = [
        {k: (None if isinstance(v, float) and v != v else v) for k, v in row.items()}
        for row in res[list(DIF_KEYS)].to_dict(orient="records")
    ]
    info = res.attrs["purification"]
    if args.json:
        _dump({"anchors": info["anchors"], "converged": info["converged"], "items": rows}, out)
        return 0
    out.write(
        f"n = {rows[0]['n']}, groups: {', '.join(info['groups'])}; {args.r2} R2 change; "
        f"anchors: {', '.join(map(str, info['anchors']))}\n\n"
    )
    out.write(
        f"{'item':<16}{'p_unif':>10}{'p_nonunif':>11}{'p_total':>10}{'p_holm':>10}{'dR2':>8}"
        f"{'diff':>8}  flag\n"
    )
    for r in rows:
        p_u, p_n, p_t, p_h = (
            _fmt(r[k], 4) for k in ("p_uniform", "p_nonuniform", "p_total", "p_adjusted")
        )
        out.write(
            f"{r['item']!s:<16}{p_u:>10}{p_n:>11}{p_t:>10}{p_h:>10}{_fmt(r['effect_size']):>8}"
            f"{_fmt(r['score_diff']):>8}  "
            f"{r['flag']}{'  (' + r['note'] + ')' if r['note'] else ''}\n"
        )
    return 0


# --------------------------------------------------------------------------- entry point

#: Functions that each add one subcommand to the ``stats`` parser.
SUBCOMMANDS: list[Callable[[Any], None]] = [
    _add_reliability,
    _add_correlate,
    _add_dif,
]


def build_parser() -> argparse.ArgumentParser:
    """The ``rapport stats`` argument parser (one sub-parser per SUBCOMMANDS entry)."""
    parser = _Parser(prog=_PROG, description="Psychometrics for researchers, on CSV files.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True
    for add in SUBCOMMANDS:
        add(sub)
    return parser


def _fail(message: str) -> int:
    one_line = " ".join(str(message).split())
    print(f"{_PROG}: error: {one_line}", file=sys.stderr)
    return 2


def main(argv: list[str] | None = None, *, stdout: TextIO | None = None) -> int:
    """Run ``rapport stats``; return the exit status (0 ok, 2 bad input).

    Parameters
    ----------
    argv : list of str, optional
        Arguments after ``stats``, e.g. ``["reliability", "x.csv", "--json"]``
        (default: ``sys.argv[1:]``).
    stdout : text stream, optional
        Where results go (default ``sys.stdout``); errors always go to stderr.
    """
    out = sys.stdout if stdout is None else stdout
    args_in = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    try:
        args = parser.parse_args(args_in)
    except UsageError as error:
        return _fail(str(error))
    except SystemExit as done:  # --help
        return int(done.code or 0)
    try:
        return int(args.handler(args, out))
    except ValueError as error:
        return _fail(str(error))


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
