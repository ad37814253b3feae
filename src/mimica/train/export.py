"""After training: ONNX export with a parity check, calibration on validation, thresholds, the model card.

Calibration (documented in the card): Platt scaling, a logistic regression of the video label on the frame
logits of the validation split's main faces, with balanced class weights so the probability does not encode
the split's fake/real ratio. Thresholds on the video-level probability (mean of frame probabilities):
`fake` = the lowest threshold that keeps false alarms on real validation videos at or below 5%,
`real` = the highest threshold that keeps misses of fake validation videos at or below 5%; between them the
verdict is `uncertain`. When the two cross (a model that separates the split well), both become their midpoint.
"""

from __future__ import annotations

import io
import json
import shutil
import warnings
from pathlib import Path

import numpy as np
import torch
from sklearn.linear_model import LogisticRegression

from mimica.atomic import write_atomic
from mimica.errors import MimicaError
from mimica.models.card import AlignSpec, Calibration, InputSpec, ModelCard, Thresholds, sha256_file
from mimica.scan.aggregate import __doc__ as AGGREGATION_RULE
from mimica.train.config import TrainConfig
from mimica.train.data import TrainData
from mimica.train.loop import Log, predict_logits, video_scores
from mimica.train.net import create_net
from mimica.train.patches import NET_PREFIX, describe, face_model, recipe
from mimica.train.pretrained import WEIGHTS

PARITY_TOL = 1e-3
MAX_FALSE_ALARMS = 0.05
MAX_MISSES = 0.05


#: kinds of fakes that no evaluation of a model trained here covers (FaceForensics++ holds face swaps and
#: reenactments only); the card lists them and a "leans real" or "uncertain" verdict names them
NOT_MEASURED_ON = ("faces generated whole: one-photo talking heads, image-to-video diffusion",
                   "GAN or diffusion still photos of faces", "audio-driven lip-sync (only the mouth replaced)")


def export_onnx(model: torch.nn.Module, path: Path, size: int) -> None:
    model.eval()
    buf = io.BytesIO()
    # the TorchScript exporter (dynamo=False) needs only `onnx`, which at <1.21 accepts mediapipe's protobuf 4.
    # No constant folding: batch norms stay separate nodes and every weight keeps its state-dict name, so a
    # later run can start from the shipped file (state_dict_from_onnx); onnxruntime fuses them when it loads.
    with warnings.catch_warnings():
        # a patch model's top-k count comes from the map's side, traced as a constant: right, since only the
        # batch axis is dynamic and the card fixes the input side
        warnings.simplefilter("ignore", torch.jit.TracerWarning)
        torch.onnx.export(model, (torch.zeros(1, 3, size, size),), buf, dynamo=False,  # type: ignore[arg-type]
                          opset_version=17, do_constant_folding=False,
                          input_names=["input"], output_names=["logit"],
                          dynamic_axes={"input": {0: "batch"}, "logit": {0: "batch"}})
    write_atomic(path, buf.getvalue())


def state_dict_from_onnx(path: Path, model: torch.nn.Module) -> dict[str, torch.Tensor]:
    """The weights of an ONNX file written by `export_onnx`, by state-dict name (the exporter shares equal
    tensors between names through Identity nodes, followed here). Raises KeyError when a weight is absent."""
    import onnx
    from onnx import numpy_helper

    graph = onnx.load(str(path)).graph
    tensors = {t.name: numpy_helper.to_array(t) for t in graph.initializer}
    for node in graph.node:
        if node.op_type == "Identity" and node.input[0] in tensors:
            tensors[node.output[0]] = tensors[node.input[0]]
    for name in list(tensors):  # a patch model's file holds the network under PooledPatches.net
        if name.startswith(NET_PREFIX):
            tensors.setdefault(name[len(NET_PREFIX):], tensors[name])
    state = {}
    for key, ref in model.state_dict().items():
        if key.endswith("num_batches_tracked"):
            state[key] = torch.zeros_like(ref)
        elif key in tensors and tensors[key].size == ref.numel():
            state[key] = torch.from_numpy(np.array(tensors[key])).reshape(ref.shape).to(ref.dtype)
        elif key in tensors:
            raise KeyError(f"{path}: the weight {key} has shape {tensors[key].shape}, the network wants "
                           f"{tuple(ref.shape)}; the file is another network")
        else:
            raise KeyError(f"{path}: no weight named {key}; not a file exported by this version of mimica")
    return state


