# pcnet — `make help` lists the targets.
PYTHON ?= python
BSDS500 ?= ../shared/data/bsds500
# the OpenCV contrib build pinned in pyproject.toml (one source of truth)
OPENCV_CONTRIB := $(shell grep -o 'opencv-contrib-python-headless==[0-9.]*' pyproject.toml)

.DEFAULT_GOAL := help
.PHONY: help install lint test test-full evaluate demo train predict benchmark benchmark-ops ablation weights weights-pcnet fast-slic
# weights-scn / weights-ssn stay off .PHONY: make skips pattern rules (weights-%) for phony targets

help: ## list the targets
	@grep -E '^[a-zA-Z_%-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*## "}; {printf "  %-14s %s\n", $$1, $$2}'

install: ## install pcnet (editable) with test tools; the OpenCV contrib build goes in last so cv2.ximgproc exists
	$(PYTHON) -m pip install -e ".[dev]"
	$(PYTHON) -m pip install --no-deps --force-reinstall "$(OPENCV_CONTRIB)"
	$(PYTHON) -c "import cv2; assert hasattr(cv2, 'ximgproc'), 'cv2.ximgproc is missing after install'; print('cv2', cv2.__version__, 'with ximgproc')"

fast-slic: ## build the fast-slic benchmark peer (SIMD SLIC; no wheel exists, so it compiles; not a pcnet dependency)
	$(PYTHON) -m pip install cython setuptools wheel
	$(PYTHON) -m pip install --no-build-isolation fast-slic

lint: ## ruff (pyproject.toml: line length 120, pycodestyle, pyflakes, import order, pyupgrade, bugbear) and its formatter check
	$(PYTHON) -m ruff check src tests
	$(PYTHON) -m ruff format --check src tests

test: ## fast test suite (what CI runs)
	$(PYTHON) -m pytest -m "not slow" -n 2

test-full: ## every test, the slow ones (BSDS500 sweeps, large images) included
	$(PYTHON) -m pytest -n 2

demo: ## superpixels + scores on an embedded synthetic image -> pcnet_demo/
	$(PYTHON) -m pcnet.demo

evaluate: ## benchmark the classical methods on BSDS500 test at K = 200..1200 (BSDS500=path)
	$(PYTHON) -m pcnet.evaluate data.root=$(BSDS500) method=[slic,slico,lsc,seeds]

train: ## the fast CPU training recipe on generated images (experiment=synthetic)
	$(PYTHON) -m pcnet.train experiment=synthetic

predict: ## superpixels for INPUT (file, folder or glob) into OUTPUT with METHOD (default pcnet)
	$(PYTHON) -m pcnet.predict input=$(INPUT) output=$(OUTPUT) method=$(or $(METHOD),pcnet)

RECIPE_pcnet = bsds500_cpu
RECIPE_scn = scn_bsds500_cpu
RECIPE_ssn = ssn_bsds500_cpu
weights: weights-scn weights-ssn weights-pcnet ## retrain + export every shipped checkpoint (CPU recipes, BSDS500=path; PCNet last: it starts from SCN)

weights-pcnet: ## PCNet: stage 1 from the shipped SCN, distilled from it (800 steps); stage 2 trained on, selected by val BR; export
	dir=logs/train/recipes/pcnet_$$(date +%Y%m%d_%H%M%S) && \
	$(PYTHON) -m pcnet.train experiment=bsds500_cpu data.root=$(BSDS500) hydra.run.dir=$$dir/stage1 && \
	$(PYTHON) -m pcnet.export $$dir/stage1/checkpoints/best_epoch_*.ckpt $$dir/stage1.pt --meta recipe=bsds500_cpu && \
	$(PYTHON) -m pcnet.train experiment=bsds500_cpu_long data.root=$(BSDS500) init_from=$$dir/stage1.pt hydra.run.dir=$$dir/stage2 && \
	$(PYTHON) -m pcnet.export $$dir/stage2/checkpoints/best_epoch_*.ckpt src/pcnet/models/weights/pcnet.pt --meta recipe=bsds500_cpu+bsds500_cpu_long

weights-%: ## retrain + export one shipped SCN/SSN checkpoint: make weights-scn|weights-ssn (recipe RECIPE_<method>)
	dir=logs/train/recipes/$*_$$(date +%Y%m%d_%H%M%S) && \
	$(PYTHON) -m pcnet.train experiment=$(RECIPE_$*) data.root=$(BSDS500) hydra.run.dir=$$dir && \
	$(PYTHON) -m pcnet.export $$dir/checkpoints/best_epoch_*.ckpt src/pcnet/models/weights/$*.pt --meta recipe=$(RECIPE_$*)

ABLATION_DIR ?= logs/train/multiruns/ablation
ablation: ## one-factor PCNet ablations on BSDS500 val (11 short runs, the reference twice) and their table (BSDS500=path)
	test -f $(ABLATION_DIR)/stage1/checkpoints/last.ckpt || \
	$(PYTHON) -m pcnet.train experiment=synthetic trainer.max_epochs=20 hydra.run.dir=$(ABLATION_DIR)/stage1
	$(PYTHON) -m pcnet.train -m experiment=ablation_bsds500 "ablation=glob(*)" data.root=$(BSDS500) \
		stage1=$(abspath $(ABLATION_DIR))/stage1/checkpoints/last.ckpt hydra.sweep.dir=$(ABLATION_DIR)
	$(PYTHON) -m pcnet.ablation $(ABLATION_DIR)

benchmark: ## every speed benchmark: ops, complexity, train, speed (CSV + plots in logs/benchmark)
	$(PYTHON) -m pcnet.benchmark ops --csv logs/benchmark/ops.csv
	$(PYTHON) -m pcnet.benchmark complexity
	$(PYTHON) -m pcnet.benchmark train
	$(PYTHON) -m pcnet.benchmark speed
	$(PYTHON) -m pcnet.benchmark stages --csv logs/benchmark/stages.csv

benchmark-ops: ## hard labels + connectivity speed on 1-20 MP label maps
	$(PYTHON) -m pcnet.benchmark ops
