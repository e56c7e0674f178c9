from __future__ import annotations

import os

import tensorflow as tf
from flask import Flask, jsonify

app = Flask(__name__)


@app.get("/health")
def health() -> object:
    # A matrix product proves TensorFlow's native libraries load in the image.
    product = tf.linalg.matmul(tf.ones((2, 3)), tf.ones((3, 2)))
    return jsonify(status="ok", uid=os.getuid(), tensorflow=tf.__version__, product=float(tf.reduce_sum(product)))


def main() -> None:
    app.run(host=os.environ.get("HOST", "0.0.0.0"), port=int(os.environ.get("PORT", "8080")))


if __name__ == "__main__":
    main()
