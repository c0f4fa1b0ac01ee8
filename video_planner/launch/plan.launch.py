"""Video planning on a robot: planner_node + inverse_dynamics_node, and the simulated robot by default.

    ros2 launch video_planner plan.launch.py                          # simulator, nothing executed
    ros2 launch video_planner plan.launch.py execute:=true arm:=ur5   # simulator, commands executed
    ros2 launch video_planner plan.launch.py sim_command_input:=follow_joint_trajectory  # sim as ros2_control
    ros2 launch video_planner plan.launch.py arm:=/path/my_arm.yaml   # simulator, your arm (URDF + YAML)
    ros2 launch video_planner plan.launch.py use_sim:=false urdf_path:=/path/arm.urdf \
        image_topic:=/camera/color/image_raw depth_topic:=/camera/aligned_depth_to_color/image_raw \
        camera_info_topic:=/camera/color/camera_info

Parameters come from config/{planner,inverse_dynamics,sim_robot}.yaml in the package share directory;
the launch arguments override the few that change per robot.
"""
import os
import tempfile

from ament_index_python.packages import get_package_share_directory
from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument, OpaqueFunction
from launch.conditions import IfCondition
from launch.substitutions import LaunchConfiguration
from launch_ros.actions import Node
from launch_ros.parameter_descriptions import ParameterValue

PACKAGE = 'video_planner'

ARGUMENTS = {
    # name: (default, description)
    'use_sim': ('true', 'start sim_robot_node: the simulated arm + camera (no hardware needed)'),
    'arm': ('panda', 'simulator arm: a registered name or an arm YAML path (its URDF is used when urdf_path is '
                     'empty)'),
    'urdf_path': ('', 'URDF of the real arm (takes precedence over arm)'),
    'task': ('', 'simulator task family ("" = any)'),
    'seed': ('0', 'simulator task seed'),
    'sim_command_input': ('ee_command', 'what drives the simulated arm: ee_command | joint_trajectory | '
                          'follow_joint_trajectory (the control_msgs action; needs control_msgs)'),
    'follow_joint_trajectory_action': ('/arm_controller/follow_joint_trajectory',
                                       'the FollowJointTrajectory action: served by the simulated arm, '
                                       'called by inverse_dynamics_node with command_interface '
                                       'follow_joint_trajectory'),
    'image_topic': ('camera/image_raw', 'colour camera topic (sensor_msgs/Image)'),
    'depth_topic': ('camera/depth/image_raw', 'depth topic (32FC1 metres or 16UC1 mm); "" when there is none'),
    'camera_info_topic': ('camera/camera_info', 'sensor_msgs/CameraInfo of the colour camera'),
    'checkpoint': ('', 'video model checkpoint ("" = the shipped canonical.pt with an arm, which plans with the '
                       'arm painted out; default.pt with only urdf_path; a bare name = a shipped model)'),
    'idm_checkpoint': ('', 'learned inverse-dynamics checkpoint, in the video model\'s view ("" = the shipped '
                           'one of that view; a bare name = a shipped model)'),
    'execute': ('false', 'let inverse_dynamics_node send commands to the robot'),
    'command_interface': ('topics', 'how inverse_dynamics_node sends commands: topics | follow_joint_trajectory '
                          '(the controller at follow_joint_trajectory_action; needs control_msgs)'),
    'rviz': ('false', 'start RViz with config/plan.rviz, its fixed frame set to the arm base frame'),
}


def _config(name: str) -> str:
    return os.path.join(get_package_share_directory(PACKAGE), 'config', name)


def _arg(name: str, value_type=str) -> ParameterValue:
    return ParameterValue(LaunchConfiguration(name), value_type=value_type)


def generate_launch_description() -> LaunchDescription:
    arguments = [DeclareLaunchArgument(name, default_value=default, description=description)
                 for name, (default, description) in ARGUMENTS.items()]
    robot = {'arm': _arg('arm'), 'urdf_path': _arg('urdf_path')}
    camera = {'image_topic': _arg('image_topic'), 'depth_topic': _arg('depth_topic'),
              'camera_info_topic': _arg('camera_info_topic')}
    sim = Node(package=PACKAGE, executable='sim_robot_node', name='sim_robot_node', output='screen',
               condition=IfCondition(LaunchConfiguration('use_sim')),
               parameters=[_config('sim_robot.yaml'),
                           {'arm': _arg('arm'), 'task': _arg('task'), 'seed': _arg('seed', int),
                            'command_input': _arg('sim_command_input'),
                            'follow_joint_trajectory_action': _arg('follow_joint_trajectory_action')}])
    planner = Node(package=PACKAGE, executable='planner_node', name='planner_node', output='screen',
                   parameters=[_config('planner.yaml'), robot, camera, {'checkpoint': _arg('checkpoint'),
                                                                         'idm_checkpoint': _arg('idm_checkpoint')}])
    inverse_dynamics = Node(package=PACKAGE, executable='inverse_dynamics_node', name='inverse_dynamics_node',
                            output='screen',
                            parameters=[_config('inverse_dynamics.yaml'), robot, camera,
                                        {'execute_enabled': _arg('execute', bool),
                                         'idm_checkpoint': _arg('idm_checkpoint'),
                                         'command_interface': _arg('command_interface'),
                                         'follow_joint_trajectory_action': _arg('follow_joint_trajectory_action')}])
    return LaunchDescription(arguments + [sim, planner, inverse_dynamics,
                                          OpaqueFunction(function=_visualisation,
                                                         condition=IfCondition(LaunchConfiguration('rviz')))])


def _visualisation(context):
    """RViz with config/plan.rviz whose fixed frame is this arm's base frame (known only once the
    arguments are resolved), and, for the simulator, robot_state_publisher so that RobotModel has the
    link transforms (a real robot's driver stack runs its own)."""
    from video_planner.ros.rviz_config import arm_base_frame, write_rviz_config

    arm, urdf_path = LaunchConfiguration('arm').perform(context), LaunchConfiguration('urdf_path').perform(context)
    config = write_rviz_config(arm_base_frame(arm, urdf_path),
                               os.path.join(tempfile.mkdtemp(prefix='video_planner_rviz_'), 'plan.rviz'),
                               template=_config('plan.rviz'))
    nodes = [Node(package='rviz2', executable='rviz2', name='rviz2', output='screen', arguments=['-d', str(config)])]
    if LaunchConfiguration('use_sim').perform(context).lower() in ('true', '1') and not urdf_path:
        from video_planner.ros.robot_description import with_file_uris
        from video_planner.sim.arms import get_arm
        urdf = with_file_uris(get_arm(arm).urdf_path.read_text())
        nodes.append(Node(package='robot_state_publisher', executable='robot_state_publisher',
                          name='robot_state_publisher', output='screen', parameters=[{'robot_description': urdf}]))
    return nodes
