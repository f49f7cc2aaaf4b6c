# Quick start: `make run` (Telegram bot with TELEGRAM_BOT_TOKEN, else the terminal chat)
# and `make test`.
# Each target installs what it needs into .venv first (scripts/install.sh, idempotent).
.PHONY: install run chat test test-slow lint eval index bench image-check clean

VENV_BIN := .venv/bin

install:
	@scripts/install.sh

run: install
	@$(VENV_BIN)/calfcoach run

chat: install
	@$(VENV_BIN)/calfcoach chat

test: install
	$(VENV_BIN)/ruff check .
	$(VENV_BIN)/python -m pytest -q

test-slow: install
	$(VENV_BIN)/python -m pytest -q -m slow

lint: install
	$(VENV_BIN)/ruff check .
	$(VENV_BIN)/ruff format --check .

eval: install
	$(VENV_BIN)/calfcoach eval

index: install
	$(VENV_BIN)/calfcoach index build

bench: install
	$(VENV_BIN)/calfcoach bench

# Build the container image and run it, alone and as the compose stack (README, Docker).
image-check: install
	@scripts/image-check.sh

clean:
	rm -rf var .pytest_cache .ruff_cache
