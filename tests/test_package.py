"""Packaging: configs ship inside the wheel, OpenCV contrib survives the install, CLIs exist."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import tomllib

import pcnet

REPO = Path(__file__).resolve().parents[1]


def test_opencv_contrib_modules_present():
    import cv2

    assert hasattr(cv2, "ximgproc"), (
        "cv2.ximgproc is missing: opencv-python-headless was installed over "
        "opencv-contrib-python-headless; run `make install`"
    )
    assert hasattr(cv2.ximgproc, "createSuperpixelSLIC")


def test_opencv_pins_agree():
    deps = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["dependencies"]
    pins = {d.split("==")[0]: d.split("==")[1] for d in deps if d.startswith("opencv")}
    assert pins["opencv-python-headless"] == pins["opencv-contrib-python-headless"]


def test_top_level_conf_points_at_package_configs():
    assert (REPO / "conf").resolve() == (REPO / "src" / "pcnet" / "conf").resolve()


def test_wheel_ships_configs(tmp_path):
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(tmp_path),
            str(REPO),
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )
    (wheel,) = tmp_path.glob("pcnet-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    shipped = {p.relative_to(REPO / "src").as_posix() for p in (REPO / "src/pcnet/conf").rglob("*.yaml")}
    assert shipped and shipped <= names


@pytest.mark.parametrize(
    "script", ["pcnet-demo", "pcnet-evaluate", "pcnet-train", "pcnet-predict", "pcnet-export", "pcnet-benchmark"]
)
def test_console_scripts_declared(script):
    scripts = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["scripts"]
    module, func = scripts[script].split(":")
    assert callable(getattr(__import__(module, fromlist=[func]), func))


def test_make_help_lists_targets():
    out = subprocess.run(["make", "-s", "help"], cwd=REPO, capture_output=True, text=True, check=True).stdout
    for target in ("install", "test", "test-full", "evaluate"):
        assert f"  {target} " in out


def test_no_source_or_config_file_is_git_ignored():
    """A too-broad .gitignore pattern once hid conf/data/ from commits: guard against it."""
    if not (REPO / ".git").exists():
        pytest.skip("not a git checkout")
    ignored = subprocess.run(
        ["git", "ls-files", "--others", "--ignored", "--exclude-standard", "src", "tests"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert [p for p in ignored if "__pycache__" not in p and ".egg-info/" not in p and not p.endswith(".pyc")] == []


def test_lower_layers_never_import_inference():
    """Imports flow one way: ops, metrics, losses and models know nothing of pcnet.inference
    (the Segmenter builds on the models, not the reverse)."""
    root = Path(pcnet.__file__).parent
    for layer in ("ops", "metrics", "losses", "models"):
        for path in (root / layer).rglob("*.py"):
            code = [line for line in path.read_text().splitlines() if line.lstrip().startswith(("import ", "from "))]
            assert not [line for line in code if "pcnet.inference" in line or "pcnet.module" in line], path
