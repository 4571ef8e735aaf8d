"""`ledger/` is the pure domain: it imports no web, SQL, clock, randomness, OS or network
library, and never asks the clock for the time (DESIGN.md section 5, "Rules of the house")."""

import ast
import subprocess
import sys
from pathlib import Path

import pytest

LEDGER = Path(__file__).resolve().parent.parent / "ledger"
FORBIDDEN_IMPORTS = frozenset({
    "fastapi", "starlette", "sqlmodel", "sqlalchemy", "psycopg", "psycopg2", "httpx", "alembic",
    "uvicorn", "pydantic", "sqlite3", "time", "random", "secrets", "uuid", "os", "socket",
    "subprocess", "requests", "urllib", "http", "asyncio", "importlib", "store", "api",
})  # fmt: skip
CLOCK_CALLS = frozenset({"now", "today", "utcnow"})
DYNAMIC_IMPORTS = frozenset({"__import__", "import_module"})


def problems_in(source: str) -> list[str]:
    """Every forbidden import, clock reading or dynamic import in `source`."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            names = [node.module or ""] if node.level == 0 else []
        else:
            names = []
        found += [f"line {node.lineno}: imports {n}" for n in names if n.split(".")[0] in FORBIDDEN_IMPORTS]
        if isinstance(node, ast.Call):
            callee = node.func
            name = callee.attr if isinstance(callee, ast.Attribute) else getattr(callee, "id", None)
            if name in CLOCK_CALLS:
                found.append(f"line {node.lineno}: reads the clock with {name}()")
            if name in DYNAMIC_IMPORTS:
                found.append(f"line {node.lineno}: imports dynamically with {name}()")
    return found


def ledger_files() -> list[Path]:
    return sorted(LEDGER.glob("*.py"))


def test_the_ledger_package_is_where_we_look():
    names = {path.name for path in ledger_files()}
    assert {"__init__.py", "money.py", "accounts.py", "calendar.py", "audit.py", "reports.py"} <= names


@pytest.mark.parametrize("path", ledger_files(), ids=lambda p: p.name)
def test_ledger_module_is_pure(path):
    assert problems_in(path.read_text(encoding="utf-8")) == []


@pytest.mark.parametrize(
    "source",
    [
        "import os",
        "import os.path",
        "import random as chance",
        "import time",
        "from time import monotonic",
        "from sqlalchemy import select",
        "from sqlalchemy.orm import Session",
        "import sqlmodel",
        "from fastapi import FastAPI",
        "import starlette.requests",
        "import psycopg",
        "import httpx",
        "import alembic.op",
        "import uvicorn",
        "import secrets",
        "from uuid import uuid4",
        "import socket",
        "from store import journal",
        "from datetime import datetime\nstamp = datetime.now()",
        "import datetime\nstamp = datetime.datetime.now(datetime.UTC)",
        "from datetime import date\nday = date.today()",
        "from datetime import datetime\nstamp = datetime.utcnow()",
        "def f(clock):\n    return clock.now()",
        "mod = __import__('os')",
        "import importlib",
    ],
)
def test_the_checker_catches_impurity(source):
    assert problems_in(source), source


@pytest.mark.parametrize(
    "source",
    [
        "from datetime import date, datetime, timedelta",
        "import datetime\nday = datetime.date(2024, 1, 1)",
        "from decimal import Decimal",
        "import hashlib, json, re",
        "from ledger.money import parse_amount",
        "from . import money",
        "from dateutil.relativedelta import relativedelta",
        "from collections.abc import Mapping",
        "import calendar\nlast = calendar.monthrange(2024, 2)[1]",
        "stamps = {'now': 1}\nnow = stamps['now']",
    ],
)
def test_the_checker_lets_pure_code_through(source):
    assert problems_in(source) == []


def test_importing_the_ledger_loads_no_web_sql_or_randomness():
    """The whole import graph, not just the import lines: `ledger` must not pull these in
    through another module."""
    watched = ["fastapi", "starlette", "sqlmodel", "sqlalchemy", "psycopg", "httpx", "alembic",
               "uvicorn", "pydantic", "random", "secrets", "uuid", "socket", "store", "api"]  # fmt: skip
    modules = [f"ledger.{path.stem}" for path in ledger_files() if path.stem != "__init__"]
    program = (
        "import importlib, sys\n"
        f"sys.path.insert(0, {str(LEDGER.parent)!r})\n"
        f"for name in {modules!r}:\n"
        "    importlib.import_module(name)\n"
        f"print(sorted(m for m in {watched!r} if m in sys.modules))\n"
    )
    done = subprocess.run([sys.executable, "-I", "-c", program], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]", done.stdout + done.stderr
