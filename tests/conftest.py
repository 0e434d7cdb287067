import pytest

from tests.harness import telegram_harness, text_harness, zalo_harness

HARNESSES = {"text": text_harness, "telegram": telegram_harness, "zalo": zalo_harness}


@pytest.fixture(params=sorted(HARNESSES))
async def chat(request, tmp_path):
    """The bot on every channel: a transcript written once runs on each."""
    async with HARNESSES[request.param](tmp_path) as harness:
        yield harness


@pytest.fixture
async def text_chat(tmp_path):
    async with text_harness(tmp_path) as harness:
        yield harness


@pytest.fixture
async def zalo_chat(tmp_path):
    async with zalo_harness(tmp_path) as harness:
        yield harness


@pytest.fixture
async def telegram_chat(tmp_path):
    async with telegram_harness(tmp_path) as harness:
        yield harness


def pytest_addoption(parser):
    parser.addoption(
        "--update-golden",
        action="store_true",
        default=False,
        help="rewrite tests/transcripts/*.txt from this run instead of comparing them",
    )