def parity(model: torch.nn.Module, onnx_path: Path, crops: np.ndarray) -> float:
    """Largest absolute difference of logits between torch and onnxruntime on the given crops."""
    import onnxruntime as ort

    from mimica.train.data import to_input

    sess = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    x = to_input(torch.from_numpy(np.ascontiguousarray(crops.transpose(0, 3, 1, 2)))).numpy()
    ort_out = np.concatenate([sess.run(None, {"input": x[i : i + 64]})[0] for i in range(0, len(x), 64)])
    return float(np.abs(ort_out.reshape(-1) - predict_logits(model, crops)).max())


def calibrate(logits: np.ndarray, labels: np.ndarray) -> Calibration:
    lr = LogisticRegression(C=1e4, class_weight="balanced").fit(logits.reshape(-1, 1), labels)
    return Calibration(method="platt", a=float(lr.coef_[0, 0]), b=float(lr.intercept_[0]),
                       fitted_on="frame logits of the main face, identity-disjoint validation split")


def choose_thresholds(video_probs: np.ndarray, labels: np.ndarray) -> Thresholds:
    real_p, fake_p = np.sort(video_probs[labels == 0]), np.sort(video_probs[labels == 1])
    # counted, not interpolated: an interpolated quantile can land on or below a video, and with `fake` at or
    # above the threshold 2 of 25 real videos (8%) would then be false alarms
    fake_t = real_t = 0.5
    if len(real_p):  # just above the (k+1)-th highest real: at most k = 5% of reals at or above it
        k = int(MAX_FALSE_ALARMS * len(real_p))
        fake_t = min(float(np.nextafter(real_p[-1 - k], np.inf)), 1.0)
    if len(fake_p):  # the (k+1)-th lowest fake: at most k = 5% of fakes below it
        real_t = float(fake_p[int(MAX_MISSES * len(fake_p))])
    if real_t > fake_t:
        real_t = fake_t = round((real_t + fake_t) / 2, 4)
    else:  # 4 decimals for the card, rounded outwards so the budgets still hold
        real_t, fake_t = float(np.floor(real_t * 1e4) / 1e4), float(min(np.ceil(fake_t * 1e4) / 1e4, 1.0))
    return Thresholds(real=real_t, fake=fake_t,
                      rule=f"fake: <= {MAX_FALSE_ALARMS:.0%} false alarms on real validation videos; "
                           f"real: <= {MAX_MISSES:.0%} misses of fake validation videos; uncertain between")


def scan_metrics(cfg: TrainConfig, card_path: Path, log: Log = print) -> dict:
    """`mimica evaluate` on the validation split of each video dataset, with the model just exported."""
    from mimica.evaluate.run import evaluate_dataset

    metrics: dict = {"protocol": f"mimica evaluate <dataset> --split val --frames {cfg.frames} "
                                 f"(identity-disjoint, val_fraction {cfg.val_fraction}, seed {cfg.split_seed}); "
                                 "video level = mean of the main face's frame probabilities; 95% bootstrap CIs"}
    for root in cfg.videos:
        log(f"evaluating {root} (validation split) through the scan pipeline")
        rep = evaluate_dataset(root, model=str(card_path), frames=cfg.frames, split="val")
        # the whole report (every video's record) beside the card: `compare_records` pairs it with another
        # model's report of the same split without scanning again
        write_atomic(card_path.with_name(f"{card_path.stem}.eval-{Path(root).name}-val.json"), rep.model_dump_json())
        metrics[Path(root).name] = {
            "n_videos": rep.n_videos, "n_frames": rep.n_frames,
            "video": rep.video.model_dump(mode="json"), "frame": rep.frame.model_dump(mode="json"),
            "by_compression": {k: v.model_dump(mode="json") for k, v in rep.by_compression.items()},
            "by_method": {k: v.model_dump(mode="json") for k, v in rep.by_method.items()},
        }
        log(f"  video AUC {rep.video.auc}, frame AUC {rep.frame.auc}, "
            + ", ".join(f"{k} {v.auc}" for k, v in rep.by_compression.items()))
    return metrics


#: the validation targets of the project (issue 9), video-level AUC by compression, 32 frames
TARGETS = {"c23": 0.90, "c40": 0.80}


