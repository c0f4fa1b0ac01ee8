"""The one exception type the core raises at its edges, with messages an operator can act on."""


class VideoPlannerError(Exception):
    """Bad input or configuration: the message names the field/parameter and what was expected."""


class ConfigError(VideoPlannerError):
    """A configuration file or ROS parameter failed validation."""


class ImageConversionError(VideoPlannerError):
    """A sensor_msgs/Image (or CameraInfo) could not be turned into an array."""


class KinematicsError(VideoPlannerError):
    """A URDF could not be loaded, or a frame/joint named in the request does not exist."""


class PlanningError(VideoPlannerError):
    """A plan could not be produced or failed a safety gate."""
