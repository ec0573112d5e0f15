"""``python -m pcnet.predict``: superpixels for a file, a folder or a glob of images (Hydra CLI).

python -m pcnet.predict input=photos/ output=superpixels/ method=pcnet checkpoint=pcnet.pt
python -m pcnet.predict input="scans/*.tif" output=out/ method=slico n_segments=2000
python -m pcnet.predict input=photos/ output=out/ mask=photos_masks/   # superpixels inside masks only

Masks: ``<stem>_mask.png`` beside an image is used by default (``mask=auto``), ``mask=DIR`` reads
``DIR/<stem>_mask.png`` or ``DIR/<stem>.png``, ``mask=null`` none; nonzero pixels are inside. A
masked image's label map is ``<stem>_labels.npy`` (int32, −1 outside the mask; 16-bit PNGs have no
−1), and ``n_segments`` counts the superpixels inside the mask.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import hydra
import numpy as np
from omegaconf import DictConfig

from pcnet._checks import check, check_n_segments
from pcnet._cli import config_mapping, instantiate, run_cli
from pcnet.io import write_csv
from pcnet.prediction import (
    PredictionResult,
    find_inputs,
    keep_earlier_rows,
    predict_files,
    prepare_output,
)


def check_settings(cfg: DictConfig) -> dict[str, Any]:
    """Method, options, ``n_segments`` and ``tile`` checked before any image is read or any
    folder made; returns the options as a dict (the method's one schema: ``method_options``)."""
    from pcnet.methods import check_options
    from pcnet.methods.learned import LOAD_OPTIONS
    from pcnet.methods.tiling import check_tile
    from pcnet.models import list_models

    options = config_mapping(cfg.options, "options", "options={compactness:20}")
    if cfg.n_segments is not None:
        check_n_segments(cfg.n_segments)
    check_options(cfg.method, options)  # also rejects an unknown method, listing the valid ones
    top_level = sorted(set(options) & {*LOAD_OPTIONS, "tile", "progress"})
    check(
        not top_level,
        f"{top_level} are settings of their own: pass {' '.join(f'{k}=...' for k in top_level)}, not options=",
    )
    check(
        cfg.get("format", "labels") in ("labels", "geojson"),
        f"format={cfg.get('format')!r}: choose labels (label maps and overlays) "
        "or geojson (also a polygon per superpixel)",
    )
    masks = cfg.get("mask", "auto")
    if masks is not None and str(masks) not in ("auto", "auto-tissue"):
        check(
            Path(str(masks)).expanduser().is_dir(),
            f"mask={masks} is not a folder; pass a folder of <stem>_mask.png or <stem>.png masks, "
            "mask=auto (<stem>_mask.png beside each image), mask=auto-tissue (each slide's tissue) or mask=null",
        )
        check(
            not cfg.get("lightning"),
            f"mask={masks} (a folder) is not supported with lightning=true; put <stem>_mask.png beside the images",
        )
    if cfg.method in list_models():
        check_tile(cfg.tile)
    else:
        check(
            cfg.tile == "auto",
            f"tile= applies to the learned methods {list_models()}, not {cfg.method!r}; leave it out",
        )
    return options


def segmenter(cfg: DictConfig, options: dict[str, Any]) -> Any:
    """``segment(rgb, n_segments)`` for the configured method and its checked ``options``
    (weights loaded once)."""
    from pcnet.methods import load_segmenter, superpixels
    from pcnet.models import list_models

    if cfg.method in list_models():
        loaded = load_segmenter(
            cfg.checkpoint, cfg.method, cfg.device, tile=cfg.tile, progress=bool(cfg.progress), **options
        )
        return loaded.superpixels

    def classical(rgb: np.ndarray, n_segments: int | None, mask: np.ndarray | None = None) -> np.ndarray:
        area = rgb.shape[0] * rgb.shape[1] if mask is None else int(np.count_nonzero(mask))
        n = n_segments or max(1, round(area / 256))
        return superpixels(rgb, n, method=cfg.method, mask=mask, **options)

    return classical


def run_lightning(cfg: DictConfig, options: dict[str, Any], inputs: list, output: Any) -> PredictionResult:
    """``Trainer.predict`` over the files: one shard per process of the configured strategy."""
    from pcnet.methods import load_segmenter
    from pcnet.models import list_models
    from pcnet.prediction.lightning import predict_with_trainer

    check(cfg.method in list_models(), f"lightning=true runs the learned methods {list_models()}; got {cfg.method!r}")
    seg = load_segmenter(cfg.checkpoint, cfg.method, "cpu", tile=cfg.tile, **options)
    trainer = instantiate(cfg.trainer, logger=False, callbacks=[], enable_progress_bar=bool(cfg.progress))
    task = predict_with_trainer(trainer, seg, inputs, output, cfg.n_segments, bool(cfg.mean_color), bool(cfg.overwrite))
    return PredictionResult(task.rows)


def streamer(cfg: DictConfig, options: dict[str, Any]) -> Any:
    """``stream(path, labels_path, mask)`` for TIFFs above the streaming threshold (tileable learned
    methods only; ``None`` otherwise): window by window, refined as in memory unless ``refine=false``,
    with a quick-look ``<stem>_overlay.png`` (long side ≤ 4096 px)."""
    from pcnet.models import list_models, model_class

    if cfg.method not in list_models() or not model_class(cfg.method).tileable:
        return None
    from pcnet.methods.streaming import segment_file

    keep = {k: options[k] for k in ("halo", "min_size_fraction", "refine", "refine_iter") if k in options}
    if cfg.tile not in (None, "auto"):
        keep["tile"] = int(cfg.tile)

    def stream(path: Any, labels_path: Any, mask: Any = None) -> dict[str, Any]:
        overlay = Path(labels_path).with_name(Path(labels_path).name.replace("_labels.tif", "_overlay.png"))
        level = int(cfg.get("level", 0))
        return segment_file(
            path, labels_path, cfg.method, cfg.n_segments, progress=bool(cfg.progress),
            checkpoint=cfg.checkpoint, device=cfg.device, mask=mask, quicklook=overlay, level=level, **keep,
        )  # fmt: skip

    return stream


def run(cfg: DictConfig) -> int:
    inputs = find_inputs(cfg.input)
    options = check_settings(cfg)  # bad settings: stop before creating the output folder
    segment = None if cfg.get("lightning") else segmenter(cfg, options)
    output = prepare_output(cfg.output, inputs, bool(cfg.write_next_to_inputs))
    if segment is None:
        result = run_lightning(cfg, options, inputs, output)  # every rank writes summary_rank<r>.csv
    else:
        result = predict_files(
            inputs,
            output,
            segment,
            cfg.n_segments,
            bool(cfg.mean_color),
            bool(cfg.overwrite),
            bool(cfg.progress),
            cfg.get("mask", "auto"),
            streamer(cfg, options),
            int(cfg.get("level", 0)),
            cfg.get("format", "labels") == "geojson",
        )
        write_csv(output / "summary.csv", keep_earlier_rows(result.rows, output))
    done = sum(r["status"].startswith("ok") for r in result.rows)
    skipped = sum(r["status"].startswith("skipped") for r in result.rows)
    print(f"{done} predicted, {skipped} skipped (already done), {len(result.failures)} failed -> {output}")
    for failure in result.failures:
        print(f"failed: {failure['file']}: {failure['error']}", file=sys.stderr)
    return 1 if result.failures else 0


@hydra.main(version_base="1.3", config_path="conf", config_name="predict")
def main(cfg: DictConfig) -> None:
    code = run_cli(run, cfg)
    if code:
        raise SystemExit(code)


if __name__ == "__main__":
    main()
