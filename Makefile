# The README's two commands, `make demo` and `make test`, each set up .venv first (`install`).
# Every pip call carries the constraints file: without the torch pin pip pulls a CUDA torch.
# The --no-deps steps are packages whose declared dependencies would pull samna, torchvision,
# torchaudio or a CUDA torch, or that refuse Python 3.11 (lava-nc); base.txt holds what they need.

PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
PIP := $(BIN)/python -m pip
PIN := -c requirements/constraints.txt
STAMP := $(VENV)/.snnc-installed

.PHONY: install demo demo-loihi examples test lint bench golden

install: $(STAMP)

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# Re-runs only when a requirement file or pyproject.toml changes.
$(STAMP): $(BIN)/python requirements/constraints.txt requirements/base.txt requirements/nodeps.txt requirements/lava.txt \
		pyproject.toml
	$(PIP) install $(PIN) torch
	$(PIP) install $(PIN) -r requirements/base.txt
	$(PIP) install $(PIN) --no-deps -r requirements/nodeps.txt
	$(PIP) install $(PIN) --no-deps --ignore-requires-python -r requirements/lava.txt
	$(PIP) install $(PIN) --no-deps -e .
	touch $@

# The demo runs the shipped, trained Speck example (examples/speck_digits.py trained it: a conv SNN of
# SpikingJelly IF neurons on scikit-learn's digits as events) through every verb for SynSense Speck:
# the graph, the chip's limits, the chip configuration, the event-driven chip model on 64 test digits,
# the cost per layer, and accuracy per stage with where the chip's integers first depart from the
# trained network. Last, `snnc check` lists why a far wider variant fits no Speck (it must exit 1).
DEMO_MODEL := examples/speck_digits.pt
DEMO_DATA := examples/speck_digits_sample.npz

demo: install
	$(BIN)/snnc inspect $(DEMO_MODEL) --input-dtype spike
	$(BIN)/snnc check $(DEMO_MODEL) --input-dtype spike --target speck
	$(BIN)/snnc compile $(DEMO_MODEL) --input-dtype spike --target speck -o out
	cat out/Sequential.speck.txt
	$(BIN)/snnc simulate out/Sequential.speck.json --data $(DEMO_DATA)
	$(BIN)/snnc report $(DEMO_MODEL) --input-dtype spike --target speck --model target --data $(DEMO_DATA) \
		-o out/speck_digits_report.html
	$(BIN)/snnc validate $(DEMO_MODEL) --input-dtype spike --target speck --data $(DEMO_DATA) --labels $(DEMO_DATA) \
		-o out/speck_digits_validate.html
	$(BIN)/python examples/speck_digits.py --oversize out/speck_digits_oversize.pt
	$(BIN)/snnc check out/speck_digits_oversize.pt --input-dtype spike --target speck; test $$? -eq 1

# Retrain the shipped examples from scikit-learn's bundled digits (seeded; each well under a minute).
examples: install
	$(BIN)/python examples/speck_digits.py
	$(BIN)/python examples/sinabs_digits.py
	$(BIN)/python examples/norse_digits.py
	$(BIN)/python examples/onnx_digits.py

# The Loihi 2 example: train a small snnTorch net on scikit-learn's digits (< 1 min), compile it for
# Loihi (NetX file, partition report, lowered graph in out/loihi), run the NetX file in Lava, and
# list every violation of an oversize variant (snnc check exits 1 on it, as it should).
demo-loihi: install
	$(BIN)/python examples/loihi_digits.py
	PYTHONPATH=examples $(BIN)/snnc compile loihi_digits:model --weights examples/loihi_digits.pt \
		--input-shape 64 --input-dtype spike --target loihi -o out/loihi
	PYTHONPATH=examples $(BIN)/snnc check loihi_digits:oversize --input-shape 64 --input-dtype spike \
		--target loihi; test $$? -eq 1

test: install
	$(BIN)/python -m pytest -q

# Rewrites the reviewed copies in tests/golden/ from what snnc emits now: review the diff before committing.
golden: install
	SNNC_REGENERATE_GOLDEN=1 $(BIN)/python -m pytest -q -m golden

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/pyright

# Every figure of the performance issue from one run (ratios measured side by side); README "Performance".
bench: install
	$(BIN)/python benchmarks/bench_all.py
	$(BIN)/python benchmarks/bench_speck_compile.py
	$(BIN)/python benchmarks/bench_loihi.py
