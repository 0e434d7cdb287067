import pytest

from tests.harness import text_harness


@pytest.fixture
async def chat(tmp_path):
    async with text_harness(tmp_path) as harness:
        yield harness
