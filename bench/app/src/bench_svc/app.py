from __future__ import annotations

import os
import sys

from flask import Flask, jsonify, render_template, request
from pydantic import ValidationError

from .models import ItemIn
from .store import Store

app = Flask(__name__)
store = Store()


@app.get("/")
def index() -> str:
    return render_template("index.html", items=store.all(), python=sys.version.split()[0])


@app.get("/health")
def health() -> object:
    return jsonify(status="ok", uid=os.getuid())


@app.post("/items")
def add_item() -> object:
    try:
        item = store.add(ItemIn.model_validate(request.get_json(force=True)))
    except ValidationError as exc:
        return jsonify(errors=exc.errors(include_url=False)), 422
    return jsonify(item.model_dump()), 201


def main() -> None:
    app.run(host=os.environ.get("HOST", "0.0.0.0"), port=int(os.environ.get("PORT", "8080")))


if __name__ == "__main__":
    main()
