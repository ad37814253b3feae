"""The `mimica` command: a thin layer over the public API. Errors become one line on stderr and an exit code.

Exit codes: 0 the command ran (for scan: at least one file was scanned; a verdict is data, not an error),
1 nothing could be done (every file failed, bad config...), 2 wrong usage, 130 interrupted.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from mimica.clihelp import plain_help
from mimica.errors import MimicaError
from mimica.models.registry import DEFAULT_MODEL

app = typer.Typer(
    name="mimica", no_args_is_help=True, pretty_exceptions_enable=False, add_completion=False,
    help="Find manipulated faces in images and videos; train and evaluate detectors.", rich_markup_mode=None,
)
out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)


def _version(value: bool) -> None:
    if value:
        from mimica import __version__

        out.print(f"mimica {__version__}", markup=False)
        raise typer.Exit()


@app.callback()
def _main(
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                          help="Print mimica's version and exit.")] = False,
) -> None:
    """Find manipulated faces in images and videos; train and evaluate detectors."""

#: verdicts that are the model's judgement: the line states the model's measured reliability beside them
CLASSIFIED = ("fake", "real", "uncertain")
VERDICT_STYLE = {"fake": "bold red", "real": "green", "uncertain": "yellow", "no-face": "dim", "error": "red"}


def _progress_bar():  # type: ignore[no-untyped-def]
    """A transient bar on stderr, only when stderr is a terminal (never in pipes, logs or --json consumers)."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), console=err,
                    transient=True, disable=not err.is_terminal)


@app.command(short_help="Is a face manipulated? One line per file, a table per face track.",
             epilog="Exit codes: 0 at least one file was scanned (a verdict is data, not an error); 1 nothing "
                    "could be scanned; 2 wrong usage; 130 interrupted.")
def scan(
    paths: Annotated[list[Path], typer.Argument(help="Images, videos or folders to scan.", metavar="PATH")],
    json_out: Annotated[bool, typer.Option("--json", help="JSON Lines: one object per file (docs/scan.md).")] = False,
    frames: Annotated[int, typer.Option(min=1, metavar="N", help="Frames sampled evenly over each video.")] = 32,
    threshold: Annotated[float | None, typer.Option(
        min=0, max=1, metavar="P", help="One decision threshold instead of the model's real/fake pair.")] = None,
    model: Annotated[str, typer.Option(
        metavar="NAME", help="Shipped model name or a model card (.json) path.")] = DEFAULT_MODEL,
    report: Annotated[Path | None, typer.Option(
        metavar="OUT", help="HTML reports: a folder gets one report per file and an index.html (flagged files "
                            "first); a path ending in .html gets the report of a single file.")] = None,
    no_provenance: Annotated[bool, typer.Option("--no-provenance", help="Skip watermark/C2PA checks.")] = False,
    detector: Annotated[list[str] | None, typer.Option(
        "--detector", metavar="NAME", help="Run only this detector (name or card path); repeat for several. "
                                           "Default: --model and every other shipped detector.")] = None,
) -> None:
    """Is a face in this image or video manipulated? Prints one line per file (verdict, probability of
    manipulation, the reason, how reliable the model is) and a table per face track.

    Verdicts: fake (the score is at or above the model's fake threshold), real (below its real threshold),
    uncertain (between), no face (nothing to judge) or error. A model whose measured video AUC is under 0.8 says
    "leans fake" or "leans real" instead: treat it as a lead, not a finding. A file that carries mimica's
    watermark is fake whatever the model says.

    Reliability: the model's video AUC with its 95% interval, measured by `mimica evaluate` on validation videos
    kept out of training, and read from the model card (1.0 is perfect, 0.5 is chance; docs/scan.md). A verdict
    is evidence for a person to weigh, not proof.
    """
    from mimica.media import find_media
    from mimica.scan import Scanner

    listed: list[tuple[Path, list[Path] | str]] = []  # each path's files, or why it has none
    for path in paths:
        try:
            listed.append((path, find_media(path)))
        except MimicaError as e:
            listed.append((path, str(e)))
    reports = _Reports(report, sum(len(f) for _, f in listed if isinstance(f, list))) if report else None
    scanner = Scanner(model=model, frames=frames, threshold=threshold, provenance=not no_provenance,
                      detectors=detector or None)
    scanned = failed = 0
    with _progress_bar() as bar:
        task = bar.add_task("scanning", total=None)
        for path, files in listed:
            if isinstance(files, str):
                failed += 1
                _emit_error(path, files, json_out)
                if reports is not None:
                    reports.failed(path, files)
                continue
            for f in files:
                bar.update(task, description=f"scanning {f.name}", completed=0, total=None)

                def progress(stage: str, done: int, total: int) -> None:
                    bar.update(task, completed=done, total=total)

                try:
                    if reports is not None and reports.wants(scanned):
                        result, evidence = scanner.scan_evidence(f, progress)
                    else:
                        result, evidence = scanner.scan(f, progress), None
                except MimicaError as e:
                    failed += 1
                    _emit_error(f, str(e), json_out)
                    if reports is not None:
                        reports.failed(f, str(e))
                    continue
                scanned += 1
                if reports is not None and evidence is not None:
                    reports.add(result, evidence)
                if json_out:
                    out.print(result.model_dump_json(), markup=False, highlight=False)
                else:
                    _print_human(result)
    if reports is not None:
        reports.done()
    if scanned == 0:
        raise typer.Exit(1)


