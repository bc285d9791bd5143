from .base import Quality, Restorer, from_float_rgb, to_float_rgb
from .registry import create_restorer, default_restorer_name, restorer_names

__all__ = ["Quality", "Restorer", "create_restorer", "default_restorer_name", "restorer_names",
           "from_float_rgb", "to_float_rgb"]
