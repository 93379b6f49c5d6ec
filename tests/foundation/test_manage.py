"""manage.py: no garbage collection while Django starts, as usual once the command runs."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_a_command_runs_with_the_collector_on_and_start_up_frozen(tmp_path: Path) -> None:
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}", "DESK_VAR_DIR": str(tmp_path)}
    script = "import gc; print(gc.isenabled(), gc.get_freeze_count() > 50_000, gc.get_threshold()[0])"
    result = subprocess.run([sys.executable, "manage.py", "shell", "--no-startup", "--no-imports", "-c", script],
                            cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, check=True)
    # On (a long command, runserver, must collect), with what start-up built frozen, thresholds as usual.
    assert result.stdout.split()[-3:] == ["True", "True", "700"]
