"""The README's configuration table and gisdb/settings.py name the same GISDB_* variables,
both ways: a setting nobody can find is as bad as a documented one that is never read."""
from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NAME = re.compile(r"GISDB_[A-Z0-9_]+")


def read_in_settings() -> set[str]:
    """Every GISDB_* name gisdb/settings.py reads from the environment."""
    return set(NAME.findall((ROOT / "gisdb" / "settings.py").read_text(encoding="utf-8")))


def documented(readme: str) -> set[str]:
    """The GISDB_* names in the first column of the README's configuration table."""
    section = readme.split("## Configuration", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("|")]
    return {name for row in rows for name in NAME.findall(row.split("|")[1])}


def test_every_setting_read_is_in_the_readme_table():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    read, table = read_in_settings(), documented(readme)
    assert len(read) >= 10 and len(table) >= 10             # both sides were found
    assert not read - table, f"read in gisdb/settings.py, not in the README table: {read - table}"
    assert not table - read, f"in the README table, never read by gisdb/settings.py: {table - read}"


def test_the_table_reader_sees_a_missing_row():
    """The check itself notices a row that is not there, and ignores prose mentions."""
    readme = ("intro GISDB_PROSE\n## Configuration\n| variable | default |\n|---|---|\n"
              "| `GISDB_A`, `GISDB_B` | 1 |\nsee GISDB_TEXT\n## Next\n| `GISDB_LATER` | x |\n")
    assert documented(readme) == {"GISDB_A", "GISDB_B"}
