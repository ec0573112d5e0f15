"""Documentation: docstrings on the public API, the README's sections and CLIs, `make help`, and
the plugin example of docs/extending.md."""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import pkgutil
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from omegaconf import OmegaConf

import pcnet

REPO = Path(__file__).resolve().parents[1]
README = (REPO / "README.md").read_text(encoding="utf-8")
EXTENDING = REPO / "docs" / "extending.md"

#: the modules whose ``__all__`` is the public API (each must have one)
PUBLIC_MODULES = [
    "pcnet",
    "pcnet.methods.registry",
    "pcnet.io",
    "pcnet.metrics",
    "pcnet.ops",
    "pcnet.losses",
    "pcnet.models",
    "pcnet.data",
    "pcnet.methods.learned",
    "pcnet.prediction",
    "pcnet.evaluation",
    "pcnet.ops.draw",
    "pcnet.training.callbacks",
    "pcnet.training.module",
]


def _all_modules() -> list[str]:
    """The listed modules, then every other non-private ``pcnet`` module that declares ``__all__``."""
    found = [
        info.name
        for info in pkgutil.walk_packages(pcnet.__path__, "pcnet.")
        if not any(part.startswith("_") for part in info.name.split(".")) and not info.name.startswith("pcnet.conf")
    ]
    extra = [name for name in found if name not in PUBLIC_MODULES and hasattr(importlib.import_module(name), "__all__")]
    return PUBLIC_MODULES + sorted(extra)


MODULES = _all_modules()


def _own_doc(obj: object) -> str:
    """The object's own docstring (``inspect.getdoc`` would inherit a base class's; a dataclass
    without one gets its signature as ``__doc__``, which does not count)."""
    doc = (getattr(obj, "__doc__", None) or "").strip()
    return "" if inspect.isclass(obj) and doc.startswith(f"{obj.__name__}(") else doc


def _public_objects(module_name: str) -> list[tuple[str, object]]:
    """``(qualified name, object)`` of the functions and classes in the module's ``__all__``."""
    module = importlib.import_module(module_name)
    objects = []
    for name in module.__all__:
        obj = getattr(module, name)
        if inspect.isfunction(obj) or inspect.isclass(obj):
            objects.append((f"{module_name}.{name}", obj))
    return objects


def _public_methods(cls: type) -> list[tuple[str, object]]:
    """Public methods and properties defined by ``cls`` itself (not inherited)."""
    methods = []
    for name, value in vars(cls).items():
        if name.startswith("_"):
            continue
        if isinstance(value, (staticmethod, classmethod)):
            value = value.__func__
        elif isinstance(value, property):
            value = value.fget
        elif not inspect.isfunction(value):
            continue
        methods.append((name, value))
    return methods


@pytest.mark.parametrize("module_name", PUBLIC_MODULES)
def test_public_module_declares_all(module_name):
    module = importlib.import_module(module_name)
    assert _own_doc(module), f"{module_name} has no module docstring"
    assert isinstance(getattr(module, "__all__", None), (list, tuple)), f"{module_name} has no __all__"
    missing = [name for name in module.__all__ if not hasattr(module, name)]
    assert not missing, f"{module_name}.__all__ names {missing}, which the module does not define"


@pytest.mark.parametrize("module_name", MODULES)
def test_public_functions_classes_and_methods_have_docstrings(module_name):
    undocumented = []
    for qualname, obj in _public_objects(module_name):
        defined_in = getattr(obj, "__module__", "") or ""
        assert defined_in.startswith("pcnet"), f"{qualname} reports module {defined_in!r}, not a pcnet module"
        if not _own_doc(obj):
            undocumented.append(qualname)
        if inspect.isclass(obj):
            undocumented += [f"{qualname}.{name}" for name, method in _public_methods(obj) if not _own_doc(method)]
    assert not undocumented, f"public API without a docstring: {undocumented}"


CLIS = ["train", "evaluate", "predict", "benchmark", "export", "demo", "ablation"]
#: the commands whose arguments are Hydra overrides of the packaged config of the same name
HYDRA_CLIS = {"train", "evaluate", "predict"}
#: every ``python -m pcnet.<cli> <arguments>`` of the README (code blocks and tables)
README_COMMANDS = sorted(
    {
        (cli, args.strip())
        for cli, args in re.findall(r"python -m pcnet\.(\w+)((?:[ ]+[^\s`|#]+)*)", README)
        if cli != "bench"  # python -m pcnet.bench.<suite>: tested in test_benchmarks
    }
)


@pytest.mark.parametrize("cli", CLIS)
def test_readme_shows_every_cli(cli):
    assert cli in {c for c, _ in README_COMMANDS}, f"README does not show `python -m pcnet.{cli}`"


