import os
import sys

from flask import Flask, jsonify, render_template

app = Flask(__name__)


@app.get("/")
def index() -> str:
    return render_template("index.html", greeting=os.environ.get("HELLO_GREETING", "Hi"), python=sys.version.split()[0])


@app.get("/health")
def health() -> object:
    return jsonify(status="ok", uid=os.getuid(), prefix=sys.prefix)


def main() -> None:
    port = int(os.environ.get("PORT", "8080"))
    app.run(host=os.environ.get("HOST", "0.0.0.0"), port=port)


if __name__ == "__main__":
    main()
