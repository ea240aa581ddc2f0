"""The ``sensorium`` command: parse, call the library, render.

stdout carries results only (a Rich table, or one JSON document with ``--json``); progress
and messages go to stderr. Exit codes: 0 ok, 1 user error, 2 usage error, 3 the run
finished but some files failed (see ``sensorium errors``).
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import os
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, Literal, NoReturn

import typer
from rich.console import Console
from rich.logging import RichHandler
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Column, Table
from rich.text import Text

from sensorium.errors import SensoriumError
from sensorium.eta import Estimate
from sensorium.library import Library, open_library
from sensorium.media.dates import format_date
from sensorium.media.walk import display_path
from sensorium.types import CLASSIFY_MARGIN, DESCRIBE_MIN_SCORE, LIKE_WEIGHT, MAX_LIMIT, Modality

app = typer.Typer(add_completion=False, no_args_is_help=True, help="Multimodal zero-shot search, offline.")
out = Console(width=None if sys.stdout.isatty() else 160)
err = Console(stderr=True, soft_wrap=True)
EXIT_SOME_FAILED = 3

LibraryOpt = Annotated[
    Path | None,
    typer.Option("--library", "-l", help="Library folder [env: SENSORIUM_LIBRARY; default: user data folder]"),
]
EvalModality = Literal["image", "video", "audio"]
DescribeFormat = Literal["json", "srt", "vtt"]

JsonOpt = Annotated[bool, typer.Option("--json", help='Print one JSON document (schemas: README, "JSON schemas")')]
ReencodeOpt = Annotated[
    bool | None,
    typer.Option("--reencode/--copy", help="Force re-encoding, or stream copy only [default: copy when possible]"),
]
WhisperOpt = Annotated[
    str | None,
    typer.Option(
        "--whisper-model", help="tiny.en (bundled) or a CTranslate2 Whisper folder [env: SENSORIUM_WHISPER_MODEL]"
    ),
]
LanguageOpt = Annotated[
    str | None, typer.Option("--language", help="Spoken language, e.g. en (multilingual Whisper models only)")
]
TextEncoderOpt = Annotated[
    str | None,
    typer.Option(
        "--text-encoder",
        help="Text encoder defining the space: minilm-multi-v1 (default: MiniLM's space, other languages"
        " mapped into it), minilm-l6-v1 (English only), e5-small-v1",
    ),
]
TakenOpt = Annotated[
    str | None,
    typer.Option(
        "--taken",
        help="Only files whose own dates (EXIF, creation time) fall in: 2023, 2023-06, 2021..2023-03, ..2019,"
        " or days in words: 'last summer', 'June 2023', 'yesterday'",
    ),
]


@app.callback()
def main(
    verbose: Annotated[int, typer.Option("--verbose", "-v", count=True, help="-v info logs, -vv debug")] = 0,
) -> None:
    level = logging.DEBUG if verbose > 1 else logging.INFO if verbose else logging.WARNING
    logging.basicConfig(level=level, handlers=[RichHandler(console=err, show_path=False)], format="%(message)s")


def _open(library: Path | None, **overrides: Any) -> Library:
    return open_library(library, **overrides)


_SURROGATE = re.compile("[\ud800-\udfff]")


def json_text(data: Any) -> str:
    """JSON that is valid UTF-8 whatever the file names.

    A name that is not UTF-8 on disk arrives as Python's surrogate escapes (``caf\\udce9``);
    written raw they would make the output invalid UTF-8, so they are written as JSON escapes,
    which ``json.loads`` turns back into the same string and ``os.fsencode`` into the real name.
    """
    text = json.dumps(data, ensure_ascii=False, indent=2)
    return _SURROGATE.sub(lambda m: f"\\u{ord(m.group()):04x}", text) + "\n"


def _emit_json(data: Any) -> None:
    sys.stdout.write(json_text(data))


def _progress() -> Progress:
    """Counts, rate and times first; the file being read last, cut with an ellipsis where the
    terminal is narrow (at 80 columns the times were cut to "0:…" by a long file name)."""
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(bar_width=20),
        TextColumn("{task.fields[count]}"),
        TextColumn("{task.fields[rate]}"),
        TimeElapsedColumn(),
        TextColumn("eta"),
        TextColumn("[cyan]{task.fields[eta]}"),
        TextColumn(
            "[dim]{task.fields[name]}",
            justify="left",
            table_column=Column(no_wrap=True, overflow="ellipsis", ratio=1),
        ),
        console=err,
        disable=not err.is_terminal,
        transient=False,
        expand=True,
    )


def _index_progress(bar: Progress) -> Callable[..., None] | None:
    """A progress callback for ``lib.index``: the bar fills by estimated work (a film weighs more
    than a photo, an unchanged file nothing), the count is of files, the rate in files a second.
    None where the bar is not shown (output to a file or a pipe): nothing to estimate for."""
    if bar.disable:
        return None
    task = bar.add_task("indexing", total=None, count="", rate="", eta=_time_left(None), name="")

    def on_progress(done: float, total: int, path: str, estimate: Estimate | None = None) -> None:
        elapsed = bar.tasks[task].elapsed or 0
        fields = {"count": f"{int(done)}/{total}", "name": Path(path).name}
        fields["rate"] = f"{int(done) / elapsed:.1f} files/s" if elapsed > 0 else ""
        if estimate is None:  # a caller that counts files alone (embedding a library in a hub space)
            bar.update(task, completed=done, total=total, **fields)
        else:
            bar.update(task, completed=estimate.share, total=1.0, eta=_time_left(estimate.seconds_left), **fields)

    return on_progress


def _time_left(seconds: float | None) -> str:
    """Seconds as h:mm:ss, as Rich shows elapsed time; dashes while there is nothing to go by."""
    if seconds is None:
        return "-:--:--"
    s = round(seconds)
    return f"{s // 3600}:{s // 60 % 60:02d}:{s % 60:02d}"


@app.command()
def index(
    paths: Annotated[list[Path] | None, typer.Argument(help="Files and folders to index", metavar="PATH")] = None,
    library: LibraryOpt = None,
    model: Annotated[
        list[str] | None,
        typer.Option("--model", help="Also embed in this installed hub model's space (repeatable; see `models add`)"),
    ] = None,
    include: Annotated[list[str] | None, typer.Option("--include", help="Only files matching this glob")] = None,
    exclude: Annotated[list[str] | None, typer.Option("--exclude", help="Skip files matching this glob")] = None,
    prune: Annotated[
        bool, typer.Option("--prune", help="Forget indexed files that no longer exist (a whole folder: see `forget`)")
    ] = False,
    rehash: Annotated[
        bool,
        typer.Option(
            "--rehash", help="Read every file to compare its content, even if its size and time are unchanged"
        ),
    ] = False,
    text_encoder: TextEncoderOpt = None,
    whisper_model: WhisperOpt = None,
    language: LanguageOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Index files and folders: incremental, resumable; bad files are recorded, never fatal.

    With --model and no paths, embeds what the library already holds in that model's space.
    """
    if not paths and not model:
        why = "--prune forgets what is gone under the folders you give; " if prune else ""
        raise typer.BadParameter(f"{why}give files or folders to index, or --model to embed the library in a hub space")
    lib = _open(library, text_encoder=text_encoder, whisper_model=whisper_model, speech_language=language)
    with _progress() as bar:
        on_progress = _index_progress(bar)

        try:
            report = lib.index(
                paths or [],
                models=model or (),
                include=include or (),
                exclude=exclude or (),
                prune=prune,
                rehash=rehash,
                on_progress=on_progress,
            )
        except KeyboardInterrupt:  # every committed batch is kept: say so, rather than exit in silence
            err.print("interrupted: what was indexed so far is kept; run the same command again to resume")
            raise typer.Exit(130) from None
    if as_json:
        _emit_json(report.to_json())
    else:
        if paths or prune:  # with --model alone, only the spaces were embedded
            err.print(
                f"indexed {report.indexed}"
                + (f" ({report.reused} by the records of an identical file)" if report.reused else "")
                + f", unchanged {report.skipped}, failed {report.failed}"
                + (f", not media {report.not_media}" if report.not_media else "")
                + (f", pruned {report.pruned}" if prune else "")
                + f" ({report.records} records, {report.seconds:.1f} s) → {lib.path}"
            )
        if (
            paths
            and not (report.indexed + report.skipped + report.failed + report.not_media + report.gone)
            and not report.held
        ):
            where = ", ".join(display_path(p) for p in paths[:3]) + (" ..." if len(paths) > 3 else "")
            err.print(
                f"no files under {where}: nothing to index (pictures, recordings, videos, notes and documents are)"
            )
        if report.redated:
            err.print(f"read the dates of {report.redated} files indexed before 0.4 (search --taken finds them now)")
        for root in report.held:
            err.print(
                f"kept the files under {display_path(root)}: every one of them is missing (a drive not mounted,"
                f" or the folder moved?); if it is gone for good, `sensorium forget {display_path(root)}` drops them"
            )
        if report.gone:
            err.print(
                f"{report.gone} indexed file{'s' if report.gone > 1 else ''} under these paths"
                f" no longer exist{'' if report.gone > 1 else 's'}"
                "; run with --prune to forget them (search still finds them until then)"
            )
        for name, c in report.spaces.items():
            err.print(
                f"space {name}: embedded {c['embedded']}, unchanged {c['unchanged']}, failed {c['failed']}"
                + (f", dropped {c['dropped']}" if c["dropped"] else "")
                + f" ({c['records']} records)"
            )
        for path, reason in report.failures[:10]:
            err.print(Text.assemble(("failed", "red"), f" {path}: {reason}"))
        if report.failed > 10:
            err.print(f"... and {report.failed - 10} more: run `sensorium errors`")
    if report.failed:
        raise typer.Exit(EXIT_SOME_FAILED)