class _Reports:
    """--report: one HTML file (a path ending in .html, for one file), or a folder with one report per file and
    an index.html (mimica.report.index)."""

    def __init__(self, path: Path, n_files: int) -> None:
        try:
            from mimica.report import ReportError, ReportFolder, report_target
        except ImportError as e:
            raise MimicaError(f"HTML reports need the report module ({e})") from e
        try:
            kind = report_target(path, n_files)
        except ReportError as e:
            raise typer.BadParameter(str(e), param_hint="'--report'") from e
        self.path = path
        self.folder = ReportFolder(path) if kind == "folder" else None
        self.written = 0

    def wants(self, scanned: int) -> bool:
        """Whether the next file needs the evidence of a report (a single .html report takes the first only)."""
        return self.folder is not None or scanned == 0

    def add(self, result, evidence) -> None:  # type: ignore[no-untyped-def]
        from mimica.report import write_report

        if self.folder is not None:
            self.folder.add(result, evidence)
        else:
            write_report(self.path, result, evidence)
            err.print(f"report written to {self.path}", markup=False)
        self.written += 1

    def failed(self, path: Path, message: str) -> None:
        from mimica.scan import ScanResult

        if self.folder is not None:
            self.folder.add(ScanResult(path=str(path), verdict="error", error=message))

    def done(self) -> None:
        if self.folder is not None and self.folder.entries:
            err.print(f"{self.written} report(s) and an index written to {self.folder.folder / 'index.html'}",
                      markup=False)


def _emit_error(path: Path, message: str, json_out: bool) -> None:
    from mimica.scan import ScanResult

    if json_out:
        out.print(ScanResult(path=str(path), verdict="error", error=message).model_dump_json(), markup=False)
    err.print(f"mimica: error: {message}", markup=False)


def _print_human(result) -> None:  # type: ignore[no-untyped-def]
    """A short first line (the verdict's words, the score, the file), then the details, indented."""
    from rich.markup import escape
    from rich.table import Table

    from mimica.scan.aggregate import track_note, unmeasured_kinds

    style = VERDICT_STYLE.get(result.verdict, "")
    score = "" if result.probability is None else f"  score {result.probability:.2f}"
    out.print(f"[{style}]{result.verdict_text.upper()}[/]{score}  {escape(result.path)}")
    wm = (result.provenance.get("watermark") or {}) if result.provenance else {}
    proven = bool(wm.get("detected"))
    if result.reason:
        out.print(f"  [dim]why:[/] {escape(result.reason)}")
    if result.verdict in CLASSIFIED:
        out.print(f"  [dim]model: {escape(result.reliability.text())}[/]")
    if result.detectors and result.verdict in CLASSIFIED:
        out.print(f"  [dim]detectors:[/] {escape(result.detectors_text())}")
    blind = unmeasured_kinds(result.verdict, result.reliability, proven)
    if blind:
        out.print(f"  [yellow]{escape(blind)}[/]")
    if result.frames.failed:
        out.print(f"  [yellow]{result.frames.failed} frame(s) or packet(s) could not be decoded[/]: the file is "
                  "damaged; the verdict rests on the frames that decoded")
    if proven:
        out.print("  [bold red]mimica watermark found[/]: this file was made by a face-swap tool")
    if len(result.tracks) > 0:
        video = result.media.kind == "video"
        t = Table(box=None, pad_edge=False, show_edge=False)
        for col in ("track", "verdict", "score", "faces", "seen (s)", "top face", "counted"):
            t.add_column(col, justify="left" if col in ("verdict", "seen (s)", "counted") else "right")
        for tr in result.tracks:
            dets = tr.detections  # "top face": the highest face score of the detector that set the track's verdict
            seen = f"{dets[0].time_s:.1f}-{dets[-1].time_s:.1f}" if video and dets else "-"
            note = track_note(tr, proven)
            top = max(d.scores.get(tr.decided_by, d.probability) for d in dets)
            t.add_row(str(tr.id), f"[{VERDICT_STYLE.get(tr.verdict, '')}]{escape(tr.verdict_text)}[/]",
                      f"{tr.probability:.2f}", str(len(dets)), seen, f"{top:.2f}",
                      f"[dim]no: {note}[/]" if note else "yes")
        out.print(t)


