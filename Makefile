PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install run chat test lint bench chaos clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(BIN)/python -m bot run

# The terminal chat on the demo club, in its own database, even when tokens are set.
DEMO_DB ?= data/demo.sqlite3
chat: $(STAMP)
	mkdir -p $(dir $(DEMO_DB))
	TELEGRAM_BOT_TOKEN= ZALO_BOT_TOKEN= ISHC_DB=$(DEMO_DB) $(BIN)/python -m bot run

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -q

lint: $(STAMP)
	$(BIN)/ruff check .

bench: $(STAMP)
	$(BIN)/python -m bench.registration
	$(BIN)/python -m bench.fund
	$(BIN)/python -m bench.health
	$(BIN)/python -m bench.report
	$(BIN)/python -m bench.reminders --count 2000
	$(BIN)/python -m bench.faults

clean:
	rm -rf $(VENV)

# The chaos suite: the real service under each fault for 30 s, then all at once (~6 min).
chaos: $(STAMP)
	$(BIN)/python -m tests.chaos --seconds 30
