"""The import path the rest of warroom uses for Kubernetes work; the code lives in bot.kube."""

from bot.kube import *  # noqa: F403
from bot.kube import __all__  # noqa: F401
