"""The cache's layout in one place: the folder of each kind of cached result under the cache dir, and the recipe
version of each. Bump a recipe when what goes into its results changes, so results an older pyjib cached are not
reused; the values are part of every key, so changing one here is all it takes. A new kind of cached result gets its
folder here, so two kinds never share one by accident."""

from __future__ import annotations

# ---------------------------------------------------------------- folders under the cache dir
BLOBS = "blobs/sha256"  # content-addressed: layers, configs and manifests, built or fetched (cache.BlobCache)
LAYER_RECORDS = "layers"  # which blob each layer recipe made, with its linkage (dependencies.py)
WHEEL_SIZES = "wheel-sizes"  # a wheel's unpacked size, by its hash (layer planning)
RESOLUTIONS = "resolutions"  # a day's resolution of requirements for a target (resolve.py)
INDEX_FILE_URLS = "index-file-urls"  # where an index serves a locked file (locks/indexfiles.py)
FLEET_STORED = "fleet-stored"  # markers: this fleet record is in that repository already (api.py)
BASE_FACTS = "interpreters"  # what a base image holds: its Python, libraries, app folder owner (interpreter.py)
BUILD_ENVS = "build-envs"  # the isolated environments project backends run in (wheelbuild.py)
PROJECT_WHEELS = "project-wheels"  # the project's own wheel, by its files (wheelbuild.py)
BUILT_WHEELS = "built-wheels"  # dependencies' wheels built from sdists, folders and VCS checkouts (sources.py)
BUILD_LOGS = "build-logs"  # the whole output of a failed build, named in its one-line error (buildlog.py)
SCRATCH = "tmp"  # each running build's scratch folder (scratch.py)
WHEELS = "wheels"  # downloaded wheels, by hash (resolve.py)
SDISTS = "sdists"  # downloaded sdists, by hash (resolve.py)
DEBIAN_BASES = "debian-bases"  # the layouts of [tool.pyjib.base] bases (debian/projectbase.py)
DEBIAN_BASE_LAYERS = "debian-base-layers"  # which blob a Debian base's rootfs recipe made (debian/build.py)
DEBIAN_INRELEASE = "debian/inrelease"  # Debian suites' signed release files, kept a short while (debian/archive.py)

# ---------------------------------------------------------------- recipe versions
# 5: small trees' bytecode from one fresh process, none for dependencies' tests/, and gzip in 1 MiB pieces (parallelgzip.py)
LAYER_RECIPE = "layers-5"  # what goes into the environment, dependency, resources and application layers, and their linkage
FLEET_RECIPE = "fleet-3"  # what a fleet cache record depends on and holds
PLAIN_APP_RECIPE = "plain-app-1"  # what goes into an app folder's layers
RESOLUTION_RECIPE = "resolution-3"  # what a cached resolution depends on
BUILD_ENV_RECIPE = "build-env-1"  # how build environments and the project's wheel are made
BUILT_WHEEL_RECIPE = "built-wheel-1"  # how a dependency's wheel is built from source
BASE_FACTS_VERSION = 4  # of a base's facts record; a record of another version is read again from the base
DEBIAN_BASE_RECIPE = "debian-base-3"  # how a Debian base's rootfs is assembled (3: gzip in 1 MiB pieces)
WHEEL_FACTS_RECIPE = "wheel-facts-1"  # what is read from a wheel for the SBOM
WHEEL_FACTS = WHEEL_FACTS_RECIPE  # its folder is named by its recipe: a new version starts an empty one