@pytest.mark.parametrize(("cli", "args"), [c for c in README_COMMANDS if c[0] in HYDRA_CLIS], ids=" ".join)
def test_readme_hydra_command_lines_compose(cli, args, tmp_path):
    """Each train / evaluate / predict line of the README composes the packaged config (every
    override names a real key or config group option) and selects what the line says."""
    from helpers import compose_config

    overrides = args.split()
    cfg = compose_config(cli, overrides, tmp_path)
    for override in overrides:
        key, _, value = override.partition("=")
        if "." in key and not value.startswith("["):
            assert str(OmegaConf.select(cfg, key)) == value, f"{cli} {override}: composed {OmegaConf.select(cfg, key)}"


@pytest.mark.parametrize("cli", sorted(set(CLIS) - HYDRA_CLIS))
def test_readme_argparse_commands_answer_help(cli, capsys):
    """The argparse commands of the README print their usage under their README name."""
    module = importlib.import_module(f"pcnet.{cli}")
    with pytest.raises(SystemExit) as exit_info:
        module.main(["--help"])
    assert exit_info.value.code == 0
    assert f"python -m pcnet.{cli}" in capsys.readouterr().out


def _readme_python_block() -> str:
    """The README's Python API example (the first ``python`` code block)."""
    match = re.search(r"```python\n(.*?)```", README, flags=re.DOTALL)
    assert match, "README has no ```python block"
    return match.group(1)


def test_readme_python_api_example_runs(tmp_path, monkeypatch):
    """The README's API lines run as written, on stand-ins for its names (a JPEG, an image, a mask,
    a ground truth, a TIFF slide), and return what their comments say."""
    import numpy as np
    import tifffile

    from helpers import assert_superpixels
    from pcnet.data.synthetic import synthetic_image
    from pcnet.io import write_image

    image, gt = synthetic_image(96, 128, n_regions=8, seed=3)
    tissue = np.zeros(gt.shape, bool)
    tissue[10:80, 20:110] = True
    monkeypatch.chdir(tmp_path)
    write_image(tmp_path / "photo.jpg", image)
    tifffile.imwrite(tmp_path / "slide.tif", synthetic_image(256, 256, seed=4)[0], tile=(128, 128))
    names = {"image": image, "tissue": tissue, "gt": gt, "path": tmp_path / "photo.jpg"}
    code = _readme_python_block()
    # the block's lines one by one, so that each line's result can be checked
    for line in filter(str.strip, code.splitlines()):
        exec(line, names)
        statement = line.split("#")[0]
        if statement.startswith("labels ="):
            if "mask=tissue" in statement:
                assert_superpixels(names["labels"], mask=tissue)
            else:
                assert_superpixels(names["labels"], gt.shape)
        if statement.startswith("scores ="):
            assert {"br", "bp", "asa", "ue", "co", "n_superpixels"} <= set(names["scores"])
    labels = tifffile.imread(tmp_path / "labels.tif")
    assert labels.shape == (256, 256)
    assert_superpixels(labels.astype(np.int32), (256, 256))


#: README section -> heading pattern (case-insensitive)
SECTIONS = {
    "install": r"install",
    "quick start": r"quick start",
    "Python API": r"python api",
    "command lines": r"command lines|cli",
    "configs and experiments": r"configs and experiments",
    "training recipes": r"training recipes",
    "benchmark tables": r"results|benchmark",
    "extending (dataset/model)": r"extending",
}


@pytest.mark.parametrize("section", SECTIONS)
def test_readme_has_section(section):
    headings = re.findall(r"^#{2,4} (.+)$", README, flags=re.MULTILINE)
    assert any(re.search(SECTIONS[section], h, flags=re.IGNORECASE) for h in headings), (
        f"README has no {section!r} section; headings: {headings}"
    )


def _anchors(text: str) -> set[str]:
    """GitHub's anchors of a markdown file's headings."""
    return {
        re.sub(r"[^\w\- ]", "", h.strip().lower()).replace(" ", "-")
        for h in re.findall(r"^#+ (.+)$", text, flags=re.MULTILINE)
    }


DOC_PAGES = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]


@pytest.mark.parametrize("page", DOC_PAGES, ids=lambda p: p.name)
def test_local_links_resolve(page):
    """Every relative link of the README and the docs pages names a file that exists, and every
    ``#anchor`` a heading of its page."""
    text = page.read_text(encoding="utf-8")
    for target in re.findall(r"\]\(([^)\s]+)\)", text):
        if target.startswith(("http://", "https://", "mailto:")):
            continue
        name, _, anchor = target.partition("#")
        linked = page.parent / name if name else page
        assert linked.exists(), f"{page.name} links to a missing file {target}"
        if anchor and linked.suffix == ".md":
            assert anchor in _anchors(linked.read_text(encoding="utf-8")), f"{page.name}: no heading {target}"