@app.command()
def watch(
    paths: Annotated[list[Path], typer.Argument(help="Files and folders to keep indexed", metavar="PATH")],
    library: LibraryOpt = None,
    every: Annotated[float, typer.Option("--every", min=0.1, help="Seconds between rounds")] = 10.0,
    prune: Annotated[
        bool, typer.Option("--prune/--no-prune", help="Forget files deleted from the folders [default: prune]")
    ] = True,
    include: Annotated[list[str] | None, typer.Option("--include", help="Only files matching this glob")] = None,
    exclude: Annotated[list[str] | None, typer.Option("--exclude", help="Skip files matching this glob")] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="One JSON line per change: {at, indexed, forgotten, failed}")
    ] = False,
) -> None:
    """Keep the library up to date with folders: new and changed files indexed, deleted ones forgotten.

    Runs an incremental index every --every seconds until Ctrl-C, and says what each round changed.
    """
    from datetime import datetime

    from sensorium.watch import watch as keep_watching

    if not math.isfinite(every):
        raise typer.BadParameter(f"--every {every}: give a number of seconds")
    lib = _open(library)

    def said(change: Any) -> None:
        if as_json:
            sys.stdout.write(json.dumps(change.to_json(), ensure_ascii=False) + "\n")
            sys.stdout.flush()
            return
        stamp = datetime.fromtimestamp(change.at).strftime("%H:%M:%S")
        for what, names in (("indexed", change.indexed), ("forgot", change.forgotten)):
            if names:
                shown = ", ".join(display_path(p) for p in names[:10])
                more = f" and {len(names) - 10} more" if len(names) > 10 else ""
                err.print(f"{stamp} {what} {len(names)}: {shown}{more}", markup=False, highlight=False)
        for path, reason in change.failed:
            err.print(Text.assemble(f"{stamp} ", ("failed", "red"), f" {display_path(path)}: {reason}"))

    places = ", ".join(display_path(str(p)) for p in paths)
    err.print(f"watching {places} every {every:g} s → {lib.path} (Ctrl-C stops)", markup=False, highlight=False)
    try:
        keep_watching(
            lib, paths, every=every, prune=prune, include=include or (), exclude=exclude or (), on_change=said
        )
    except KeyboardInterrupt:  # every round's writes are committed: nothing to undo
        err.print("stopped; the library holds everything indexed so far")


