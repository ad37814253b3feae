"""`mimica evaluate DATASET`: a thin front end over `mimica.evaluate.evaluate_dataset`.

The lead's CLI adds it with `register(app)`. Errors are `MimicaError`s, left for the CLI's one-line handler.
Nothing heavy is imported until the command runs, so `mimica --help` stays fast and works without [eval].
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from mimica.evaluate.errors import EvaluationError
from mimica.models.registry import DEFAULT_MODEL

if TYPE_CHECKING:
    from rich.console import Console
    from rich.table import Table

    from mimica.evaluate.compare import CompareReport
    from mimica.evaluate.report import EvalReport


class Split(StrEnum):
    val = "val"
    train = "train"
    test = "test"
    all = "all"


def tables(report: EvalReport) -> list[Table]:
    """The report as rich tables: both levels with their intervals, then AUC by method and by compression."""
    from rich.table import Table

    from mimica.evaluate.report import LEVEL_COLUMNS, fmt, level_row

    head = Table(title=f"{report.model} on {report.dataset} ({report.split} split), threshold "
                       f"{report.threshold:g}, 95% bootstrap intervals", title_justify="left")
    for col in ("level", "n", *LEVEL_COLUMNS):
        head.add_column(col, justify="left" if col == "level" else "right")
    for level, m in (("video", report.video), ("frame", report.frame)):
        head.add_row(level, str(m.n), *level_row(m))
    out = [head]
    for name, groups in (("method", report.by_method), ("compression", report.by_compression)):
        if groups:
            vs = " (against all reals)" if name == "method" else ""
            t = Table(title=f"video-level AUC by {name}{vs}", title_justify="left")
            for col in (name, "videos", "AUC"):
                t.add_column(col, justify="left" if col == name else "right")
            for key, g in groups.items():
                t.add_row(key, str(g.n), fmt(g.auc, g.auc_ci95))
            out.append(t)
    if report.detectors:
        t = Table(title="each detector and the fusion (main face, video level)", title_justify="left")
        for col in ("detector", "videos", "AUC", "c23/c40 or by compression", "false alarms on reals"):
            t.add_column(col, justify="left" if col == "detector" else "right")
        rows = [*report.detectors.items(), *([("fused", report.fused)] if report.fused else [])]
        for name, d in rows:
            comp = ", ".join(f"{c} {fmt(g.auc)}" for c, g in d.by_compression.items())
            fa = "-" if d.false_alarms is None else f"{d.false_alarms:.1%} of {d.n_real}"
            t.add_row(name, str(d.video.n), fmt(d.video.auc, d.video.auc_ci95), comp or "-", fa)
        out.append(t)
    return out


def compare_table(report: CompareReport) -> Table:
    """The paired comparison as one rich table: overall, then by method and by compression."""
    from rich.table import Table

    from mimica.evaluate.compare import fmt_difference
    from mimica.evaluate.report import fmt

    t = Table(title=f"B - A video AUC on {report.dataset} ({report.split} split), A = {report.model_a}, "
                    f"B = {report.model_b}; paired bootstrap, {report.bootstrap.resamples} resamples of videos",
              title_justify="left")
    for col in ("videos", "n", "AUC A", "AUC B", "B - A [95% interval]", "p"):
        t.add_column(col, justify="left" if col == "videos" else "right")
    rows = [("all", report.overall), *((f"method {k}", d) for k, d in report.by_method.items()),
            *((f"compression {k}", d) for k, d in report.by_compression.items())]
    for name, d in rows:
        t.add_row(name, str(d.n), fmt(d.auc_a), fmt(d.auc_b), fmt_difference(d),
                  "-" if d.p_value is None else f"{d.p_value:.3f}")
    return t


def _print_compare(report: CompareReport, console: Console) -> None:
    console.print(compare_table(report))
    if report.n_skipped:
        console.print(f"{report.n_skipped} videos left out of both (one model could not score them), e.g. "
                      f"{report.skipped[0].path}: {report.skipped[0].reason}")


def _print_report(report: EvalReport, console: Console) -> None:
    for t in tables(report):
        console.print(t)
    for level, m in (("video", report.video), ("frame", report.frame)):
        if m.reason:
            console.print(f"{level} level: {m.reason}")
    if report.n_skipped:
        reasons: dict[str, int] = {}
        for s in report.skipped:
            reasons[s.reason] = reasons.get(s.reason, 0) + 1
        top = ", ".join(f"{n} {r}" for r, n in sorted(reasons.items(), key=lambda kv: -kv[1])[:3])
        console.print(f"{report.n_skipped} of {report.n_videos + report.n_skipped} videos skipped: {top}")


def register(app: typer.Typer) -> None:
    """Add the `evaluate` command to `app`."""

    @app.command("evaluate", short_help="Measure a detector on a dataset: AUC, EER, AP, accuracy.")
    def evaluate(
        dataset: Annotated[Path, typer.Argument(
            help="Dataset folder: FaceForensics++, Celeb-DF, DFDC, a real/ + fake/ tree.")],
        model: Annotated[str, typer.Option(help="Model name or model card path.")] = DEFAULT_MODEL,
        frames: Annotated[int, typer.Option(min=1, help="Frames sampled per video (32 in papers).")] = 32,
        split: Annotated[Split, typer.Option(
            help="val: identity-disjoint validation split; test: the dataset's official test list; all.")
        ] = Split.val,
        layout: Annotated[str, typer.Option(help="ffpp, celebdf, dfdc, tree, faces or auto.")] = "auto",
        threshold: Annotated[float | None, typer.Option(
            min=0, max=1, help="Accuracy/precision/recall threshold (default: the model's).")] = None,
        json_out: Annotated[bool, typer.Option("--json", help="Print the report as a JSON object.")] = False,
        roc: Annotated[Path | None, typer.Option(help="Write the ROC curves to this PNG.")] = None,
        markdown: Annotated[Path | None, typer.Option(help="Write the report as markdown tables.")] = None,
        seed: Annotated[int, typer.Option(help="Seed of the bootstrap resamples.")] = 0,
        compare: Annotated[tuple[str, str] | None, typer.Option(
            metavar="MODEL_A MODEL_B",
            help="Score both models (names or card paths) on the same videos and report the AUC difference B - "
                 "A with a paired bootstrap interval, overall and by method and compression (--model unused).")
        ] = None,
    ) -> None:
        """Measure a detector on a dataset: frame- and video-level AUC, EER, AP, accuracy (95% intervals)."""
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

        try:
            from mimica.evaluate.report import save_roc, to_markdown
            from mimica.evaluate.run import evaluate_dataset
        except ImportError as err:
            raise EvaluationError(
                f"mimica evaluate needs the [eval] extra ({err.name} is missing): pip install 'mimica[eval]'"
            ) from err

        if compare and (markdown or roc or threshold is not None):
            raise EvaluationError("--markdown, --roc and --threshold describe one model; --compare reports AUCs "
                                  "(use --json for every record)")
        stderr = Console(stderr=True)
        columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
        with Progress(*columns, console=stderr, transient=True, disable=not stderr.is_terminal) as bar:
            task = bar.add_task("scanning", total=None)

            def progress(stage: str, done: int, total: int) -> None:
                bar.update(task, description=stage, completed=done, total=total)

            if compare:
                from mimica.evaluate.compare import compare_dataset

                paired = compare_dataset(dataset, compare[0], compare[1], frames=frames, split=split.value,
                                         layout=layout, progress=progress, seed=seed)
            else:
                report = evaluate_dataset(dataset, model=model, frames=frames, split=split.value, layout=layout,
                                          progress=progress, threshold=threshold, seed=seed)
        if compare:
            if json_out:
                typer.echo(paired.model_dump_json())
            else:
                _print_compare(paired, Console())
            return
        if markdown:
            try:
                markdown.write_text(to_markdown(report))
            except OSError as err:
                raise EvaluationError(f"{markdown}: cannot write the report ({err.strerror})") from err
        if roc:
            save_roc(report, roc)
        if json_out:
            typer.echo(report.model_dump_json())
        else:
            _print_report(report, Console())