#: the pages the README links by name (what a user looks for)
DOCS_BY_NAME = ["usage", "results", "speed", "refinement", "training", "gigapixel", "reliability", "extending"]


@pytest.mark.parametrize("name", DOCS_BY_NAME)
def test_readme_links_each_docs_page(name):
    assert f"](docs/{name}.md)" in README and (REPO / "docs" / f"{name}.md").is_file()


def test_extending_guide_covers_datasets_models_and_methods():
    text = EXTENDING.read_text(encoding="utf-8")
    for needle in (
        "## Add a dataset",
        "## Add a model",
        "## Add a superpixel method",
        "READERS",
        "register_model",
        "register_method",
        "loss_type",
        "crop_mode",
        "conf/data/",
        "conf/model/",
        "conf/experiment/",
        "tests/test_readers.py",
        "tests/test_models.py",
        "tests/test_train.py",
    ):
        assert needle in text, f"docs/extending.md does not mention {needle}"


def _code_block(text: str, first_line: str) -> str:
    """The fenced Python block whose first line is ``first_line``."""
    for block in re.findall(r"```python\n(.*?)```", text, flags=re.DOTALL):
        if block.startswith(first_line + "\n"):
            return block
    raise AssertionError(f"docs/extending.md has no python block starting with {first_line!r}")


PLUGIN_CHECK = """
import numpy as np
import torch
import pcnet
import my_plugin
from pcnet.data.readers import list_samples, load_sample
from pcnet.data.synthetic import synthetic_image
from pcnet.models import save_model
from pcnet.io import write_image, write_label_map
from pcnet.models import build

root = "{root}"
for i in range(2):
    image, labels = synthetic_image(40, 56, n_regions=4, n_lines=0, seed=i)
    write_image(f"{{root}}/images/train/{{i}}.jpg", image)
    write_label_map(f"{{root}}/masks/train/{{i}}.png", labels + 1)
samples = list_samples("mydata", root, "train")
assert [s.id for s in samples] == ["0", "1"]
image, labels = load_sample(samples[0], "mydata")
assert image.shape == (40, 56, 3) and len(labels) == 1
try:
    list_samples("mydata", root, "val")
except ValueError as err:
    assert "expected layout images/<split>/<id>.jpg" in str(err)
else:
    raise AssertionError("an empty split must fail")

model = build("tiny")
assert model(torch.rand(2, 3, 48, 64))["assoc"].shape == (2, 9, 48, 64)
path = save_model("{root}/tiny.pt", model)
image, _ = synthetic_image(90, 70, seed=3)
for method, options in (("tiny", {{"checkpoint": path}}), ("slic_zero", {{}})):
    labels = pcnet.superpixels(image, 20, method=method, **options)
    assert labels.shape == (90, 70) and labels.min() == 0, method
assert pcnet.method_options("slic_zero") == {{"max_num_iter": 10, "min_size_fraction": 0.0}}
assert "tiny" in pcnet.available_methods() and "checkpoint" in pcnet.method_options("tiny")
print("plugin ok")
"""


def test_extending_plugin_example_runs(tmp_path):
    """The guide's my_plugin.py registers a reader, a model and two methods that work (in a
    subprocess: the registries of this process stay as they are)."""
    (tmp_path / "my_plugin.py").write_text(_code_block(EXTENDING.read_text(encoding="utf-8"), "# my_plugin.py"))
    script = PLUGIN_CHECK.format(root=(tmp_path / "mydata").as_posix())
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "plugin ok" in result.stdout


def _make_rules() -> dict[str, str]:
    """Makefile target -> the text after ``## `` on its rule line ('' when there is none)."""
    rules = {}
    for line in (REPO / "Makefile").read_text().splitlines():
        match = re.match(r"^([a-zA-Z_%-]+):(?!=)(.*)$", line)
        if match:
            description = match[2].split("## ", 1)
            rules[match[1]] = description[1].strip() if len(description) == 2 else ""
    return rules


def test_every_make_target_is_described():
    rules = _make_rules()
    undescribed = [target for target, description in rules.items() if not description]
    assert not undescribed, f"Makefile rules without a '## ' description: {undescribed}"
    phony = re.search(r"^\.PHONY:(.*)$", (REPO / "Makefile").read_text(), flags=re.MULTILINE)[1].split()
    assert set(phony) <= set(rules), f".PHONY names targets without a rule: {sorted(set(phony) - set(rules))}"


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
def test_make_help_lists_every_target():
    listed = subprocess.run(["make", "-s", "help"], cwd=REPO, capture_output=True, text=True, check=True).stdout
    names = {line.split()[0] for line in listed.splitlines() if line.strip()}
    assert names == set(_make_rules()), f"make help lists {sorted(names)}"
