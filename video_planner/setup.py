import os
from glob import glob

from setuptools import find_packages, setup

package_name = 'video_planner'


def files(pattern):
    return [f for f in glob(pattern) if os.path.isfile(f)]


setup(
    name=package_name,
    version='0.1.0',
    packages=find_packages(exclude=['test']),
    data_files=[
        ('share/ament_index/resource_index/packages', ['resource/' + package_name]),
        ('share/' + package_name, ['package.xml']),
        ('share/' + package_name + '/launch', files('launch/*.launch.py')),
        ('share/' + package_name + '/config', files('config/*')),
        ('share/' + package_name + '/config/arms', files('config/arms/*')),
        ('share/' + package_name + '/models', files('models/*')),
    ],
    install_requires=['setuptools'],
    extras_require={'test': ['pytest']},
    zip_safe=True,
    maintainer='video_planner maintainers',
    maintainer_email='maintainers@video-planner.dev',
    description='Language-conditioned video planning for robot manipulation, with SE(3) and joint commands.',
    license='Apache-2.0',
    entry_points={
        'console_scripts': [
            'video-planner = video_planner.cli:main',
            'planner_node = video_planner.ros.planner_node:main',
            'inverse_dynamics_node = video_planner.ros.inverse_dynamics_node:main',
            'sim_robot_node = video_planner.ros.sim_robot_node:main',
            'replay_node = video_planner.ros.replay_node:main',
            'recorder_node = video_planner.ros.recorder_node:main',
        ],
    },
)