@app.command(short_help="Scan a whole corpus into a results folder; resumable.",
             epilog="Exit codes: 0 the batch ran (files that failed are rows with verdict error); 1 every file "
                    "failed, or the batch could not run (settings differ from the results folder's: see --rescan); "
                    "2 wrong usage; 130 interrupted (rerun to resume).")
def batch(
    sources: Annotated[list[Path], typer.Argument(help="Files, folders (recursive) or text files listing paths.")],
    out_dir: Annotated[Path, typer.Option("--out", help="Results folder: results.jsonl, summary.json.")],
    engine: Annotated[str, typer.Option(help="local (a process pool here) or ray (a Ray cluster).")] = "local",
    workers: Annotated[int | None, typer.Option(min=1, help="Worker processes or Ray actors [one per core].")] = None,
    address: Annotated[str | None, typer.Option(
        help="Ray cluster: auto, HOST:6379 or ray://HOST:10001 [RAY_ADDRESS].")] = None,
    timeout_per_file: Annotated[float, typer.Option(min=0, help="Seconds a file may take (0: no limit).")] = 600.0,
    memory_cap: Annotated[int, typer.Option(min=0, help="MB a local worker may use (0: no cap).")] = 4096,
    report: Annotated[bool, typer.Option("--report", help="HTML report per file and index.html.")] = False,
    frames: Annotated[int, typer.Option(min=1, help="Frames sampled evenly over each video.")] = 32,
    threshold: Annotated[float | None, typer.Option(
        min=0, max=1, help="One decision threshold instead of the model's real/fake pair.")] = None,
    model: Annotated[str, typer.Option(help="Shipped model name or a model card (.json) path.")] = DEFAULT_MODEL,
    no_provenance: Annotated[bool, typer.Option("--no-provenance", help="Skip watermark/C2PA checks.")] = False,
    retry_errors: Annotated[bool, typer.Option("--retry-errors", help="Scan again the errors that may not happen "
                                               "again (timeout, worker/node lost, memory cap, unreadable).")] = False,
    rescan: Annotated[bool, typer.Option("--rescan", help="Scan again the results made with other settings or "
                                         "another model (without it such a rerun stops).")] = False,
    start_timeout: Annotated[float, typer.Option(min=1, help="Seconds the workers may take to load the models.")]
    = 600.0,
) -> None:
    """Scan a whole corpus into a results folder; rerun the same command to resume where it stopped."""
    import time

    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from mimica.corpus import BatchProgress
    from mimica.corpus import batch as run_batch

    if engine not in ("local", "ray"):
        raise typer.BadParameter(f"{engine!r}: choose local or ray", param_hint="--engine")
    bar = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                   TextColumn("{task.fields[rate]} files/s"), TimeRemainingColumn(), console=err,
                   disable=not err.is_terminal)
    task = bar.add_task("batch", total=None, rate="-")
    t0, first = time.monotonic(), [0]

    def progress(ev: BatchProgress) -> None:
        if ev.resumed:
            first[0] = ev.done
        rate = (ev.done - first[0]) / max(time.monotonic() - t0, 1e-9)
        if err.is_terminal:
            bar.update(task, completed=ev.done, total=ev.total, rate=f"{rate:.2f}")
        elif not ev.resumed:  # the words people read (docs/scan.md): never a bare fake/real from a weak model
            err.print(f"[{ev.done}/{ev.total}] {ev.verdict_text or ev.verdict} {ev.path}", markup=False)

    def note(line: str) -> None:
        (bar.console if err.is_terminal else err).print(f"mimica: {line}", markup=False)

    with bar:
        summary = run_batch(sources, out_dir, engine=engine, workers=workers, address=address,  # type: ignore[arg-type]
                            timeout_per_file=timeout_per_file, memory_cap_mb=memory_cap, report=report,
                            model=model, frames=frames, threshold=threshold, provenance=not no_provenance,
                            retry_errors=retry_errors, rescan=rescan, start_timeout=start_timeout,
                            progress=progress, note=note)
    counts = ", ".join(f"{n} {v}" for v, n in sorted(summary.counts_text.items()))
    extra = ""
    if summary.transient_errors:
        extra += f"; {summary.transient_errors} error(s) may not happen again: rerun with --retry-errors"
    if summary.absent.files:
        extra += f"; {summary.absent.files} older result(s) for paths no longer among the inputs (summary.json)"
    out.print(f"{summary.files} files ({counts}); scanned {summary.scanned} in {summary.wall_s:.1f} s "
              f"({summary.files_per_s:.2f} files/s), {summary.resumed} already done; results in "
              f"{out_dir / summary.results}" + (f", index {out_dir / summary.index}" if summary.index else "")
              + extra, markup=False)
    if summary.files and summary.counts.get("error", 0) == summary.files:
        raise typer.Exit(1)


