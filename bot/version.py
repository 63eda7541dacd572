from importlib.metadata import PackageNotFoundError, version

try:
    VERSION = version("warroom")
except PackageNotFoundError:  # running from a source tree
    VERSION = "0.1.0"
