from __future__ import annotations

import os

import numpy as np
import pandas as pd
import pyarrow as pa
from flask import Flask, jsonify
from scipy import stats

app = Flask(__name__)


def summary() -> dict[str, float]:
    """A small round trip through every library, so /health proves their native code loads in the image."""
    frame = pd.DataFrame({"x": np.arange(10, dtype=np.float64)})
    table = pa.Table.from_pandas(frame)
    back = table.to_pandas()
    return {"mean": float(back["x"].mean()), "sem": float(stats.sem(back["x"]))}


@app.get("/health")
def health() -> object:
    return jsonify(
        status="ok", uid=os.getuid(), summary=summary(),
        versions={"numpy": np.__version__, "pandas": pd.__version__, "pyarrow": pa.__version__},
    )


def main() -> None:
    app.run(host=os.environ.get("HOST", "0.0.0.0"), port=int(os.environ.get("PORT", "8080")))


if __name__ == "__main__":
    main()