@app.command(short_help="Cache aligned face crops and landmarks of datasets.")
def prepare(
    datasets: Annotated[list[Path], typer.Argument(help="Dataset folders (any layout mimica reads).")],
    cache: Annotated[Path, typer.Option(help="Where the crops go (resumable).")] = Path("cache/crops128"),
    frames: Annotated[int, typer.Option(min=1, help="Frames sampled per video.")] = 32,
    workers: Annotated[int, typer.Option(min=1, help="Processes.")] = 2,
) -> None:
    """Cache aligned face crops and landmarks of datasets through the scan's own face stages."""
    from mimica.datasets import load_dataset
    from mimica.train.prepare import PrepareConfig
    from mimica.train.prepare import prepare as run_prepare

    items = [it for d in datasets for it in load_dataset(d)]
    with _progress_bar() as bar:
        task = bar.add_task("preparing", total=None)
        files = run_prepare(items, cache, PrepareConfig(frames=frames), workers,
                            progress=lambda a, b: bar.update(task, completed=a, total=b))
    out.print(f"{len(items)} items, {len(files)} cache files in {cache}")


def _log_line(line: str) -> None:
    """Training progress goes to stderr, plain (paths and brackets are not rich markup)."""
    err.print(line, markup=False)


@app.command(short_help="Train a detector; export it to ONNX with its model card.")
def train(
    config: Annotated[Path, typer.Argument(help="Training recipe (TOML), e.g. configs/default.toml.")],
    resume: Annotated[bool, typer.Option(help="Continue from the last checkpoint in out_dir.")] = True,
    install: Annotated[bool, typer.Option(help="Copy the exported model into the package's weights.")] = False,
    device: Annotated[str | None, typer.Option(help="Train on this torch device (cpu, cuda); default: the "
                                               "config's.")] = None,
    pack: Annotated[Path | None, typer.Option(help="Train on this pack (mimica pack) instead of the "
                                              "config's datasets, e.g. on a GPU machine without them.")] = None,
    export: Annotated[bool, typer.Option(help="Export the model when training ends (needs the datasets: the "
                                         "card's figures come from scans of the validation videos).")] = True,
    fit: Annotated[bool, typer.Option("--train/--no-train", help="Run the training loop; --no-train only "
                                      "exports out_dir/best.pt, e.g. one trained on another machine.")] = True,
) -> None:
    """Train a detector, export it to ONNX with its model card: the blend detector (self-blended pseudo-fakes
    from real faces) or, for a config with task = "generated", the generated-face detector."""
    try:
        import torch  # noqa: F401
    except ImportError as e:
        raise MimicaError("training needs torch: pip install torch==2.13.0 'mimica[train]'") from e
    from mimica.models.registry import WEIGHTS
    from mimica.train import generated
    from mimica.train.config import load_config
    from mimica.train.export import finish

    if generated.wants(config):  # task = "generated": the generated-face detector (frozen features, linear heads)
        card = generated.run(generated.read_config(config), install_dir=WEIGHTS if install else None)
        out.print(f"model card: {card}")
        return
    from mimica.train.loop import load_data
    from mimica.train.loop import train as run_train

    cfg = load_config(config)
    if device:
        cfg = cfg.model_copy(update={"device": device})

    if pack is not None:
        from mimica.train.pack import load_pack

        data = load_pack(pack)
        if export:
            raise MimicaError("--pack trains without the datasets, so it cannot export: add --no-export, then "
                              "export where the datasets are (mimica train CONFIG --no-train)")
    else:
        data = load_data(cfg, _log_line)  # once: the export calibrates on the same validation crops
    if fit:
        run_train(cfg, log=_log_line, resume=resume, data=data)
    elif not (Path(cfg.out_dir) / "best.pt").is_file():
        raise MimicaError(f"--no-train: no checkpoint to export in {cfg.out_dir} (best.pt)")
    if export:
        card = finish(cfg, data, log=_log_line, install_dir=WEIGHTS if install else None)
        out.print(f"model card: {card}")
    else:
        out.print(f"checkpoint: {Path(cfg.out_dir) / 'best.pt'}")


