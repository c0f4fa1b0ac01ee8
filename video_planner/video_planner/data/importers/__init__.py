"""Bring demonstrations from other sources into the project's episode format.

- ``rosbag``: rosbag2 / ROS 1 bags read with ``rosbags`` (the recorder node's streams, or any robot's)
- ``lerobot``: LeRobot v2 dataset folders (parquet + mp4)

A YAML mapping (``mapping.py``; config/import_*.yaml) says which topic or column is which stream.
``cli.py`` is the ``video-planner import`` command. Nothing here needs rclpy.
"""
