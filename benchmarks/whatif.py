"""Benchmark: the what-if re-weighting of a stored run (`POST /api/runs/{id}/whatif`), the
service call and the HTTP round trip, on the demo province's 320 synthetic cities.

Run: .venv/bin/python benchmarks/whatif.py [--cities 320] [--repeat 50]
Figures go to docs/benchmarks.md by hand (target from issue 4: well under 100 ms).
"""

from __future__ import annotations

import argparse
import re
import statistics
import tempfile
import time
from pathlib import Path

from fastapi.testclient import TestClient

from cityloop.services import runs, users, whatif
from cityloop.services.store import load_demo
from cityloop.store import Settings
from cityloop.web.app import create_app

PASSWORD = "benchmark-password-1"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cities", type=int, default=320)
    parser.add_argument("--repeat", type=int, default=50)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        app = create_app(Settings(database_url=f"sqlite:///{Path(folder) / 'w.db'}",
                                  data_dir=Path(folder)))  # fmt: skip
        db = app.state.db
        db.upgrade()
        load_demo(db, n_cities=args.cities, seed=7, user="bench")
        run_id = runs.evaluate_stored(db, actor="bench")[0]
        users.add_user(db, "bench", PASSWORD, "administrator", None, None, actor="bench")
        whatif.whatif(db, run_id)  # the run's matrix is read once, then cached
        service = []
        for k in range(args.repeat):
            began = time.perf_counter()
            result = whatif.whatif(db, run_id, {"L2": 1.0 + k})
            service.append(time.perf_counter() - began)
        with TestClient(app) as client:
            login = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").text)
            assert login is not None
            form = {"username": "bench", "password": PASSWORD, "csrf_token": login.group(1)}
            assert client.post("/login", data=form, follow_redirects=False).status_code == 303
            token = client.get("/api/me").json()["csrf_token"]
            client.headers["X-CSRF-Token"] = token
            url = f"/api/runs/{run_id}/whatif"
            assert client.post(url, json={}).status_code == 200
            http = []
            for k in range(args.repeat):
                began = time.perf_counter()
                assert client.post(url, json={"weights": {"L2": 1 + k}}).status_code == 200
                http.append(time.perf_counter() - began)
    print(f"{result.ranked} units re-ranked; {args.repeat} calls each")
    for label, times in (("service whatif()", service), ("POST /api/runs/{id}/whatif", http)):
        ms = sorted(t * 1000 for t in times)
        print(
            f"| {label} | {statistics.median(ms):.1f} ms | {ms[int(0.95 * len(ms)) - 1]:.1f} ms |"
        )


if __name__ == "__main__":
    main()
