"""Packaging: configs ship inside the wheel, OpenCV contrib survives the install, CLIs exist."""

from __future__ import annotations

import ast
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


#: the layers of the package, bottom first: a module may import its own layer's package and any
#: layer below (lazy imports inside functions count too); docs/architecture.md explains them
LAYERS = (
    {"_checks", "_lazy"},
    {"_cli", "io"},
    {"ops"},
    {"metrics", "losses", "models"},
    {"methods", "pcnet"},  # "pcnet": the package's facade (pcnet.superpixels, ...)
    {"data"},
    {"training", "evaluation", "prediction"},
    {"bench"},
    {"train", "evaluate", "predict", "export", "demo", "benchmark", "ablation", "conf"},
)
#: same-layer imports across packages that the layout allows: a model declares its loss class
SAME_LAYER = {("models", "losses")}


def _package_imports() -> dict[tuple[str, str], set[str]]:
    """(importing package, imported package) -> the files that make that import."""
    root = Path(pcnet.__file__).parent
    edges: dict[tuple[str, str], set[str]] = {}
    for path in root.rglob("*.py"):
        parts = path.relative_to(root).with_suffix("").parts
        source = "pcnet" if parts == ("__init__",) else parts[0]
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "pcnet":
                names = [node.module] if node.module != "pcnet" else [f"pcnet.{a.name}" for a in node.names]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names if a.name.split(".")[0] == "pcnet"]
            else:
                continue
            for name in names:
                target = name.split(".")[1] if "." in name else "pcnet"
                if target != source:
                    edges.setdefault((source, target), set()).add(str(path.relative_to(root)))
    return edges


def test_every_package_has_a_layer():
    root = Path(pcnet.__file__).parent
    layered = set().union(*LAYERS)
    found = {p.name for p in root.iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    found |= {p.stem for p in root.glob("*.py") if p.stem != "__init__"}
    assert found - layered == set(), "give every new package or command a layer in LAYERS"


def test_imports_flow_one_way():
    """Commands on top, libraries below, imports only downwards (the import graph, checked)."""
    layer = {name: rank for rank, names in enumerate(LAYERS) for name in names}
    upward = {
        f"{src} -> {dst} ({', '.join(sorted(files))})"
        for (src, dst), files in _package_imports().items()
        if layer[dst] > layer[src] or (layer[dst] == layer[src] and (src, dst) not in SAME_LAYER)
    }
    assert upward == set()


def test_import_check_catches_an_upward_import(tmp_path, monkeypatch):
    """The check above can fail: an ops module importing the Segmenter is reported."""
    fake = tmp_path / "pcnet"
    (fake / "ops").mkdir(parents=True)
    (fake / "methods").mkdir()
    for init in (fake / "__init__.py", fake / "ops" / "__init__.py", fake / "methods" / "__init__.py"):
        init.write_text("")
    (fake / "ops" / "bad.py").write_text("def f():\n    from pcnet.methods.learned import Segmenter\n")
    monkeypatch.setattr(pcnet, "__file__", str(fake / "__init__.py"))
    assert _package_imports() == {("ops", "methods"): {"ops/bad.py"}}


def _module_imports() -> dict[str, set[str]]:
    """Module -> the pcnet modules it imports (at the top or inside functions); imports of a
    package's ``__init__`` (its lazy re-exports) are not edges."""
    root = Path(pcnet.__file__).parent
    modules = {".".join(("pcnet", *p.relative_to(root).with_suffix("").parts)) for p in root.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for path in root.rglob("*.py"):
        name = ".".join(("pcnet", *path.relative_to(root).with_suffix("").parts))
        targets = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "pcnet":
                targets |= {node.module, *(f"{node.module}.{a.name}" for a in node.names)}
            elif isinstance(node, ast.Import):
                targets |= {a.name for a in node.names}
        graph[name] = {t for t in targets if t in modules and not t.endswith("__init__") and t != name}
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Every import cycle found by a depth-first search (each reported once, from its first module)."""
    found, done = [], set()

    def visit(node: str, path: list[str]) -> None:
        for nxt in sorted(graph.get(node, ())):
            if nxt in path:
                cycle = path[path.index(nxt) :]
                if not any(set(cycle) == set(c) for c in found):
                    found.append([*cycle, nxt])
            elif nxt not in done:
                visit(nxt, [*path, nxt])
        done.add(node)

    for start in sorted(graph):
        if start not in done:
            visit(start, [start])
    return found


def test_no_module_import_cycle():
    """No module imports one that imports it back, even inside a function: one owner per concern."""
    assert _cycles(_module_imports()) == []


def test_cycle_check_catches_a_cycle(tmp_path, monkeypatch):
    fake = tmp_path / "pcnet"
    (fake / "ops").mkdir(parents=True)
    for init in (fake / "__init__.py", fake / "ops" / "__init__.py"):
        init.write_text("")
    (fake / "ops" / "a.py").write_text("from pcnet.ops.b import g\n")
    (fake / "ops" / "b.py").write_text("def g():\n    from pcnet.ops import a\n")
    monkeypatch.setattr(pcnet, "__file__", str(fake / "__init__.py"))
    assert _cycles(_module_imports()) == [["pcnet.ops.a", "pcnet.ops.b", "pcnet.ops.a"]]
