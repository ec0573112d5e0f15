"""The bad-input battery: every entry point gives a correct answer or one error that names the
problem and the fix; inputs are never written to. ``docs/bad_inputs.md`` is the same table for
readers (a test below keeps the two in step).

Each case names its input, how to build it, and the expected outcome: ``OK`` (a valid result,
checked) or ``(exception type, message fragment)``.
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

import pcnet
from helpers import assert_superpixels, compose_config
from pcnet import metrics
from pcnet._checks import InputError
from pcnet.data.synthetic import synthetic_image
from pcnet.io import write_image, write_label_map

REPO = Path(__file__).resolve().parents[1]
OK = "ok"


@dataclass(frozen=True)
class Case:
    """One row of the battery: ``make(tmp_path)`` builds the input."""

    id: str
    make: Callable[[Path], Any]
    outcome: str | tuple[type[Exception], str] = OK

    def __str__(self) -> str:
        return self.id


def jpeg_bytes() -> bytes:
    import cv2

    return cv2.imencode(".jpg", synthetic_image(64, 80, seed=1)[0])[1].tobytes()


def file_with(name: str, data: bytes | None) -> Callable[[Path], Path]:
    """A file ``name`` holding ``data`` (a folder when ``data`` is None)."""

    def make(tmp: Path) -> Path:
        path = tmp / name
        if data is None:
            path.mkdir()
        else:
            path.write_bytes(data)
        return path

    return make


def rgb(height: int, width: int) -> Callable[[Path], np.ndarray]:
    return lambda _: synthetic_image(height, width, n_regions=3, seed=0)[0]


def noise(shape: tuple[int, ...], dtype: Any = np.uint8, scale: float = 255) -> Callable[[Path], np.ndarray]:
    return lambda _: (np.random.default_rng(0).random(shape) * scale).astype(dtype)


IMAGES = [
    Case("gray uint8 (H, W)", lambda _: synthetic_image(40, 50, seed=0)[0][..., 0]),
    Case("gray+alpha (H, W, 2)", lambda _: np.dstack([synthetic_image(40, 50, seed=0)[0][..., 0]] * 2)),
    Case("RGBA uint8", lambda _: np.dstack([synthetic_image(40, 50, seed=0)[0], np.full((40, 50), 255, np.uint8)])),
    Case("RGB uint16", lambda _: synthetic_image(40, 50, seed=0)[0].astype(np.uint16) * 257),
    Case("RGB float64 in [0, 1]", lambda _: synthetic_image(40, 50, seed=0)[0] / 255.0),
    Case("RGB float32 in [0, 1]", lambda _: (synthetic_image(40, 50, seed=0)[0] / 255.0).astype(np.float32)),
    Case("bool mask (H, W)", lambda _: synthetic_image(40, 50, seed=0)[1] % 2 == 0),
    Case("1×1 image", rgb(1, 1)),
    Case("2×3 image", rgb(2, 3)),
    Case("7×5 image", rgb(7, 5)),
    Case("10001×3 image", noise((10001, 3, 3))),
    Case("3×10001 image", noise((3, 10001, 3))),
    Case("8×8 image, smaller than one 16-px cell", rgb(8, 8)),
    Case("image file path (JPEG)", file_with("ok.jpg", jpeg_bytes())),
    Case("float image outside [0, 1]", noise((40, 50, 3), np.float64, 300), (InputError, "must lie in [0, 1]")),
    Case("NaN in a float image", lambda _: np.full((40, 50, 3), np.nan), (InputError, "NaN or infinite")),
    Case("inf in a float image", lambda _: np.full((40, 50, 3), np.inf), (InputError, "NaN or infinite")),
    Case(
        "NaN in a torch tensor (H, W, 3)",
        lambda _: torch.full((40, 50, 3), float("nan")),
        (InputError, "NaN or infinite"),
    ),
    Case(
        "negative int8 image", lambda _: np.full((40, 50, 3), -3, np.int8), (InputError, "must hold values in 0..255")
    ),
    Case("channels-first (3, H, W)", noise((3, 40, 50)), (InputError, ".transpose(1, 2, 0)")),
    Case("5 channels", noise((40, 50, 5)), (InputError, "must have 1 (gray), 2 (gray+alpha), 3 (RGB) or 4 (RGBA)")),
    Case("4-D batch (1, H, W, 3)", noise((1, 40, 50, 3)), (InputError, "must be (H, W) or (H, W, C)")),
    Case("empty array (0, 5, 3)", lambda _: np.zeros((0, 5, 3), np.uint8), (InputError, "image is empty")),
    Case("nested list", lambda _: [[0, 1], [2, 3]], (InputError, "must be a NumPy array or a file path")),
    Case("truncated JPEG", file_with("cut.jpg", jpeg_bytes()[:300]), (InputError, "empty, corrupt or not an image")),
    Case("empty file", file_with("empty.png", b""), (InputError, "empty, corrupt or not an image")),
    Case(
        "text file named .png",
        file_with("text.png", b"hello, not an image"),
        (InputError, "empty, corrupt or not an image"),
    ),
    Case("directory named .png", file_with("folder.png", None), (InputError, "is a directory")),
    Case("missing file", lambda tmp: tmp / "nope.png", (FileNotFoundError, "no such file")),
]

N_SEGMENTS = [
    Case("n_segments = 0", lambda _: 0, (InputError, "n_segments must be a positive integer")),
    Case("n_segments = -5", lambda _: -5, (InputError, "n_segments must be a positive integer")),
    Case("n_segments = 2.5", lambda _: 2.5, (InputError, "n_segments must be a positive integer")),
    Case("n_segments = True", lambda _: True, (InputError, "n_segments must be a positive integer")),
    Case("n_segments = '10'", lambda _: "10", (InputError, "n_segments must be a positive integer")),
    Case("n_segments > number of pixels", lambda _: 40 * 50 + 1, (InputError, "exceeds the number of pixels")),
    Case("n_segments = numpy int64", lambda _: np.int64(12)),
    Case("n_segments = number of pixels", lambda _: 40 * 50),
]

GOOD = np.repeat(np.repeat(np.arange(4).reshape(2, 2), 10, 0), 15, 1).astype(np.int32)  # 20×30, 4 regions
LABEL_MAPS = [
    Case("labels int32 (H, W)", lambda _: GOOD),
    Case("labels uint64", lambda _: GOOD.astype(np.uint64)),
    Case("labels bool", lambda _: GOOD > 1),
    Case("labels torch int64", lambda _: torch.from_numpy(GOOD).long()),
    Case("labels of another shape", lambda _: GOOD[:, :-1], (InputError, "must have the same shape")),
    Case("labels float", lambda _: GOOD.astype(np.float32), (InputError, "must hold integer labels")),
    Case("labels with NaN", lambda _: np.full(GOOD.shape, np.nan), (InputError, "must hold integer labels")),
    Case("negative labels", lambda _: GOOD - 1, (InputError, "must hold non-negative labels")),
    Case("labels (H, W, 3)", lambda _: np.dstack([GOOD] * 3), (InputError, "non-empty 2-D integer array")),
    Case("labels empty (0, W)", lambda _: GOOD[:0], (InputError, "non-empty 2-D integer array")),
    Case("labels as a list", lambda _: GOOD.tolist(), (InputError, "must be a 2-D integer array")),
]

METRIC_UPDATES = [
    Case(
        "update: 2 predictions, 1 target",
        lambda _: (torch.zeros(2, 20, 30, dtype=torch.long), torch.zeros(1, 20, 30, dtype=torch.long)),
        (InputError, "one ground truth"),
    ),
    Case(
        "update: H, W differ",
        lambda _: (torch.zeros(1, 20, 30, dtype=torch.long), torch.zeros(1, 20, 31, dtype=torch.long)),
        (InputError, "must have the same shape"),
    ),
    Case(
        "update: float predictions",
        lambda _: (torch.zeros(1, 20, 30), torch.zeros(1, 20, 30, dtype=torch.long)),
        (InputError, "must hold integer labels"),
    ),
    Case("update: (H, W) maps", lambda _: (torch.from_numpy(GOOD), torch.from_numpy(GOOD))),
]


def shipped(name: str) -> Callable[[Path], Path]:
    return lambda _: Path(pcnet.methods.learned.default_checkpoint(name))


CHECKPOINTS = [
    Case("missing checkpoint", lambda tmp: tmp / "missing.pt", (FileNotFoundError, "no such checkpoint")),
    Case(
        "corrupt checkpoint (cut short)",
        lambda tmp: file_with("cut.pt", shipped("pcnet")(tmp).read_bytes()[:4096])(tmp),
        (InputError, "cannot read checkpoint"),
    ),
    Case("text file as checkpoint", file_with("text.pt", b"not a checkpoint"), (InputError, "cannot read checkpoint")),
    Case(
        "PyTorch file that is not a pcnet model",
        lambda tmp: torch.save({"w": torch.zeros(2)}, tmp / "other.pt") or tmp / "other.pt",
        (InputError, "not a pcnet model file"),
    ),
    Case("SCN checkpoint for method=pcnet", shipped("scn"), (InputError, "holds a 'scn' model, not 'pcnet'")),
    Case("shipped PCNet checkpoint", shipped("pcnet")),
]


def check_outcome(case: Case, call: Callable[[], Any]) -> Any:
    """Run ``call``; assert the case's error, or return the result for the caller to check."""
    if case.outcome == OK:
        return call()
    kind, fragment = case.outcome
    with pytest.raises(kind) as info:
        call()
    assert fragment in str(info.value), str(info.value)
    assert type(info.value) is kind, f"{type(info.value).__name__}: {info.value}"  # not a subclass from deep inside
    return None


