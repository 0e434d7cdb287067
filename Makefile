PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install run chat test lint bench chaos clean postgres

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

# The tests start their own PostgreSQL cluster (tests/postgres.py): install the server when no
# pg_ctl is found (on PATH or in /usr/lib/postgresql/*/bin), as root or with sudo.
postgres:
	@if ! command -v pg_ctl >/dev/null 2>&1 && ! ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1; then \
		echo "no pg_ctl: installing Debian's postgresql package"; \
		if [ "$$(id -u)" -eq 0 ]; then sudo=; else sudo=sudo; fi; \
		$$sudo apt-get update -qq && \
		$$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql; \
	fi

test: $(STAMP) postgres
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -q

lint: $(STAMP)
	$(BIN)/ruff check .

# Registration runs on SQLite, PostgreSQL with 1 and 2 processes (a throwaway cluster of its
# own) and the conventional bot: the postgres target installs the server when it is missing.
bench: $(STAMP) postgres
	$(BIN)/python -m bench.registration
	$(BIN)/python -m bench.fund
	$(BIN)/python -m bench.health
	$(BIN)/python -m bench.report
	$(BIN)/python -m bench.reminders --count 2000
	$(BIN)/python -m bench.reminders --national --scale 0.1
	$(BIN)/python -m bench.faults

clean:
	rm -rf $(VENV)

# The chaos suite: the real service under each fault for 30 s, then all at once (~6 min);
# then two and three processes on one PostgreSQL, one SIGKILLed at a time, alone and with the
# platforms' errors and timeouts (~4 min).
chaos: $(STAMP) postgres
	$(BIN)/python -m tests.chaos --seconds 30
	$(BIN)/python -m tests.chaos --seconds 30 --backend postgres --processes 2 \
		--scenario kill_one --scenario combined
	$(BIN)/python -m tests.chaos --seconds 30 --backend postgres --processes 3 \
		--scenario kill_one --scenario combined
