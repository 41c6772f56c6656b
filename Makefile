# Permanence — the two set-up commands for a fresh Debian 12 machine (as root):
#   make run    install what is missing, then serve calls on the embedded defaults
#   make test   install what is missing, then run the whole test suite
# Other targets: make bench · make fuzz · make soak · make lint · make clean

SHELL := /bin/bash
VENV := .venv
BIN := $(VENV)/bin
# The controller runs on Python 3.11 (Debian 12's python3 is 3.11).
PYTHON ?= $(shell command -v python3.11 2>/dev/null || command -v python3)
# Debian packages: eSpeak NG (pyttsx3's driver), sox (audio conversion for the emulator),
# python3-venv (Debian splits venv out of python3), shellcheck (the suite lints deploy/install.sh),
# postgresql (the tests start a throwaway PostgreSQL server to run the store suite on it),
# chromium and chromium-driver (the console's tests drive a real headless browser).
SYSTEM_PACKAGES := espeak-ng libespeak-ng1 sox python3-venv shellcheck postgresql chromium chromium-driver

.PHONY: run test bench fuzz soak lint system-deps clean

run: $(VENV)/.installed
	mkdir -p var
	$(BIN)/permanence serve

# The suite includes the real-Rasa integration tests (tests/rasa). rasa-ready (Rasa's
# Python 3.10 venv, both models; cached while nlu/ is unchanged) runs in the background
# while the rest of the suite runs, its output in .rasa/ready.log; then the Rasa tests.
# `make test RASA=no` leaves them out, e.g. on a machine without Python 3.10.
RASA ?= yes
# The test files run side by side, a file per worker (pytest-xdist `--dist loadfile`, so a
# module's calls share its server): the whole-call tests wait on real time, so workers
# beyond the cores pay. Defaults to twice the cores; `make test JOBS=0` runs in one process.
JOBS ?= $(shell echo $$(( $$(nproc) * 2 )))
PYTEST_ALL := $(BIN)/python -m pytest -q -n $(JOBS) --dist loadfile
ifeq ($(RASA),no)
test: $(VENV)/.installed
	PERMANENCE_RASA_TESTS=0 $(PYTEST_ALL)
else
test: rasa-sdk
	@mkdir -p .rasa
	@echo "preparing Rasa in the background (log: .rasa/ready.log)"
	@$(MAKE) --no-print-directory rasa-ready > .rasa/ready.log 2>&1 & ready=$$!; \
	PERMANENCE_RASA_TESTS=0 $(PYTEST_ALL); rc=$$?; \
	if wait $$ready; then tail -n 4 .rasa/ready.log; \
	else cat .rasa/ready.log; echo "make rasa-ready failed: the Rasa tests cannot run" >&2; exit 1; fi; \
	PERMANENCE_RASA_TESTS=1 $(BIN)/python -m pytest -q tests/rasa || rc=1; exit $$rc
endif

bench: $(VENV)/.installed
	$(BIN)/python -m bench

# hesitant callers (p50/p95, premature end-of-turn) and the VADs on line noise (docs/turns.md)
.PHONY: bench-latency bench-vad
bench-latency: $(VENV)/.installed
	$(BIN)/python -m bench.latency
bench-vad: $(VENV)/.installed
	$(BIN)/python -m bench.vad

# Every protocol core on random splits and mutated input (10,000 inputs per codec), then
# the hostile inputs of issue #9 in CPU time; the suite runs a slice (tests/hardening).
fuzz: $(VENV)/.installed
	$(BIN)/python -m bench.fuzz --examples 5000

# 1,000 short calls against a real server: RSS after the first 100 and the last (flat
# within 10 %), and the event-loop stall counter; the suite runs 30 (tests/call/test_call_memory.py).
# Then the slow crash tests (a controller SIGKILLed beside another on PostgreSQL).
soak: $(VENV)/.installed
	$(BIN)/python -m bench.soak --calls 1000
	PERMANENCE_SLOW_TESTS=1 $(BIN)/python -m pytest -q tests/hardening/test_crash_recovery.py

lint: $(VENV)/.installed
	$(BIN)/ruff check agi tests bench
	$(BIN)/mypy agi

system-deps:
	@missing=""; for p in $(SYSTEM_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" != 0 ]; then echo "missing Debian packages:$$missing — run 'apt-get install$$missing' as root" >&2; exit 1; fi; \
	  echo "installing Debian packages:$$missing"; \
	  DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
	fi

$(VENV)/.installed: setup.cfg pyproject.toml | system-deps
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info[:2] >= (3, 11) else "Python 3.11+ is required for the controller (found " + sys.version.split()[0] + ")")'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[test,dev,rasa]'
	# the end-of-turn model file only (agi/speech/turn_model.py); silero-vad: the VAD bench
	$(BIN)/python -m pip install -q --no-deps pipecat-ai==1.14.0 silero-vad==6.2.3
	touch $@

clean:
	rm -rf $(VENV) var build *.egg-info .pytest_cache .mypy_cache .ruff_cache

# Rasa 3.6 in its own Python 3.10 venv, then train nlu/$(RASA_LANG) and serve it in the
# foreground (Ctrl-C stops both servers): make rasa [RASA_LANG=en] — deploy/rasa/README.md
RASA_VENV ?= .rasa-venv
RASA_LANG ?= fr
RASA_PORT ?= 5005
RASA_ACTIONS_PORT ?= 5055
RASA_MODELS ?= models
# Rasa's and TensorFlow's per-user files go here, not into your home (.rasa/ is ignored).
RASA_HOME ?= .rasa/home
RASA_ENV = $(PYTHON) deploy/rasa/rasa_env.py

.PHONY: rasa rasa-ready

# The action server (nlu/actions/) runs with the controller's venv: it imports agi.
rasa: rasa-sdk
	$(RASA_ENV) install --venv $(RASA_VENV)
	$(RASA_ENV) train --venv $(RASA_VENV) --home $(RASA_HOME) nlu/$(RASA_LANG) $(RASA_MODELS)
	$(RASA_ENV) serve --venv $(RASA_VENV) --home $(RASA_HOME) --model $(RASA_MODELS)/permanence-$(RASA_LANG).tar.gz \
	  --port $(RASA_PORT) --actions-port $(RASA_ACTIONS_PORT) --endpoints nlu/$(RASA_LANG)/endpoints.yml \
	  --actions-python $(abspath $(BIN))/python

# Everything the Rasa integration tests need, nothing started: the Rasa venv from the lock,
# rasa-sdk in the controller's venv, both models. Idempotent: install checks the lock's
# hash, training is skipped while nlu/<lang>/ and the venv keep their fingerprint.
# Then: PERMANENCE_RASA_TESTS=1 $(BIN)/python -m pytest tests/rasa
rasa-ready: rasa-sdk
	$(RASA_ENV) install --venv $(RASA_VENV)
	$(RASA_ENV) train --venv $(RASA_VENV) --home $(RASA_HOME) nlu/fr $(RASA_MODELS)
	$(RASA_ENV) train --venv $(RASA_VENV) --home $(RASA_HOME) nlu/en $(RASA_MODELS)

.PHONY: rasa-sdk
rasa-sdk: $(VENV)/.installed
	$(BIN)/python -c 'import rasa_sdk' 2>/dev/null || $(BIN)/python -m pip install -q -e '.[rasa]'