def image_shape(image: Any) -> tuple[int, int]:
    return pcnet.io.to_rgb_uint8(image).shape[:2]


# ------------------------------------------------------------------------------------- the API
@pytest.mark.parametrize("method", pcnet.available_methods())
@pytest.mark.parametrize("case", IMAGES, ids=str)
def test_api_images(case, method, tmp_path):
    image = case.make(tmp_path)
    n = 4 if case.outcome != OK else min(4, int(np.prod(image_shape(image))))
    labels = check_outcome(case, lambda: pcnet.superpixels(image, n, method=method))
    if labels is not None:
        assert_superpixels(labels, image_shape(image))


@pytest.mark.parametrize("method", ["slic", "pcnet"])
@pytest.mark.parametrize("case", N_SEGMENTS, ids=str)
def test_api_n_segments(case, method):
    image = synthetic_image(40, 50, seed=0)[0]
    labels = check_outcome(case, lambda: pcnet.superpixels(image, case.make(None), method=method))
    if labels is not None:
        assert_superpixels(labels, image.shape)


def test_api_unknown_method_and_option_list_the_valid_ones():
    image = np.zeros((8, 8, 3), np.uint8)
    with pytest.raises(InputError, match="unknown superpixel method 'slci'; available: ") as info:
        pcnet.superpixels(image, 4, method="slci")
    assert all(name in str(info.value) for name in pcnet.available_methods())
    with pytest.raises(InputError, match=r"unknown option\(s\) \['compactnes'\] .* valid options: compactness=10.0"):
        pcnet.superpixels(image, 4, method="slic", compactnes=5)
    with pytest.raises(InputError, match="tile must be null"):
        pcnet.superpixels(image, 4, method="pcnet", tile=20)


