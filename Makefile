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

test-slow: $(STAMP)
	$(PY) -m pytest ember tests -m slow

bench: $(STAMP)
	$(PY) -m bench

clean:
	rm -rf .venv build *.egg-info
