"""The test suite: shared fixtures live in ``conftest.py``, shared helpers in the modules here not named ``test_*``."""

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
"""The repository's root folder (where ``app.py`` is)."""
BAD_DIR = ROOT / "tests" / "data" / "bad"
"""Files a person might pick by mistake, one per problem the loader must explain (tests/test_data_load.py)."""