def test_api_tile_values():
    """``tile=None`` is the whole image; NumPy integers are tiles too. With the halo (64 input px)
    covering the whole 16×24 input, 16-px tiles give exactly the whole-image map."""
    image = synthetic_image(64, 96, seed=3)[0]
    whole = pcnet.superpixels(image, 24, method="pcnet", tile=None)
    assert np.array_equal(whole, pcnet.superpixels(image, 24, method="pcnet", tile=np.int64(16)))
    assert np.array_equal(whole, pcnet.superpixels(image, 24, method="pcnet", tile="auto"))


@pytest.mark.parametrize("case", CHECKPOINTS, ids=str)
def test_api_checkpoints(case, tmp_path):
    checkpoint = case.make(tmp_path)
    image = synthetic_image(48, 64, seed=0)[0]
    labels = check_outcome(case, lambda: pcnet.superpixels(image, 12, method="pcnet", checkpoint=checkpoint))
    if labels is not None:
        assert_superpixels(labels, image.shape)


@pytest.mark.parametrize("case", LABEL_MAPS, ids=str)
def test_metrics_label_maps(case, tmp_path):
    labels = case.make(tmp_path)
    scores = check_outcome(case, lambda: metrics.superpixel_scores(labels, GOOD))
    if scores is not None:  # the same scores as the plain int64 array
        assert scores == metrics.superpixel_scores(np.asarray(labels).astype(np.int64), GOOD)
        if case.id == "labels int32 (H, W)":  # the ground truth itself
            assert scores["asa"] == 1.0 and scores["ue"] == 0.0 and scores["br"] == scores["bp"] == 1.0
    if case.outcome == OK or "same shape" not in case.outcome[1]:
        check_outcome(case, lambda: metrics.compactness(labels))


