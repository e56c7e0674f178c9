from __future__ import annotations

import os

import torch
from flask import Flask, jsonify

app = Flask(__name__)


@app.get("/health")
def health() -> object:
    # A matrix product on the CPU proves torch's native libraries load in the image (no GPU is needed for that).
    product = torch.ones(2, 3) @ torch.ones(3, 2)
    return jsonify(status="ok", uid=os.getuid(), torch=torch.__version__, product=float(product.sum()), cuda=torch.cuda.is_available())


def main() -> None:
    app.run(host=os.environ.get("HOST", "0.0.0.0"), port=int(os.environ.get("PORT", "8080")))


if __name__ == "__main__":
    main()
