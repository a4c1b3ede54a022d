"""A plain Flask endpoint: bench/load.py's baseline, served by gunicorn as the app is."""

from __future__ import annotations

from flask import Flask

app = Flask(__name__)


@app.route("/")
def hello() -> str:
    """Answer a short text, nothing else."""
    return "Hello from plain Flask.\n"