@pytest.mark.parametrize("case", METRIC_UPDATES, ids=str)
def test_metric_updates(case, tmp_path):
    preds, target = case.make(tmp_path)
    metric = metrics.SuperpixelMetrics()
    check_outcome(case, lambda: metric.update(preds, target))
    if case.outcome == OK:
        assert float(metric.compute()["asa"]) == 1.0


# ------------------------------------------------------------------------------------ the CLIs
def cli_error(capsys, run: Callable[[Any], Any], cfg: Any) -> str:
    """Run a CLI's ``run(cfg)`` as its ``main`` does; it must exit 2 with one ``error:`` line, last
    (log lines such as Lightning's "Seed set to 0" may come before it), and no traceback."""
    from pcnet._cli import run_cli

    with pytest.raises(SystemExit) as info:
        run_cli(run, cfg)
    assert info.value.code == 2
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert lines[-1].startswith("error: ") and err.count("error: ") == 1 and "Traceback" not in err, lines
    return lines[-1]


def snapshot(folder: Path) -> dict[str, tuple[int, str]]:
    """Every file under ``folder`` with its mtime and content hash."""
    return {
        str(p.relative_to(folder)): (p.stat().st_mtime_ns, hashlib.sha256(p.read_bytes()).hexdigest())
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


BAD_FILES = {"cut.jpg": jpeg_bytes()[:300], "empty.png": b"", "text.png": b"hello, not an image"}


@pytest.fixture
def image_folder(tmp_path) -> Path:
    """Two good images, the bad files above and a folder named like an image."""
    folder = tmp_path / "inputs"
    for i in range(2):
        write_image(folder / f"good{i}.png", synthetic_image(48, 64, seed=i)[0])
    for name, data in BAD_FILES.items():
        (folder / name).write_bytes(data)
    (folder / "sub.png").mkdir()
    return folder


#: placeholders of the CLI cases, as the docs table shows them
SHOWN = {
    "tmp": "<tmp>",
    "inputs": "<the input folder>",
    "file": "<a file>",
    "text": "<a text file>",
    "pcnet": "<shipped pcnet.pt>",
    "scn": "<shipped scn.pt>",
}


def shown(args: list[str]) -> str:
    """The docs table's first cell for a CLI case."""
    return " ".join(args).format(**SHOWN).replace("{{", "{").replace("}}", "}")


def placeholders(tmp_path: Path) -> dict[str, Any]:
    (tmp_path / "a_file").write_text("x")
    (tmp_path / "text.ckpt").write_text("not a checkpoint")
    return {
        "tmp": tmp_path,
        "file": tmp_path / "a_file",
        "text": tmp_path / "text.ckpt",
        "pcnet": pcnet.methods.learned.default_checkpoint("pcnet"),
        "scn": pcnet.methods.learned.default_checkpoint("scn"),
    }


PREDICT_ERRORS = [
    (["method=slci"], "unknown superpixel method 'slci'; available:"),
    (["n_segments=0"], "n_segments must be a positive integer"),
    (["n_segments=2.5"], "n_segments must be a positive integer"),
    (["n_segments=0", "lightning=true"], "n_segments must be a positive integer"),
    (["method=slic", "options={{compactnes:5}}"], "unknown option(s) ['compactnes'] for method 'slic'"),
    (
        ["method=pcnet", "options={{foo:1}}"],
        "unknown option(s) ['foo'] for method 'pcnet'; valid options: checkpoint=None, device='cpu'",
    ),
    (["options=5"], "options must be a mapping"),
    (["tile=100"], "tile must be null (whole image), 'auto' or a positive multiple of 16"),
    (["method=slic", "tile=256"], "tile= applies to the learned methods"),
    (["checkpoint=/no/such/model.pt"], "no such checkpoint"),
    (["checkpoint={text}"], "cannot read checkpoint"),
    (["method=scn", "checkpoint={pcnet}"], "holds a 'pcnet' model, not 'scn'"),
    (["output={file}/out"], "it or a parent of it is a file, not a folder"),
    (["input={tmp}/nope"], "no such file or folder"),
    (["input={tmp}/empty_dir"], "holds no image files"),
    (["output={inputs}"], "is the folder of the input images"),
]


@pytest.mark.parametrize("overrides, fragment", PREDICT_ERRORS, ids=[shown(o) for o, _ in PREDICT_ERRORS])
def test_predict_cli_errors(overrides, fragment, image_folder, tmp_path, capsys):
    from pcnet.predict import run

    names = {**placeholders(tmp_path), "inputs": image_folder}
    (tmp_path / "empty_dir").mkdir()
    before = snapshot(tmp_path)
    cfg = compose_config(
        "predict",
        [
            f"input={image_folder}",
            f"output={tmp_path / 'out'}",
            "progress=false",
            *(o.format(**names) for o in overrides),
        ],
        tmp_path / "run",
    )
    assert fragment in cli_error(capsys, run, cfg)
    assert snapshot(tmp_path) == before and not (tmp_path / "out").exists()  # nothing written


def test_predict_cli_bad_files_are_named_and_inputs_untouched(image_folder, tmp_path, capsys):
    """A read-only folder of good and bad files: good ones predicted, each bad one named, the
    folder never written to (checked by content and mtime; chmod alone does not stop root)."""
    from pcnet.predict import run

    image_folder.chmod(0o555)
    before = snapshot(image_folder)
    try:
        cfg = compose_config(
            "predict",
            [f"input={image_folder}", f"output={tmp_path / 'out'}", "method=slico", "progress=false"],
            tmp_path / "run",
        )
        assert run(cfg) == 1
    finally:
        image_folder.chmod(0o755)
    assert snapshot(image_folder) == before
    err = capsys.readouterr().err
    for name in BAD_FILES:
        assert f"{name}: cannot read image" in err and "empty, corrupt or not an image" in err
    assert "sub.png" not in err  # a folder is not an input file
    written = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert written == ["good0_labels.png", "good0_overlay.png", "good1_labels.png", "good1_overlay.png", "summary.csv"]


EVALUATE_ERRORS = [
    (["method=slci"], "unknown method(s) ['slci']; valid methods:"),
    (["n_segments=[10,-1]"], "n_segments must be a positive integer or a list of them"),
    (["method=slic", "options={{slic:{{compactnes:5}}}}"], "unknown option(s) ['compactnes']"),
    (["method=slic", "options={{slico:{{}}}}"], "options must map method names in method=['slic']"),
    (["options=5"], "options must be a mapping"),
    (
        ["method=slic", "method_n_segments={{slico:[10]}}"],
        "method_n_segments names ['slico'], which are not in method=",
    ),
]


def test_evaluate_cli_errors_and_read_only_data(tiny_bsds, tmp_path, capsys):
    from pcnet.evaluate import run

    before = snapshot(tiny_bsds)
    for overrides, fragment in EVALUATE_ERRORS:
        cfg = compose_config(
            "evaluate",
            [f"data.root={tiny_bsds}", "progress=false", "workers=1", *(o.format() for o in overrides)],
            tmp_path / "run",
        )
        assert fragment in cli_error(capsys, run, cfg), overrides
    cfg = compose_config(
        "evaluate",
        [f"data.root={tiny_bsds}", "progress=false", "workers=1", "method=grid", "n_segments=[8]"],
        tmp_path / "run",
    )
    assert run(cfg)[0]["n_images"] == 3
    assert snapshot(tiny_bsds) == before


TRAIN_FAST = [
    "experiment=bsds500",
    "debug=fdr",
    "data.patch_size=64",
    "data.global_size=96",
    "data.batch_size=2",
    "data.num_workers=0",
    "data.val_limit=1",
    "callbacks.overlays=null",
    "extras.print_config=false",
]
TRAIN_ERRORS = [
    (["init_from=/no/such.ckpt"], "no such checkpoint"),
    (["init_from={text}"], "cannot read checkpoint"),
    (["init_from={scn}"], "holds a 'scn' model, not 'pcnet'"),
    (["ckpt_path=/no/such.ckpt"], "ckpt_path=/no/such.ckpt: no such checkpoint"),
    (["ckpt_path={text}"], "cannot be read: not a checkpoint, or corrupt"),
    (["ckpt_path={pcnet}"], "is not a pcnet.train checkpoint; to start from a model file's weights use init_from="),
    (["data.batch_size=0"], "data.batch_size must be an integer >= 1; got 0"),
    (["data.patch_size=50"], "patch_size 50 must be divisible by downscale 4"),
    (["loss.alpha=-0.1"], "loss.alpha must be >= 0"),
    (["data.root=/no/such/dataset"], "/no/such/dataset"),
]


def test_train_cli_errors_and_read_only_data(tiny_bsds, tmp_path, capsys):
    from pcnet.train import train

    for split in ("train", "val"):
        for i in range(2):
            image, labels = synthetic_image(96, 128, n_regions=5, seed=i)
            write_image(tiny_bsds / "images" / split / f"{i}.jpg", image)
            write_label_map(tiny_bsds / "gt" / split / f"{i}_0.png", labels + 1)
    names = placeholders(tmp_path)
    before = snapshot(tiny_bsds)
    for overrides, fragment in TRAIN_ERRORS:
        cfg = compose_config(
            "train", [*TRAIN_FAST, f"data.root={tiny_bsds}", *(o.format(**names) for o in overrides)], tmp_path / "run"
        )
        assert fragment in cli_error(capsys, train, cfg), overrides
    train(compose_config("train", [*TRAIN_FAST, f"data.root={tiny_bsds}"], tmp_path / "run"))
    assert snapshot(tiny_bsds) == before


BENCHMARK_ERRORS = [
    (["nope"], "invalid choice: 'nope'"),
    (["ops", "--megapixels", "-1"], "argument --megapixels: must be > 0; got -1"),
    (["ops", "--megapixels", "nan"], "argument --megapixels: must be > 0; got nan"),
    (["complexity", "--sizes", "0"], "argument --sizes: must be >= 1; got 0"),
    (["complexity", "--models", "slic"], "argument --models: invalid choice: 'slic'"),
    (["speed", "--checkpoint", "pcnet.pt"], "expected METHOD=PATH"),
    (["train", "--steps", "x"], "argument --steps: 'x' is not an integer"),
    (["ops", "--megapixels", "0.01", "--csv", "{file}/ops.csv"], "it or a parent of it is a file, not a folder"),
]


@pytest.mark.parametrize("argv, fragment", BENCHMARK_ERRORS, ids=[shown(a) for a, _ in BENCHMARK_ERRORS])
def test_benchmark_cli_errors(argv, fragment, tmp_path, capsys):
    from pcnet.benchmark import main

    names = placeholders(tmp_path)
    with pytest.raises(SystemExit) as info:
        main([a.format(**names) for a in argv])
    assert info.value.code == 2 and fragment in capsys.readouterr().err


@pytest.mark.parametrize(
    "module, overrides, fragment",
    [
        ("pcnet.train", ["trainer.max_stepz=1"], "Could not override 'trainer.max_stepz'"),
        ("pcnet.predict", ["input=a.png", "output=out", "methd=slic"], "Could not override 'methd'"),
        ("pcnet.train", ["model=pcnte"], "Could not find 'model/pcnte'"),
        ("pcnet.train", ["hydra.run.dir={file}/run"], "Not a directory"),
        ("pcnet.evaluate", ["hydra.run.dir={file}/run"], "Not a directory"),
    ],
)
def test_hydra_override_typos_give_hydras_message(module, overrides, fragment, tmp_path):
    """Real subprocesses: Hydra's own short message, no Python traceback of ours."""
    names = placeholders(tmp_path)
    proc = subprocess.run(
        [sys.executable, "-m", module, *(o.format(**names) for o in overrides), f"paths.log_dir={tmp_path}"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 1 and fragment in proc.stderr, proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr or "src/pcnet/" not in proc.stderr.split("Traceback")[1]  # no frame of ours


def test_predict_cli_one_line_in_a_real_process(tmp_path):
    write_image(tmp_path / "a.png", np.zeros((8, 8, 3), np.uint8))
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "pcnet.predict",
            f"input={tmp_path}",
            f"output={tmp_path / 'out'}",
            "method=slci",
            f"paths.log_dir={tmp_path}",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 2 and proc.stderr.strip().splitlines() == [
        f"error: unknown superpixel method 'slci'; available: {', '.join(pcnet.available_methods())}"
    ], proc.stderr


# ---------------------------------------------------------------------------------------- docs
def test_docs_table_lists_every_case():
    """docs/bad_inputs.md has a row for every case, and each CLI row shows the case's fragment."""
    table = (REPO / "docs" / "bad_inputs.md").read_text().splitlines()
    cases = IMAGES + N_SEGMENTS + LABEL_MAPS + METRIC_UPDATES + CHECKPOINTS
    missing = [c.id for c in cases if not any(line.startswith(f"| {c.id} |") for line in table)]
    for args, fragment in PREDICT_ERRORS + EVALUATE_ERRORS + TRAIN_ERRORS + BENCHMARK_ERRORS:
        rows = [line for line in table if line.startswith(f"| `{shown(args)}` |")]
        if not any(fragment in row for row in rows):
            missing.append(shown(args))
    assert not missing, f"docs/bad_inputs.md lacks rows for: {missing}"
