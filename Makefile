# Quick start: `make demo` and `make test`. Each bootstraps .venv on a fresh machine.
PY := .venv/bin/python
STAMP := .venv/.installed

.PHONY: demo test test-slow bench clean

$(STAMP): pyproject.toml
	test -x $(PY) || python3 -m venv .venv
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev,viz]'
	touch $(STAMP)

demo: $(STAMP)
	$(PY) -m ember demo

test: $(STAMP)
	$(PY) -m pytest ember tests -m "not slow"
	@echo "== the op, layer and optimizer tests again on 'cuda', CuPy's CPU stand-in (tests/fakecupy.py)"
	EMBER_FAKE_CUPY=1 EMBER_TEST_DEVICE=cuda $(PY) -m pytest tests/ops tests/nn tests/optim tests/test_amp.py tests/test_cuda_io.py \
	    -o addopts='-q -p no:cacheprovider'

test-slow: $(STAMP)
	$(PY) -m pytest ember tests -m slow

bench: $(STAMP)
	$(PY) -m bench

clean:
	rm -rf .venv build *.egg-info