def measured_limits(metrics: dict) -> list[str]:
    """Plain statements of how far the measured validation AUCs are from the targets, for the card."""
    lines = []
    for name, m in metrics.items():
        if not isinstance(m, dict) or "by_compression" not in m:
            continue
        for comp, target in TARGETS.items():
            auc = (m["by_compression"].get(comp) or {}).get("auc")
            if auc is None:
                continue
            verdict = "meets" if auc >= target else "misses"
            lines.append(f"{name} {comp} validation video-level AUC {auc:.3f} {verdict} the target {target} "
                         f"(n={m['by_compression'][comp].get('n')} videos).")
    return lines


def previous_stage(cfg: TrainConfig) -> ModelCard | None:
    """The card of the model a run continued from: the shipped one (resume_from_shipped), or the card that
    `finish` wrote beside the init_from checkpoint. None for a run from ImageNet or from scratch; an init_from
    checkpoint without a card beside it cannot say where its weights came from, which is an error."""
    if cfg.resume_from_shipped:
        if not Path(cfg.resume_from_shipped).is_file():
            raise MimicaError(f"{cfg.resume_from_shipped}: resume_from_shipped names no model card file")
        return ModelCard.load(cfg.resume_from_shipped)
    if not cfg.init_from:
        return None
    folder = Path(cfg.init_from).parent
    cards = sorted(folder.glob("*.json"))
    for path in cards:
        try:
            return ModelCard.load(path)
        except ValueError:  # config.json and other files beside it are not cards (pydantic says why)
            continue
    raise MimicaError(f"{cfg.init_from}: no model card beside the checkpoint, so the card of this run could not "
                      "say where its weights came from; export that run first (mimica train on its config)")


def total_minutes(card: ModelCard) -> float:
    """Training minutes of a card's model over all its stages."""
    t = card.training
    if "minutes_total" in t:
        return float(t["minutes_total"])
    history = t.get("history") or []
    return float(history[-1]["minutes"]) if history else 0.0


def _lineage(cfg: TrainConfig, prev: ModelCard | None) -> tuple[dict | None, dict | None, list[dict]]:
    """init_weights (the ImageNet file at the root of the lineage), continued_from (the earlier stage) and the
    earlier stages' history, each epoch tagged with its stage."""
    if prev is None:
        return (WEIGHTS[cfg.pretrained].card_record() if cfg.pretrained else None), None, []
    tag = f"{prev.name} {prev.version}"
    earlier = [{"stage": tag, **h} if "stage" not in h else h for h in prev.training.get("history", [])]
    continued = {"name": prev.name, "version": prev.version, "onnx_sha256": prev.sha256,
                 "minutes": total_minutes(prev), "config": prev.training.get("config", {})}
    return prev.training.get("init_weights"), continued, earlier


def describe_architecture(cfg: TrainConfig, prev: ModelCard | None = None) -> str:
    if prev is not None:
        text = (f"{cfg.net} (mimica.train.net, plain torch) continued from {prev.name} {prev.version} "
                f"({prev.architecture}); this stage: first {cfg.freeze} trunk layers frozen")
    elif cfg.pretrained:
        w = WEIGHTS[cfg.pretrained]
        text = (f"{cfg.net} (mimica.train.net, plain torch) initialised from ImageNet weights ({w.package}=="
                f"{w.version}, {w.licence}); first {cfg.freeze} trunk layers frozen; one-logit head")
    else:
        text = f"{cfg.net} (plain-torch CNN, mimica.train.net), trained from scratch"
    if cfg.patch_size:
        text += f"; {describe(cfg)} (mimica.train.patches.PooledPatches)"
    return text


