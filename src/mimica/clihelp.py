"""Help texts as a person reads them: click's plain formatter (wrapped at 80 columns, defaults in full) with every
value named in capitals or by its choices, instead of typer's type labels (`<bool>`, `<list[Path]>`,
`{paths}...`). `plain_help(app)` applies it to every command of an app and of its sub-apps."""

from __future__ import annotations

import typer
from typer.core import TyperCommand


class PlainHelp(TyperCommand):
    """Help as a person reads it: every value by a name (the parameter's, in capitals, or its choices) instead of
    typer's type labels (`<bool>`, `<list[Path]>`, `{paths}...`), wrapped by click at 80 columns with the
    defaults in full."""

    def format_help(self, ctx, formatter) -> None:  # type: ignore[no-untyped-def]
        for p in self.params:
            if p.metavar is None and not getattr(p, "is_flag", False) and not getattr(p, "count", False):
                p.metavar = metavar_of(p)
        super().format_help(ctx, formatter)

    def collect_usage_pieces(self, ctx) -> list[str]:  # type: ignore[no-untyped-def]
        pieces = [self.options_metavar] if self.options_metavar else []
        for p in self.get_params(ctx):
            if p.param_type_name == "argument":
                name = metavar_of(p) + ("..." if p.nargs != 1 else "")
                pieces.append(name if p.required else f"[{name}]")
        return pieces

    def format_options(self, ctx, formatter) -> None:  # type: ignore[no-untyped-def]
        args, opts = [], []
        for p in self.get_params(ctx):
            record = p.get_help_record(ctx)
            if record is None:
                continue
            if p.param_type_name == "argument":  # typer appends the type label to an argument's name
                args.append((metavar_of(p) + ("..." if p.nargs != 1 else ""), record[1]))
            else:
                opts.append(record)
        for title, rows in (("Arguments", args), ("Options", opts)):
            if rows:
                with formatter.section(title):
                    formatter.write_dl(rows)


def metavar_of(p) -> str:  # type: ignore[no-untyped-def]
    if p.metavar:
        return str(p.metavar)
    desc = getattr(p, "type_descriptor", None)
    choices = getattr(desc, "choices", None) if getattr(desc, "is_choice", False) else None
    if choices:
        return "[" + "|".join(str(getattr(c, "value", c)) for c in choices) + "]"
    if getattr(desc, "is_path", False):
        return "PATH"
    annotation = getattr(desc, "annotation", None)
    if annotation is int:
        return "N"
    if annotation is float:
        return "NUMBER"
    return str(p.name or "value").upper()


def plain_help(t: typer.Typer) -> None:
    """Every command of `t` and of its sub-apps gets `PlainHelp` and click's plain, 80-column formatter."""
    t.rich_markup_mode = None
    for c in t.registered_commands:
        if c.cls in (None, TyperCommand):
            c.cls = PlainHelp
    for g in t.registered_groups:
        if g.typer_instance is not None:
            plain_help(g.typer_instance)
