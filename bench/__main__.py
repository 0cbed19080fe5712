"""`make bench`: run the benchmarks and record their results under bench/results/.

    python -m bench            # every benchmark
    python -m bench lineage    # only the named ones

Each benchmark is a module ``bench/bench_<name>.py`` with ``run() -> dict``;
its result is written to ``bench/results/<name>.json`` with the machine it ran on.
"""

from __future__ import annotations

import importlib
import json
import os
import platform
import sys
import time
from pathlib import Path

import psycopg

RESULTS = Path(__file__).resolve().parent / "results"


def _ensure_database() -> None:
    from django.conf import settings

    db = settings.DATABASES["default"]
    params = {
        "dbname": "postgres",
        "user": db["USER"],
        "password": db["PASSWORD"] or None,
        "host": db["HOST"] or db.get("OPTIONS", {}).get("host"),
        "port": db["PORT"] or None,
        "autocommit": True,
    }
    with psycopg.connect(**{k: v for k, v in params.items() if v is not None}) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [db["NAME"]]).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{db["NAME"]}"')


def main(names: list[str]) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")
    import django
    from django.conf import settings

    settings.DATABASES  # noqa: B018  (starts the embedded servers when needed)
    _ensure_database()
    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    available = sorted(path.stem.removeprefix("bench_") for path in Path(__file__).parent.glob("bench_*.py"))
    RESULTS.mkdir(exist_ok=True)
    for name in names or available:
        if name not in available:
            sys.exit(f"unknown benchmark {name!r}; known: {', '.join(available)}")
        print(f"== {name}", flush=True)
        started = time.time()
        result = importlib.import_module(f"bench.bench_{name}").run()
        record = {
            "benchmark": name,
            "recorded_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "wall_seconds": round(time.time() - started, 1),
            "machine": {"python": platform.python_version(), "cpus": os.cpu_count(), "platform": platform.platform()},
            "result": result,
        }
        (RESULTS / f"{name}.json").write_text(json.dumps(record, indent=2) + "\n")
        print(json.dumps(result, indent=2), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
