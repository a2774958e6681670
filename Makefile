# Quick start: `make demo` and `make test`. Each bootstraps .venv on a fresh machine.
PY := .venv/bin/python
STAMP := .venv/.installed

NVRTC_PY := .venv-nvrtc/bin/python
NVRTC_STAMP := .venv-nvrtc/.installed

.PHONY: demo test lint docs test-slow test-matrix test-random test-machine test-pythons bench \
	check-kernels clean

# the exact versions the suite passed with: constraints.txt (README: how to move them)
$(STAMP): pyproject.toml constraints.txt
	test -x $(PY) || python3 -m venv .venv
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -c constraints.txt -e '.[dev,viz,distributed]'
	touch $(STAMP)

# CuPy and NVRTC without a GPU, apart from .venv: the tests' CuPy is the stand-in
$(NVRTC_STAMP): Makefile
	test -x $(NVRTC_PY) || python3 -m venv .venv-nvrtc
	$(NVRTC_PY) -m pip install -q cupy-cuda13x==14.2.0 'nvidia-cuda-nvrtc==13.*' \
	    'nvidia-cuda-runtime==13.*'
	touch $(NVRTC_STAMP)

demo: $(STAMP)
	$(PY) -m ember demo

# docs/testing.md: the tolerance policy, the matrix, and what each target runs
test: $(STAMP)
	@echo "== lint: ruff over the tree, mypy over the public API (ruff.toml, mypy.ini)"
	$(MAKE) --no-print-directory lint
	$(PY) -m pytest ember tests -m "not slow and not machine"
	@echo "== the op, layer and optimizer tests again on 'cuda', CuPy's CPU stand-in (tests/fakecupy.py)"
	EMBER_FAKE_CUPY=1 EMBER_TEST_DEVICE=cuda $(PY) -m pytest tests/ops tests/nn tests/optim tests/test_amp.py tests/test_cuda_io.py tests/test_cuda_kernels.py tests/test_properties.py tests/test_compile_cuda.py \
	    tests/test_sparse.py tests/test_distributions.py::test_on_the_test_device tests/test_fft.py tests/test_complex.py \
	    -o addopts='-q -p no:cacheprovider'
	@echo "== ember's CUDA kernels compiled by NVRTC (no GPU needed: tools/check_kernels.py)"
	$(MAKE) --no-print-directory check-kernels

lint: $(STAMP)
	$(PY) -m ruff check .
	$(PY) -m mypy

check-kernels: $(NVRTC_STAMP)
	$(NVRTC_PY) tools/check_kernels.py > .venv-nvrtc/check.log 2>&1 || { cat .venv-nvrtc/check.log; exit 1; }
	@tail -n 1 .venv-nvrtc/check.log

test-slow: $(STAMP)
	$(PY) -m pytest ember tests -m slow

# the main pass under each OpenBLAS kernel type x EMBER_MKL=0/1 x 1/2 threads, random order
test-matrix: $(STAMP)
	$(PY) tools/test_matrix.py

# the main pass in a random order (seed printed), Hypothesis drawing new and more examples
test-random: $(STAMP)
	@seed=$${SEED:-$$($(PY) -c 'import random; print(random.randrange(10**6))')}; \
	echo "== random order, seed $$seed (replay: make test-random SEED=$$seed)"; \
	HYPOTHESIS_PROFILE=random $(PY) -m pytest ember tests -m "not slow and not machine" \
	    -p random_order --random-order-bucket=global --random-order-seed=$$seed

# checks of the machine rather than of ember (page faults): not part of `make test`
test-machine: $(STAMP)
	$(PY) -m pytest tests -m machine

bench: $(STAMP)
	$(PY) -m bench

# the site (guides, notes, API pages from the docstrings: tools/api_pages.py) into build/site;
# mkdocs.yml is strict: a broken link, anchor or docstring reference fails it
docs: $(STAMP)
	$(PY) -m mkdocs build

# ember under every python3.X on PATH, each in .venv-py3.X (no torch): install, import,
# demos, doctests
test-pythons:
	python3 tools/test_pythons.py

clean:
	rm -rf .venv .venv-nvrtc .venv-py3.* build *.egg-info
