"""CityLoop: the closed loop of new-type smart city construction.

The public Python API is re-exported here; ``tests/test_public_api.py`` guards these names.
"""

from cityloop._version import __version__
from cityloop.frameworks import Framework, load_framework

__all__ = ["Framework", "__version__", "load_framework"]