@app.command()
def search(
    query: Annotated[
        str | None,
        typer.Argument(help="What to look for, in words (in other languages too, less well)", metavar="WORDS"),
    ] = None,
    like: Annotated[
        list[Path] | None,
        typer.Option(
            "--like", help="An example file (image, video, sound or text); repeat it for more like these, of one kind"
        ),
    ] = None,
    like_weight: Annotated[
        float, typer.Option(min=0, max=1, help="Weight of --like against the words (0..1)")
    ] = LIKE_WEIGHT,
    negative: Annotated[str | None, typer.Option("--not", help="Words to steer away from")] = None,
    limit: Annotated[
        int, typer.Option("--limit", "-n", min=1, max=MAX_LIMIT, help="Number of hits (a moment counts once)")
    ] = 10,
    modality: Annotated[Modality | None, typer.Option("--modality", "-m", case_sensitive=False)] = None,
    path: Annotated[str | None, typer.Option("--path", help="Only paths matching this glob")] = None,
    min_score: Annotated[
        float | None, typer.Option("--min-score", min=0, max=1, help="Calibrated 0..1 (default 0.5)")
    ] = None,
    space: Annotated[
        str | None, typer.Option("--space", help="Search a hub model's space (clip, clap; see `sensorium spaces`)")
    ] = None,
    taken: TakenOpt = None,
    no_dates: Annotated[
        bool, typer.Option("--no-dates", help="Search days in the words as words ('in 2019' is not read as --taken)")
    ] = False,
    library: LibraryOpt = None,
    text_encoder: TextEncoderOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Search by words, by example (--like), or both. Best first, each hit says why.

    With --taken alone, the files made in those days, in the order they were made. Without it, days
    the words say ("a beach in summer 2019", "photos from last year") are read as --taken.
    """
    if not (query or "").strip() and not like and not (taken or "").strip():
        raise typer.BadParameter("give words to search for, an example file (--like), days (--taken), or both")
    said = None
    if taken is None and not no_dates and (query or "").strip():
        said = _days_said(query or "")
    elif taken is not None:
        said = _taken_words(taken)
    lib = _open(library, text_encoder=text_encoder)
    hits = lib.search(
        query,
        like=like or None,
        like_weight=like_weight,
        negative=negative,
        limit=limit,
        modality=modality,
        path_glob=path,
        min_score=min_score,
        space=space,
        taken=taken,
        read_dates=not no_dates,
    )
    if said:  # on stderr, with --json too: stdout stays the hits
        hint = "" if taken is not None else " (--no-dates: search those words as written)"
        err.print(f"[dim]{said}{hint}[/dim]", highlight=False)
    if as_json:
        _emit_json([h.to_json() for h in hits])
        return
    if not hits:
        if not lib.store().count():
            err.print(f"{lib.path} holds nothing yet: index files first (`sensorium index PATH`)")
        else:
            err.print("no relevant results (try --min-score 0 to see the closest ones)")
        return
    timed = any(h.start is not None for h in hits)
    dated = taken is not None or said is not None  # asked by date: say each one's
    columns = ["score", "path", *(["taken"] if dated else []), *(["when"] if timed else []), "why"]
    table = Table(*columns, show_lines=False, expand=False)
    for h in hits:
        day = [(format_date(h.taken) or "").replace("T", " ")] if dated else []
        when = [f"{_clock(h.start)}–{_clock(h.end)}" if h.start is not None else ""] if timed else []
        table.add_row(f"{h.score:.2f}", display_path(h.path), *day, *when, h.why)
    out.print(table)


@app.command()
def embed(
    files: Annotated[
        list[Path] | None, typer.Argument(help="Files to embed as a search by example reads them", metavar="FILE")
    ] = None,
    text: Annotated[
        list[str] | None,
        typer.Option("--text", "-t", help="Words to embed as a search reads them (repeat it); - reads a text a line"),
    ] = None,
    stored: Annotated[
        bool, typer.Option("--stored", help="The vectors the library holds for these indexed files: a line a record")
    ] = False,
    document: Annotated[
        bool, typer.Option("--document", help="Embed --text as a note's passage is stored, not as a query")
    ] = False,
    perceptual: Annotated[
        bool, typer.Option("--perceptual", help="Also the perceptual vector (what --like compares), where there is one")
    ] = False,
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="Write the vectors to this .npy file as an (n, d) float32 matrix"),
    ] = None,
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace an existing output file")] = False,
    space: Annotated[
        str | None, typer.Option("--space", help="A hub model's space (clip, clap) instead of the library's")
    ] = None,
    library: LibraryOpt = None,
    text_encoder: TextEncoderOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Vectors out: files and words in the library's space, a JSON line each, or a .npy matrix (-o).

    Each line: {"input", "kind", "space", "vector"}; with --stored also "start" and "end" (one line a
    record); an input that cannot be embedded: {"input", "error"}, the others go on (exit 3). With -o
    the lines say each input's "row" in the matrix instead of its vector.
    """
    import numpy as np

    from sensorium import embed as embedding
    from sensorium.errors import QueryError

    texts: list[str] = []
    for t in text or []:
        if t != "-":
            texts.append(t)
            continue
        piped = [line for line in sys.stdin.read().splitlines() if line.strip()]  # blank lines: none to embed
        if not piped:
            raise typer.BadParameter("--text -: the pipe held no text (one text a line)", param_hint="--text")
        texts += piped
    if not files and not texts:
        raise typer.BadParameter("give files to embed, words (--text), or both")
    if stored and (texts or space):
        raise typer.BadParameter("--stored gives what the library holds for files; drop --text and --space")
    if output is not None:
        if not str(output).strip() or output.suffix.lower() != ".npy":
            raise QueryError(f"-o {str(output)!r}: vectors are written as numpy .npy; name the file *.npy")
        if perceptual:
            raise QueryError("--perceptual: -o writes the vectors of the space only; drop -o for JSON lines with both")
        _check_output(output, list(files or []), overwrite)
    lib = _open(library, text_encoder=text_encoder)
    if stored:
        found = embedding.stored(lib, files or [])
    else:
        found = embedding.embed_texts(lib, texts, space=space, document=document) if texts else []
        found += embedding.embed_files(lib, files or [], space=space) if files else []
    rows: list[dict[str, Any]] = []
    good = [e for e in found if e.error is None]
    if output is not None and good:
        matrix = np.stack([e.vector for e in good]).astype(np.float32)  # type: ignore[misc]
        tmp = output.with_name(f".{output.name}.{os.getpid()}.part.npy")
        try:
            np.save(tmp, matrix)
            os.replace(tmp, output)
        except OSError as exc:
            tmp.unlink(missing_ok=True)
            why = exc.strerror or str(exc)
            name = display_path(output)
            raise QueryError(f"{name}: cannot be written ({why}); pick a folder you can write") from None
        err.print(f"wrote {display_path(output)}: {matrix.shape[0]} × {matrix.shape[1]} float32")
    row = 0
    for e in found:
        item = e.to_json(perceptual=perceptual, vectors=output is None)
        if output is not None and e.error is None:
            item["row"], row = row, row + 1
        if e.error is not None:
            _print_error(QueryError(f"{e.input or repr(e.input)}: {e.error}"))
        rows.append(item)
    if as_json:
        _emit_json(rows)
    else:
        sys.stdout.write("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))
    if len(good) < len(found):
        raise typer.Exit(EXIT_SOME_FAILED)


def _days_said(query: str) -> str | None:
    """What ``search`` reads as days in ``query``, said as ``--taken`` would take it, or None."""
    from sensorium.media.days_asked import as_taken, days_asked

    asked = days_asked(query)
    return None if asked is None else f'"{asked.said}" read as --taken {as_taken(asked.span)}'


def _taken_words(taken: str) -> str | None:
    """What ``--taken`` words ("last summer") are read as, said as a span; None for a span as written."""
    from sensorium.media.days_asked import as_taken, taken_in_words

    asked = taken_in_words(taken)
    return None if asked is None else f"--taken {taken.strip()!r} read as {as_taken(asked.span)}"


def _clock(seconds: float | None) -> str:
    if seconds is None:
        return ""
    m, s = divmod(float(seconds), 60)
    h, m = divmod(int(m), 60)
    return f"{h}:{m:02d}:{s:04.1f}" if h else f"{m}:{s:04.1f}"


@app.command()
def export(
    hits: Annotated[
        str, typer.Argument(help="A file of `search --json` hits, or - to read them from a pipe", metavar="HITS")
    ],
    output: Annotated[Path, typer.Option("--output", "-o", help="Folder to write into (created if missing)")],
    pad: Annotated[float, typer.Option("--pad", min=0, help="Seconds added before and after each moment")] = 0.0,
    reencode: ReencodeOpt = None,
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace files already there")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Write search hits out as files: moments cut from recordings and videos, photos and documents copied.

    sensorium search "glass breaking" --json | sensorium export - -o moments/

    Names keep the search's order: 001-street-12.00-15.50.mp4, 002-kitchen.jpg. A hit that cannot
    be written is reported with its reason, and the others still are (exit code 3).
    """
    from sensorium.errors import QueryError
    from sensorium.export import export_hits, read_hits

    if not math.isfinite(pad):
        raise typer.BadParameter(f"--pad {pad}: give a number of seconds, 0 or more")
    name = "standard input" if hits == "-" else hits
    try:
        text = sys.stdin.read() if hits == "-" else Path(hits).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise QueryError(f"{name}: cannot read ({getattr(exc, 'strerror', None) or exc})") from None
    if not text.strip():
        raise QueryError(f"{name}: empty; pipe `sensorium search ... --json` into it, or give such a file")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        why = f"not JSON ({exc.msg} at line {exc.lineno}); expected `search --json` output"
        raise QueryError(f"{name}: {why}") from None
    results = export_hits(read_hits(data, name), output, pad=pad, overwrite=overwrite, reencode=reencode)
    if as_json:
        _emit_json([r.to_json() for r in results])
    else:
        for r in results:
            if r.error:
                err.print(Text.assemble(("failed", "red"), f" {r.rank}. {display_path(r.source)}: {r.error}"))
            else:
                span = "" if r.start is None else f" ({r.start:.2f}–{r.end:.2f} s{'' if r.copied else ', re-encoded'})"
                err.print(f"{r.rank}. {display_path(r.path or '')}{span}", markup=False, highlight=False)
        done = sum(r.error is None for r in results)
        err.print(f"wrote {done} of {len(results)} hits into {display_path(output)}", markup=False, highlight=False)
    if any(r.error for r in results):
        raise typer.Exit(EXIT_SOME_FAILED)


@app.command()
def describe(
    files: Annotated[list[Path], typer.Argument(help="Recordings, videos and pictures to describe", metavar="FILE")],
    fmt: Annotated[DescribeFormat, typer.Option("--format", "-f", case_sensitive=False)] = "json",
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write here instead of stdout")] = None,
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace an existing output file")] = False,
    min_score: Annotated[
        float, typer.Option("--min-score", min=0, max=1, help="Least tag score for a sound event")
    ] = DESCRIBE_MIN_SCORE,
    speech: Annotated[bool, typer.Option("--speech/--no-speech", help="Transcribe speech")] = True,
    whisper_model: WhisperOpt = None,
    language: LanguageOpt = None,
    library: LibraryOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """A timeline of shots (what they show), sound events and speech, as JSON, SRT or WebVTT captions.

    A picture gets its tags (what it shows, its kinds, the objects in it), an alt-text and the text
    read in it, as JSON."""
    from sensorium.errors import QueryError
    from sensorium.timeline import describe_file, to_srt, to_vtt

    if as_json and fmt != "json":
        raise typer.BadParameter(f"--json asks for JSON, --format for {fmt}; give one of them", param_hint="--json")
    if fmt != "json" and len(files) != 1:
        raise typer.BadParameter("srt and vtt describe one file at a time; give one file, or use --format json")
    if output is not None:
        _check_output(output, files, overwrite)
    lib = _open(library, whisper_model=whisper_model, speech_language=language)
    if len(files) == 1:  # one file: its error is the command's (exit 1)
        descs: list[Any] = [describe_file(lib, files[0], min_score=min_score, speech=speech)]
    else:  # several: a file that cannot be described gets {"path", "error"} and the rest go on (exit 3)
        descs = []
        for f in files:
            try:
                descs.append(describe_file(lib, f, min_score=min_score, speech=speech))
            except QueryError as exc:
                descs.append({"path": str(f), "error": str(exc).removeprefix(f"{f}: ")})
                _print_error(exc)
    if fmt == "json":
        data = [d if isinstance(d, dict) else d.to_json() for d in descs]
        text = json_text(data if len(data) > 1 else data[0])
    else:
        text = to_srt(descs[0]) if fmt == "srt" else to_vtt(descs[0])
    if output is None:
        sys.stdout.write(text)
    else:
        _write_output(output, text)
        err.print(f"wrote {display_path(output)}")
    if any(isinstance(d, dict) for d in descs):
        raise typer.Exit(EXIT_SOME_FAILED)


def _check_output(output: Path, sources: list[Path], overwrite: bool) -> None:
    """Refuse an output that would lose data or cannot be written, before any work is done."""
    from sensorium.errors import QueryError

    name = display_path(output)
    if not output.parent.is_dir():
        folder = display_path(output.parent)
        raise QueryError(f"{name}: folder {folder} does not exist; create it first or pick another")
    if output.is_dir():
        raise QueryError(f"{name}: is a folder; give a file name")
    if any(os.path.realpath(output) == os.path.realpath(src) for src in sources):
        raise QueryError(f"{name}: is a file being described; write to another path")
    if output.exists() and not overwrite:
        raise QueryError(f"{name}: already exists; pass --overwrite or pick another name")


def _write_output(output: Path, text: str) -> None:
    """Write beside, then rename: an interrupted write never leaves half a file in its place."""
    from sensorium.errors import QueryError

    tmp = output.with_name(f".{output.name}.{os.getpid()}.part")
    try:
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, output)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise QueryError(f"{display_path(output)}: cannot write ({exc.strerror or exc}); pick another path") from exc


@app.command()
def clip(
    file: Annotated[Path, typer.Argument(help="A sound or video file", metavar="FILE")],
    start: Annotated[float, typer.Option("--start", "-s", help="Seconds")],
    end: Annotated[float, typer.Option("--end", "-e", help="Seconds")],
    output: Annotated[
        Path,
        typer.Option(
            "--output",
            "-o",
            help="Where to write the moment; its suffix picks the format: .wav .flac .aiff .mp3 .ogg .opus .m4a"
            " (sound), .mp4 .mov .mkv .webm (video and sound)",
        ),
    ],
    reencode: ReencodeOpt = None,
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace an existing output file")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Export a moment: stream copy where the container allows, else re-encoded.

    A copy of a video starts on the keyframe at or before --start (the times written say where);
    where that is more than a quarter of a second early, the moment is re-encoded instead, unless --copy.
    Re-encoded sound of more than two channels is downmixed to stereo.
    """
    from sensorium.media.clip import export_clip

    if math.isnan(start) or math.isnan(end):
        raise typer.BadParameter("--start and --end are numbers of seconds (nan is not one)")
    if start < 0 or end < 0:
        raise typer.BadParameter(f"{min(start, end):g}: times are seconds from the start, 0 or more")
    if not start < end:
        raise typer.BadParameter(f"--start {start:g} is not before --end {end:g}; give an end after the start")

    result = export_clip(file, start, end, output, reencode=reencode, overwrite=overwrite)
    if as_json:
        times = {"start": round(result.start_s, 6), "end": round(result.end_s, 6)}  # exact to the sample: 1 µs
        _emit_json({"path": result.path, **times, "copied": result.copied})
        return
    how = "stream copy" if result.copied else "re-encoded"
    err.print(f"wrote {display_path(result.path)} ({result.start_s:.3f}–{result.end_s:.3f} s, {how})")
    if math.isfinite(end) and result.end_s < end - 0.5:  # the times above say it; a short clip should not pass unseen
        err.print(f"note: the clip ends at {result.end_s:.3f} s, before the {end:g} s asked: the file ends there")


@app.command()
def classify(
    files: Annotated[list[Path], typer.Argument(help="Files to classify", metavar="FILE")],
    labels: Annotated[str | None, typer.Option("--labels", help="Comma-separated labels, in words")] = None,
    labels_file: Annotated[Path | None, typer.Option("--labels-file", help="One label per line")] = None,
    multi_label: Annotated[bool, typer.Option("--multi-label", help="Each label scored on its own")] = False,
    threshold: Annotated[
        float | None, typer.Option(min=0, max=1, help="Multi-label: keep labels scoring at least this (default 0.5)")
    ] = None,
    margin: Annotated[
        float, typer.Option(min=0, max=1, help="Abstain when the best two labels are closer than this")
    ] = CLASSIFY_MARGIN,
    top: Annotated[int | None, typer.Option("--top", min=1, help="Show only the best N labels")] = None,
    library: LibraryOpt = None,
    text_encoder: TextEncoderOpt = None,
    examples: Annotated[
        Path | None,
        typer.Option(
            "--examples",
            help="A folder of <label>/<files>: a few of your own per label, counted beside the words (few-shot)",
        ),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Classify files zero-shot into labels written in words; with --examples, few-shot from your own."""
    from sensorium.errors import QueryError
    from sensorium.zero_shot import parse_labels

    try:
        names = parse_labels(labels, labels_file) if labels or labels_file or examples is None else []
    except QueryError as exc:  # no labels: the command was not used as documented
        raise typer.BadParameter(str(exc), param_hint="--labels") from None
    lib = _open(library, text_encoder=text_encoder)
    if threshold is not None and not multi_label and len(names) > 1:
        raise typer.BadParameter("applies to --multi-label (each label on its own); add it", param_hint="--threshold")
    cut = 0.5 if threshold is None else threshold
    results = lib.classify(
        files, names, multi_label=multi_label, threshold=cut, margin=margin, top=top, examples=examples
    )
    if as_json:
        _emit_json([r.to_json() for r in results])
    else:
        table = Table("path", "label", "score", "next best")
        for r in results:
            if r.error:
                reason = r.error.removeprefix(f"{r.path}: ").removeprefix(f"{display_path(r.path)}: ")
                table.add_row(display_path(r.path), "[red]error[/red]", "", Text(reason))  # the row names the file
                continue
            best = r.labels[0] if r.labels else None
            label = best.label if best else "(none)"
            if r.abstained and (multi_label or len(names) == 1):  # each label on its own: none clears the threshold
                label = f"(not {label})" if len(names) == 1 else f"(none of the labels reach {cut:.2f})"
            elif r.abstained:  # too close to call: still say which led
                label = f"(abstain) {label}"
            nxt = ", ".join(f"{x.label} {x.score:.2f}" for x in r.labels[1:3])
            table.add_row(display_path(r.path), label, f"{best.score:.2f}" if best else "", nxt)
        out.print(table)
    if any(r.error for r in results):
        raise typer.Exit(EXIT_SOME_FAILED)


@app.command()
def ask(
    question: Annotated[str, typer.Argument(help="A closed question, in quotes", metavar="QUESTION")],
    files: Annotated[list[Path], typer.Argument(help="Pictures, recordings, videos or documents", metavar="FILE")],
    library: LibraryOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Answer a closed question about each file: yes or no, how many, what it says, what it shows.

    sensorium ask "is there a dog?" walk.wav photo.jpg

    Yes or no ("is there a dog?", "does it show a bridge?", "can you hear rain?"): what is asked
    about, scored as classify --multi-label scores a label, with the moment for an indexed
    recording or video. "how many people?": the detector's boxes in a picture. "what does it
    say?": the text read in it, or the speech heard. "what is this?": its description.
    """
    from sensorium.ask import ask as answer_all
    from sensorium.ask import plural

    answers = answer_all(_open(library), files, question)
    if as_json:
        _emit_json([a.to_json() for a in answers])
    else:
        for a in answers:
            name = display_path(a.path)
            if a.error:
                err.print(Text.assemble(("failed", "red"), f" {name}: {a.error}"))
                continue
            extra = f" ({a.score:.2f})" if a.kind == "yes/no" and a.score is not None else ""
            if a.when is not None:
                extra += f", at {_clock(a.when[0])}–{_clock(a.when[1])}"
            if a.kind == "count" and isinstance(a.answer, int):
                shown = plural(a.answer, a.about)
            else:
                shown = str(a.answer) if a.answer not in ("", None) else "(nothing)"
            out.print(f"{name}: {shown}{extra}", markup=False, highlight=False)
    if any(a.error for a in answers):
        raise typer.Exit(EXIT_SOME_FAILED)


@app.command("eval")
def eval_cmd(
    folder: Annotated[
        Path,
        typer.Argument(
            exists=True, file_okay=False, dir_okay=True, help="Labelled folder: <label>/<files>", metavar="FOLDER"
        ),
    ],
    modality: Annotated[
        EvalModality | None,
        typer.Option(
            "--modality", "-m", case_sensitive=False, help="Files to measure (default: what most labelled files are)"
        ),
    ] = None,
    library: Annotated[
        Path | None, typer.Option("--library", "-l", help="Library to index into (default: scratch)")
    ] = None,
    text_encoder: TextEncoderOpt = None,
    few_shot: Annotated[
        bool,
        typer.Option(
            "--few-shot", help="Also classify each file with every other file as an example (classify --examples)"
        ),
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Zero-shot accuracy (top-1/top-5) and text→media retrieval (mAP, recall@1/@5)."""
    import tempfile

    from sensorium.eval import evaluate

    with tempfile.TemporaryDirectory(prefix="sensorium-eval-") as tmp:
        lib = _open(library or Path(tmp), text_encoder=text_encoder)
        with _progress() as bar:
            report = evaluate(lib, folder, modality=modality, on_progress=_index_progress(bar), few_shot=few_shot)
    if as_json:
        _emit_json(report.to_json())
    else:
        _print_eval(report)
        if report.few_shot is not None:
            fs = report.few_shot
            chosen = ", ".join(f"{w:g} ({k})" for w, k in sorted(fs.weights.items()))
            out.print(
                f"few-shot, each of {fs.n} files (of labels with 2 or more) with every other file as an example: "
                f"top-1 {fs.top1:.3f} against {fs.zero_shot_top1:.3f} with words alone; examples' weight {chosen}",
                markup=False,
                highlight=False,
            )
        for path, reason in report.failed:  # left out of the figures: say which, as index does
            err.print(Text.assemble(("failed", "red"), f" {display_path(path)}: {reason}"))
    if report.failed:
        raise typer.Exit(EXIT_SOME_FAILED)


def _print_eval(report: Any) -> None:
    table = Table("label", "n", "top-1", "AP", "predicted most")
    for row in report.labels:
        table.add_row(row["label"], str(row["n"]), f"{row['top1']:.2f}", f"{row['ap']:.2f}", row["predicted"])
    out.print(table)
    out.print(
        f"{report.modality}: n={report.n}  top-1 {report.top1:.3f}  top-5 {report.top5:.3f}  mAP {report.map:.3f}  "
        f"recall@1 {report.recall_at_1:.3f}  recall@5 {report.recall_at_5:.3f}"
    )


def _existing(library: Path | None) -> Library:
    """A library that must already exist: a mistyped --library is an error, not an empty library."""
    from sensorium.errors import LibraryError

    lib = _open(library)
    if not lib.exists:
        raise LibraryError(f"{lib.path}: no library here yet; run `sensorium index PATH` first, or check --library")
    return lib


@app.command()
def errors(
    library: LibraryOpt = None,
    clear: Annotated[
        bool, typer.Option("--clear", help="Forget the recorded failures (the next index records what still fails)")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Files whose indexing failed, and why."""
    lib = _existing(library)
    if clear:
        n = lib.clear_errors()
        if as_json:
            _emit_json({"cleared": n})
        else:
            err.print(f"cleared {n} recorded failure{'' if n == 1 else 's'}")
        return
    rows = lib.errors()
    if as_json:
        _emit_json([{"path": r["path"], "error": r["error"], "when": r["updated_at"]} for r in rows])
        return
    if not rows:
        err.print("no failures recorded")
        return
    table = Table("path", "reason")
    for r in rows:
        table.add_row(display_path(r["path"]), r["error"])
    out.print(table)


@app.command()
def duplicates(
    library: LibraryOpt = None,
    threshold: Annotated[
        float,
        typer.Option("--threshold", help="Similarity at which two photos are one (lower finds more edited copies)"),
    ] = 0.85,
    path: Annotated[str | None, typer.Option("--path", help="Only photos whose full path matches this glob")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Near-duplicate photos: the same picture resized, recompressed, lightly cropped or edited.

    Each group lists its largest file first, then the others with their similarity to it. Identical
    copies are groups too (similarity 1.00). Nothing on disk is touched.
    """
    lib = _existing(library)
    with _progress() as bar:
        task = bar.add_task("comparing", total=None, count="", rate="", eta="", name="")
        groups = lib.duplicates(
            threshold=threshold,
            path_glob=path,
            on_progress=lambda d, t: bar.update(task, completed=d, total=t, count=f"{d}/{t}"),
        )
    if as_json:
        _emit_json([g.to_json() for g in groups])
        return
    if not groups:
        err.print(f"no near-duplicate photos (similarity ≥ {threshold:.2f})")
        return
    table = Table("group", "path", "size", "similarity")
    for k, group in enumerate(groups, start=1):
        for i, f in enumerate(group.files):
            table.add_row(
                str(k) if i == 0 else "",
                display_path(f.path),
                _size(f.size),
                "" if i == 0 else f"{f.similarity:.2f}",
                end_section=i == len(group.files) - 1,
            )
    out.print(table)
    extra = sum(len(g.files) - 1 for g in groups)
    groups_text = f"{len(groups)} group{'' if len(groups) == 1 else 's'}"
    err.print(f"{groups_text}: {extra} photo{'' if extra == 1 else 's'} beside the largest of each")


@app.command()
def forget(
    paths: Annotated[list[Path], typer.Argument(help="Files and folders to drop from the library", metavar="PATH")],
    library: LibraryOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Drop files, and all under folders, from the library (nothing on disk is touched).

    For a folder moved or deleted for good: `index --prune` keeps a folder whose every file is
    missing, which is what a drive that did not mount looks like.
    """
    dropped = _existing(library).forget(paths)
    if as_json:
        _emit_json({"forgotten": len(dropped), "paths": dropped})
        return
    err.print(f"forgot {len(dropped)} file{'' if len(dropped) == 1 else 's'}")
    if not dropped:
        err.print("nothing indexed under " + ", ".join(display_path(os.path.abspath(p)) for p in paths))


@app.command()
def stats(library: LibraryOpt = None, as_json: JsonOpt = False) -> None:
    """How many files and records a library holds."""
    data = _existing(library).stats()
    if as_json:
        _emit_json(data)
    else:
        for k, v in data.items():
            out.print(f"{k}: {v}")


models_app = typer.Typer(help="Models: list what is available, add hub models, remove them.")
app.add_typer(models_app, name="models")


@models_app.callback(invoke_without_command=True)
def models(ctx: typer.Context, as_json: JsonOpt = False) -> None:
    """The models Sensorium can use: where each is, its size, licence, the space it writes, and whether it verifies."""
    if ctx.invoked_subcommand is not None:
        return
    from sensorium.models.catalog import model_status

    settings = open_library(None).settings
    rows = model_status(settings)
    if as_json:
        _emit_json(rows)
        return
    table = Table("model", "role", "status", "size", "licence", "location")
    for r in rows:
        status = "[green]ok[/green]" if r["ok"] else f"[red]{r['error']}[/red]"
        table.add_row(r["name"], r["role"], status, _size(r["size"]), r["licence"], r["location"] or "")
    out.print(table)


def _size(size: int | None) -> str:
    """A file's size for people ("" when unknown): 950 B, 14.2 KB, 3.1 MB, 1.20 GB."""
    if not size:
        return ""
    if size < 1e6:
        return f"{size} B" if size < 1e3 else f"{size / 1e3:.1f} KB"
    return f"{size / 1e6:.1f} MB" if size < 1e9 else f"{size / 1e9:.2f} GB"


@models_app.command("add")
def models_add(
    model_id: Annotated[str, typer.Argument(help="backend:identifier, e.g. openclip:ViT-B-32/laion2b_s34b_b79k")],
    source: Annotated[
        Path | None, typer.Option("--from", help="A local checkpoint file or model folder (no hub needed)")
    ] = None,
    space: Annotated[str | None, typer.Option("--space", help="Name of the space it writes (default: clip/clap)")] = (
        None
    ),
    licence: Annotated[str | None, typer.Option("--licence", help="Licence of the weights, to show in `models`")] = (
        None
    ),
    as_json: JsonOpt = False,
) -> None:
    """Install a hub model from a file or folder (--from) or from the model hub; it is loaded once to prove it works."""
    from sensorium.models import hub

    settings = open_library(None).settings
    err.print(f"adding {model_id} from {source or 'the model hub'} ...")
    record = hub.add(model_id, settings.hub_dir, source=source, space=space, licence=licence)
    if as_json:
        _emit_json(record.to_json())
        return
    writes = f"writes space {record.space!r} ({record.dim}-d) from text and {', '.join(record.modalities)}"
    err.print(f"added {record.id}: {_size(record.size)}, {writes} → {record.folder}")


@models_app.command("remove")
def models_remove(model_id: Annotated[str, typer.Argument(help="The id or name of an installed hub model")]) -> None:
    """Delete an installed hub model (libraries keep their vectors; they cannot embed new files in that space)."""
    from sensorium.models import hub

    record = hub.remove(open_library(None).settings.hub_dir, model_id)
    err.print(f"removed {record.id} ({record.folder})")


names_app = typer.Typer(help="Names taught by example: words the models do not know ('Rex'), searched by your files.")
app.add_typer(names_app, name="names")


@names_app.callback(invoke_without_command=True)
def names_list(ctx: typer.Context, library: LibraryOpt = None, as_json: JsonOpt = False) -> None:
    """The names taught to the library, each with the kind and files it was taught by."""
    if ctx.invoked_subcommand is not None:
        return
    taught = _open(library).names()
    if as_json:
        _emit_json([t.to_json(failed=False) for t in taught])
        return
    if not taught:
        err.print("no names taught yet: `sensorium names add NAME FILE...` teaches one by example")
        return
    table = Table("name", "kind", "examples")
    for t in taught:
        gone = set(t.missing)  # kept as vectors; needed again only when the models change
        files = [display_path(Path(f)) + (" (gone)" if f in gone else "") for f in t.files]
        table.add_row(t.name, t.modality, ", ".join(files))
    out.print(table)


@names_app.command("add")
def names_add(
    name: Annotated[str, typer.Argument(help="The name, as words will say it: 'Rex', 'the blue mug'")],
    files: Annotated[list[Path], typer.Argument(help="A few example files of it, of one kind", metavar="FILE")],
    library: LibraryOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Teach a name by example: a search whose words hold it then searches by these files in its place.

    "Rex" alone finds what looks like the examples; "Rex on the beach" the examples and the words together.
    Teaching a name again replaces its examples.
    """
    taught = _open(library).teach(name, files)
    if as_json:
        _emit_json(taught.to_json())
    else:
        kind = {"image": "picture", "audio": "sound", "video": "video", "text": "note"}.get(taught.modality, "file")
        n = len(taught.files)
        said = f"{n} {kind}{'s' if n > 1 else ''}"
        err.print(f"taught {taught.name!r} by {said}: searching {taught.name!r} finds what is like them")
        for path, reason in taught.failed:
            err.print(Text.assemble(("failed", "red"), f" {path}: {reason}"))
    if taught.failed:
        raise typer.Exit(EXIT_SOME_FAILED)


@names_app.command("remove")
def names_remove(
    name: Annotated[str, typer.Argument(help="A taught name")],
    library: LibraryOpt = None,
) -> None:
    """Forget a taught name (its example files are not touched)."""
    _open(library).forget_name(name)
    err.print(f"forgot {name!r}")


spaces_app = typer.Typer(help="The vector spaces a library holds, and the maps that bind them.")
app.add_typer(spaces_app, name="spaces")


@spaces_app.callback(invoke_without_command=True)
def spaces(ctx: typer.Context, library: LibraryOpt = None, as_json: JsonOpt = False) -> None:
    """Each space of the library: its model, files embedded and still waiting, and its bindings' recall@1."""
    if ctx.invoked_subcommand is not None:
        return
    from sensorium.spaces import describe_spaces

    rows = describe_spaces(_existing(library))
    if as_json:
        _emit_json(rows)
        return
    table = Table("space", "model", "dim", "files", "pending", "records", "bindings (recall@1 held out)")
    for r in rows:
        binds = ", ".join(f"→ {b['target']} {b['recall_at_1']:.2f}" for b in r["bindings"])
        table.add_row(
            r["space"], r["model"], str(r["dim"]), str(r["files"]), str(r["pending"]), str(r["records"]), binds
        )
    out.print(table)


@spaces_app.command("bind")
def spaces_bind(
    source: Annotated[str, typer.Argument(help="Space to map from")],
    target: Annotated[str, typer.Argument(help="Space to map into")],
    library: LibraryOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Fit (or show) the text-fitted map between two spaces, with its recall@1 on held-out sentences."""
    from sensorium import spaces as sp

    lib = _open(library)
    names = {"offline": sp.main_space(lib)}
    found = sp.binding(lib, names.get(source, source), names.get(target, target))
    if as_json:
        _emit_json(found.summary())
        return
    out.print(
        f"{found.source} → {found.target}: {found.method} map, recall@1 {found.recall_at_1:.3f} "
        f"on {found.held_out} held-out sentences (fitted on {found.trained_on})"
    )


@app.command()
def serve(
    library: LibraryOpt = None,
    host: Annotated[str, typer.Option("--host", help="Address to listen on (127.0.0.1: this machine only)")] = (
        "127.0.0.1"
    ),
    port: Annotated[int, typer.Option("--port", min=0, max=65535, help="Port to listen on (0: any free one)")] = 8765,
    read_only: Annotated[bool, typer.Option("--read-only", help="Refuse index jobs")] = False,
    cors_origin: Annotated[
        list[str] | None, typer.Option("--cors-origin", help="Allow a web page from this origin (repeatable)")
    ] = None,
    max_upload_mb: Annotated[int, typer.Option("--max-upload-mb", min=1, help="Largest upload accepted, in MiB")] = 64,
    watch: Annotated[
        list[Path] | None,
        typer.Option("--watch", help="Keep this folder indexed while serving (repeatable; as `sensorium watch`)"),
    ] = None,
    watch_every: Annotated[
        float, typer.Option("--watch-every", min=1, help="Seconds between index rounds of --watch folders")
    ] = 60.0,
) -> None:
    """Serve the library over HTTP for the web page (search, classify, describe, play, index)."""
    from sensorium.server import listen, load_token
    from sensorium.server import run as run_server

    lib = _open(library)
    sock = listen(host, port)
    if not lib.exists:
        err.print(f"note: {lib.path} holds no library yet; it is made when files are indexed (the page's Index tab)")
    token = load_token(lib.path)
    if host not in ("127.0.0.1", "localhost", "::1"):
        err.print(
            f"[yellow]warning:[/yellow] listening on {host}: whoever reaches it with the token reads the library"
            + ("" if read_only else " and can index any file this user can read (--read-only refuses that)")
        )
    shown = f"[{host}]" if ":" in host else host
    err.print(f"Sensorium at http://{shown}:{sock.getsockname()[1]}/#token={token}", soft_wrap=True)
    err.print(f"token: {token}", soft_wrap=True)
    if watch:
        places = ", ".join(display_path(str(p)) for p in watch)
        err.print(f"keeping {places} indexed: a round every {watch_every:g} s", markup=False, highlight=False)
    run_server(
        lib,
        token=token,
        sock=sock,
        read_only=read_only,
        cors_origins=cors_origin or (),
        max_upload_mb=max_upload_mb,
        watch=[str(p) for p in watch or ()],
        watch_every=watch_every,
    )


def run() -> None:
    """Entry point: user errors become one red line and exit 1; bugs keep their traceback.

    Click's standalone mode does the rest: a usage error prints the usage and exits 2, and a
    command's ``typer.Exit(3)`` ("some files failed") becomes the process's exit status. The
    process then ends at once (:func:`_leave`): code that embeds the CLI calls :data:`app`, as the
    tests do, not this.
    """
    debug = os.environ.get("SENSORIUM_DEBUG", "") not in ("", "0")
    try:
        app(prog_name="sensorium")
    except SensoriumError as exc:
        if debug:
            raise
        _print_error(exc)
        _leave(1)
    except SystemExit as exc:  # how every command ends, 0 included
        _leave(exc.code)


def _leave(code: int | str | None) -> NoReturn:
    """End the process now, its output flushed, skipping Python's teardown of what it loaded.

    Every command has written and committed all it does before it returns (an index waits for its
    last batch, an export for its file). What is left is the interpreter freeing ONNX Runtime's
    sessions, Arrow and LanceDB's runtime object by object: 0.4-0.6 s after the last line of every
    command (measured on `search`, 2 cores), a fifth of a search's time from the shell.
    """
    if isinstance(code, str):  # sys.exit("message"): Python prints it and exits 1
        print(code, file=sys.stderr)
        code = 1
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(BrokenPipeError, ValueError):  # a reader that closed early (`| head`)
            stream.flush()
    os._exit(code or 0)


def _print_error(exc: Exception) -> None:
    """The one red line a user error gets on stderr."""
    err.print(Text.assemble(("error:", "red"), f" {exc}"))


if __name__ == "__main__":
    run()