@app.command(name="pack", short_help="Pack a config's training crops into one file for a GPU machine.")
def pack_cmd(
    config: Annotated[Path, typer.Argument(help="Training recipe (TOML) whose data to pack.")],
    to: Annotated[Path, typer.Option("--out", help="The pack file (keep it out of git: research data).")] = Path(
        "cache/pack.npz"),
    max_mb: Annotated[float, typer.Option(min=1, help="Size budget; photos fill what the video crops leave.")] = 48.0,
    quality: Annotated[int, typer.Option(min=50, max=100, help="JPEG quality of the stored crops.")] = 90,
) -> None:
    """Pack a config's training crops into one file small enough to travel to a GPU machine."""
    from mimica.train.config import load_config
    from mimica.train.loop import load_data
    from mimica.train.pack import pack

    data = load_data(load_config(config), _log_line)
    counts = pack(data, to, max_mb=max_mb, quality=quality)
    size = to.stat().st_size / 1e6
    out.print(f"{to}: {size:.1f} MB, " + ", ".join(f"{k} {v}" for k, v in counts.items()))


def _register_extras() -> None:
    """Commands that live with their own step (evaluate, swap, web); each is optional."""
    import importlib

    for module in ("mimica.evaluate.cli", "mimica.swap.cli", "mimica.web.cli"):
        try:
            importlib.import_module(module).register(app)
        except ImportError as e:
            if e.name and e.name.startswith("mimica"):
                continue
            raise


_register_extras()
plain_help(app)


def main() -> None:
    try:
        # without standalone mode click returns (not raises) the code of a `typer.Exit` from a command
        rc = app(standalone_mode=False)
    except MimicaError as e:
        err.print(f"mimica: error: {e}", markup=False)
        sys.exit(1)
    except typer.Exit as e:
        sys.exit(e.exit_code)
    except typer.Abort:
        err.print("mimica: aborted")
        sys.exit(130)
    except KeyboardInterrupt:
        err.print("mimica: interrupted")
        sys.exit(130)
    except Exception as e:  # click usage errors and anything unexpected: one line, never a traceback
        # recent typer vendors click (typer._click): take the base class from typer.BadParameter
        click_error = next(c for c in typer.BadParameter.__mro__ if c.__name__ == "ClickException")
        if isinstance(e, click_error):
            e.show()  # type: ignore[attr-defined]
            sys.exit(e.exit_code)  # type: ignore[attr-defined]
        if os.environ.get("MIMICA_DEBUG"):
            raise
        err.print(f"mimica: internal error: {type(e).__name__}: {e} (set MIMICA_DEBUG=1 for the traceback)",
                  markup=False)
        sys.exit(1)
    sys.exit(rc if isinstance(rc, int) else 0)