def finish(cfg: TrainConfig, data: TrainData, log: Log = print, install_dir: Path | None = None) -> Path:
    """Exports best.pt of cfg.out_dir; returns the model card path."""
    out = Path(cfg.out_dir)
    ck = torch.load(out / "best.pt", weights_only=False)
    net = create_net(cfg.net)
    net.load_state_dict(ck["model"])
    model = face_model(net, cfg).eval()  # a patch model: fully convolutional, one pooled logit per crop
    onnx_path = out / f"{cfg.name}.onnx"
    export_onnx(model, onnx_path, cfg.size)
    # parity on the validation crops, or on training crops when the config has no validation split
    check = data.val_videos.crops if len(data.val_videos.crops) else data.real_train.center(cfg.size).crops[:512]
    diff = parity(model, onnx_path, check)
    log(f"ONNX parity on {len(check)} crops: max |logit diff| = {diff:.2e}")
    if diff > PARITY_TOL:
        raise RuntimeError(f"ONNX export differs from torch by {diff:.2e} (> {PARITY_TOL}); not shipping it")

    logits = predict_logits(model, data.val_videos.crops)
    labels = data.val_videos.field("label").astype(int)
    cal = calibrate(logits, labels) if len(np.unique(labels)) == 2 else Calibration(method="none")
    probs = 1 / (1 + np.exp(-(cal.a * logits + cal.b)))
    v = video_scores(data.val_videos, probs)
    thresholds = choose_thresholds(v["score"], v["label"])
    log(f"calibration a={cal.a:.3f} b={cal.b:.3f}; thresholds real<{thresholds.real} fake>={thresholds.fake}")

    history = [json.loads(line) for line in (out / "log.jsonl").read_text().splitlines()]
    prev = previous_stage(cfg)
    init_weights, continued_from, earlier = _lineage(cfg, prev)
    minutes = (history[-1]["minutes"] if history else 0.0) + (continued_from["minutes"] if continued_from else 0.0)
    if prev is not None:
        history = [*earlier, *({"stage": f"{cfg.name} {cfg.version}", **h} for h in history)]
    card = ModelCard(
        name=cfg.name, version=cfg.version, onnx_file=onnx_path.name, sha256=sha256_file(onnx_path),
        architecture=describe_architecture(cfg, prev),
        parameters=sum(p.numel() for p in model.parameters()),
        input=InputSpec(size=cfg.size), align=AlignSpec(size=cfg.size, margin=round(cfg.input_margin, 4)),
        calibration=cal, thresholds=thresholds, aggregation=(AGGREGATION_RULE or "").strip(),
        training={
            "recipe": "self-blended images (Shiohara and Yamasaki, CVPR 2022) from real faces"
                      + (", plus labelled fakes" if cfg.use_labelled_fakes or cfg.forged else ", no real deepfakes")
                      + (f"; {describe(cfg)}" if cfg.patch_size else ""),
            "patch": recipe(cfg),
            "config": cfg.model_dump(mode="json"),
            "init_weights": init_weights,
            "continued_from": continued_from,
            "minutes_total": minutes,
            "best_epoch": ck["epoch"],
            "epoch_selection": "the last epoch (the validation split chose nothing; it calibrates and reports)"
                               if cfg.select_on == "last" else "the epoch with the best validation video AUC",
            "history": history,
            "onnx_parity_max_abs_logit_diff": diff,
            "data": [
                {"name": "FairFace", "use": "real faces for pseudo-fakes (train folder); held-out photos (val)",
                 "licence": "CC BY 4.0",
                 "citation": "Karkkainen and Joo, FairFace: Face Attribute Dataset for Balanced Race, Gender, "
                             "and Age for Bias Measurement and Mitigation, WACV 2021"},
                {"name": "FaceForensics++ (c23, c40) and DeepFakeDetection originals",
                 "use": "real videos of the training identities for pseudo-fakes; the identity-disjoint "
                        "validation split for model selection, calibration and thresholds",
                 "licence": "FaceForensics++ terms of use (research only); no data is redistributed",
                 "citation": "Rossler et al., FaceForensics++: Learning to Detect Manipulated Facial Images, "
                             "ICCV 2019"},
            ],
        },
        intended_use="Flagging faces in images and videos that may have been manipulated (face swap, "
                     "reenactment), as one piece of evidence for a person who checks it, not as proof.",
        limitations=[
            f"Trained on a CPU for {minutes:.0f} minutes at {cfg.size} px; the "
            "published detectors train for days on GPUs at 380 px.",
            "Validation numbers come from a small split (about 50 videos) that also set the calibration and the "
            "thresholds, so the accuracies at the thresholds are optimistic (AUC does not depend on them)"
            + ("" if cfg.select_on == "last" else "; the same split chose the epoch") + "; see docs/benchmarks.md.",
            "Not tested on fully generated faces (GAN, diffusion), on heavy filters or on very small faces.",
            "Heavy compression (FF++ c40 and social-media re-encodes) erases much of what it looks for.",
        ],
        not_measured_on=list(NOT_MEASURED_ON),
    )
    card_path = onnx_path.with_suffix(".json")
    card.save(card_path)
    # the card's numbers come from the product's own path (scan pipeline + mimica evaluate), not from the
    # cached crops above, so that `mimica evaluate --split val` reproduces them
    card.metrics = scan_metrics(cfg, card_path, log)
    card.limitations = [*measured_limits(card.metrics), *card.limitations]
    card.save(card_path)
    if install_dir is not None:
        for f in (onnx_path, card_path):
            shutil.copy2(f, install_dir / f.name)
    return card_path
