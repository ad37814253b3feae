"""`mimica swap`, `mimica forge` and `mimica keys init`: thin commands over mimica.swap and mimica.provenance.

The lead's src/mimica/cli.py calls `register(app)`.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Annotated

import typer

from mimica.errors import MimicaError


def _fail(err: MimicaError) -> None:
    typer.secho(f"error: {err}", fg=typer.colors.RED, err=True)
    raise typer.Exit(2)


def _progress_bar():
    """On stderr, and only when it is a terminal: a transient bar on a stdout that is not one leaves a blank line."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    console = Console(stderr=True)
    return Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(), transient=True,
        console=console, disable=not console.is_terminal,
    )


def swap_command(
    source: Annotated[Path, typer.Option("--source", "-s", help="picture of the face to put in")],
    target: Annotated[Path, typer.Option("--target", "-t", help="picture or video whose faces are replaced")],
    output: Annotated[Path, typer.Option("--output", "-o", help="output file (.jpg/.png for pictures, .mp4/.mov)")],
    face: Annotated[int, typer.Option("--face", help="swap this face track only: 0 = largest, 1 = next ...")] = 0,
    all_faces: Annotated[bool, typer.Option("--all", help="swap every face")] = False,
    blend: Annotated[str, typer.Option(help="laplacian (default), poisson or alpha")] = "laplacian",
    color: Annotated[str, typer.Option(help="skin (default: light, tone on skin), reinhard or none")] = "skin",
    label_position: Annotated[str, typer.Option(help="corner of the visible AI label")] = "bottom-right",
    private_key: Annotated[str | None, typer.Option(help="add a private watermark key (keep it secret)")] = None,
    key_dir: Annotated[Path | None, typer.Option(help="folder with the C2PA signing keys")] = None,
) -> None:
    """Put the face of --source on the faces of a picture or video. The output is always marked as AI-made:
    a visible "AI" label, an invisible watermark, IPTC metadata and (with `mimica keys init`) a signed C2PA
    manifest."""
    from mimica.swap import Marking, SwapOptions, UnsignedNotice, swap
    from mimica.swap.core import SourceFaceWarning

    try:
        options = SwapOptions(blend=blend, color=color, face=face, all_faces=all_faces)
        marking = Marking(label_position=label_position, private_key=private_key, key_dir=key_dir)
        with warnings.catch_warnings(record=True) as caught, _progress_bar() as bar:
            warnings.simplefilter("always", UnsignedNotice)
            warnings.simplefilter("always", SourceFaceWarning)
            tasks: dict[str, int] = {}

            def progress(stage: str, done: int, total: int) -> None:
                if stage not in tasks:
                    tasks[stage] = bar.add_task(stage, total=total or None)
                bar.update(tasks[stage], completed=done)

            out = swap(source, target, output, options, marking, progress)
        for w in caught:
            if issubclass(w.category, UnsignedNotice | SourceFaceWarning):
                typer.secho(f"note: {w.message}", fg=typer.colors.YELLOW, err=True)
    except MimicaError as err:
        _fail(err)
    typer.echo(f"{out}: face swapped, marked as AI-generated")


def forge_command(
    real_dir: Annotated[Path, typer.Argument(help="folder of real videos and/or face pictures")],
    output: Annotated[Path, typer.Option("--output", "-o", help="dataset folder to create (FF++ layout)")],
    pairs: Annotated[int, typer.Option(help="swaps to make (pairs of different real files)")] = 20,
    blended: Annotated[int, typer.Option(help="self-blended pictures to make")] = 20,
    max_frames: Annotated[int, typer.Option(help="frames kept per forged video")] = 150,
    seed: Annotated[int, typer.Option(help="random seed for the pairing")] = 0,
    key_dir: Annotated[Path | None, typer.Option(help="folder with the C2PA signing keys")] = None,
) -> None:
    """Build a labelled training set from real media: swaps between pairs and self-blended images, with a
    manifest.csv. Marked in metadata only (no visible label, no pixel watermark: a detector would learn them)."""
    from mimica.swap.forge import forge

    try:
        with _progress_bar() as bar:
            task = bar.add_task("forge", total=None)

            def progress(stage: str, done: int, total: int) -> None:
                bar.update(task, description=stage, completed=done, total=total or None)

            manifest = forge(
                real_dir,
                output,
                pairs=pairs,
                blended=blended,
                max_frames=max_frames,
                seed=seed,
                key_dir=key_dir,
                progress=progress,
            )
    except MimicaError as err:
        _fail(err)
    typer.echo(f"{manifest}: dataset written")


keys_app = typer.Typer(help="C2PA signing keys.", no_args_is_help=True)


@keys_app.command("init")
def keys_init(
    key_dir: Annotated[Path | None, typer.Option("--dir", help="where to write them (default: user config)")] = None,
    force: Annotated[bool, typer.Option(help="replace existing keys")] = False,
) -> None:
    """Create a local development CA and a signing certificate for C2PA manifests (never stored in a repo)."""
    from mimica.provenance.keys import init_keys

    try:
        files = init_keys(key_dir, force=force)
    except MimicaError as err:
        _fail(err)
    typer.echo(f"signing certificate: {files.cert}\nprivate key: {files.key}\ndevelopment CA: {files.ca}")
    typer.echo("Manifests signed with these keys validate everywhere and are trusted only where this CA is added.")


def register(app: typer.Typer) -> None:
    """Adds `swap`, `forge` and `keys init` to the mimica CLI."""
    app.command("swap", short_help="Put the face of --source on the faces of a picture or video.")(swap_command)
    app.command("forge", short_help="Build a labelled training set from real media.")(forge_command)
    app.add_typer(keys_app, name="keys")
