"""Train a config on a lent GPU machine from a pack, within its few minutes; only the checkpoint comes back.

Here, with the datasets (once):

    mimica pack configs/v3-gpu.toml --out cache/pack-v3.npz        # crops at the config's size, <= 48 MB

On the lent machine (the pack travels with the tree as a carried ignored path):

    python scripts/gpu_train.py configs/v3-gpu.toml cache/pack-v3.npz --out "$OUT"

Back here, with the files that came back under FILES_AT:

    mkdir -p runs/mimica-sbi-v3-gpu && cp FILES_AT/mimica-sbi-v3-gpu/* runs/mimica-sbi-v3-gpu/
    mimica train configs/v3-gpu.toml --no-train                    # export, calibrate, evaluate, card

The resolution is the pack's: its crops are cut at the config's crop_size, and the network sees input_size of
them; the config must name the same sizes as the pack, which is checked before anything trains. `--minutes`
caps the training time (the config's max_minutes otherwise); loading the pack, the epochs' validation and the
writes take well under a minute on top of it. best.pt, log.jsonl and config.json are written to OUT/<name>/
(last.pt, with the optimiser's state, stays behind).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("config", type=Path)
    ap.add_argument("pack", type=Path)
    ap.add_argument("--out", type=Path, default=Path(os.environ["OUT"]) if os.environ.get("OUT") else None,
                    help="where the checkpoint goes (default: $OUT)")
    ap.add_argument("--device", default=None, help="torch device (default: the config's)")
    ap.add_argument("--minutes", type=float, default=None, help="training time cap (default: max_minutes)")
    args = ap.parse_args(argv)
    if args.out is None:
        print("error: no --out and no $OUT", file=sys.stderr)
        return 2
    from mimica.errors import MimicaError

    try:
        return _run(args, time.time())
    except MimicaError as err:  # one line, not a traceback
        print(f"error: {err}", file=sys.stderr)
        return 1


def _run(args: argparse.Namespace, t0: float) -> int:
    import torch

    from mimica.errors import MimicaError
    from mimica.train.config import load_config
    from mimica.train.loop import train
    from mimica.train.pack import load_pack

    cfg = load_config(args.config)
    update: dict = {"out_dir": str(args.out / cfg.name)}
    if args.device:
        update["device"] = args.device
    if args.minutes is not None:
        update["max_minutes"] = args.minutes
    cfg = cfg.model_copy(update=update)
    if cfg.device.startswith("cuda") and not torch.cuda.is_available():
        raise MimicaError(f"device {cfg.device}: torch {torch.__version__} sees no CUDA device here")
    data = load_pack(args.pack)
    side = data.real_train.crops.shape[1] if len(data.real_train.crops) else 0
    if side != cfg.crop_size:
        raise MimicaError(f"{args.pack}: crops of {side} px, but {args.config} names crop_size {cfg.crop_size}; "
                          "pack the same config")
    log = lambda line: print(f"[{time.time() - t0:6.1f} s] {line}", flush=True)  # noqa: E731
    log(f"{cfg.name}: {cfg.net} at {cfg.size} px on {cfg.device}"
        + (f" ({torch.cuda.get_device_name()})" if cfg.device.startswith("cuda") else "")
        + f", {cfg.max_minutes:g} min of training")
    out = train(cfg, log=log, resume=False, data=data)
    (out / "last.pt").unlink(missing_ok=True)
    for name in ("best.pt", "log.jsonl", "config.json"):
        if not (out / name).is_file():
            raise MimicaError(f"{out / name}: the run wrote no {name}")
    log(f"done: {', '.join(sorted(p.name for p in out.iterdir()))} in {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
