"""Lock files: install exactly what the project pinned (pylock.toml, uv.lock, poetry.lock, pdm.lock, requirements.txt).

find.py says which lock a build honours and its format, read.py turns it into the wheels for the image (one module per
format; poetry.lock and pdm.lock share graph.py's walk), write.py writes what a build installed.
"""
