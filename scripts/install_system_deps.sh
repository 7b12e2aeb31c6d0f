#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 jepa_ros contributors
# Headless MuJoCo rendering needs Mesa (EGL, with OSMesa as fallback). Install the Debian packages
# when they are missing; everything else jepa_ros needs comes from PyPI into .venv.
set -euo pipefail
have() { ldconfig -p | grep -q "$1"; }
missing=()
have 'libEGL.so.1' || missing+=(libegl1)
have 'libEGL_mesa.so.0' || missing+=(libegl-mesa0)
have 'libGL.so.1' || missing+=(libgl1)
have 'libOSMesa.so' || missing+=(libosmesa6)
ls /usr/lib/x86_64-linux-gnu/dri/swrast_dri.so /usr/lib/*/dri/*swrast* >/dev/null 2>&1 \
  || missing+=(libgl1-mesa-dri)
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
echo "Installing Mesa for headless rendering: ${missing[*]}"
if [ "$(id -u)" -ne 0 ]; then
  echo "Not root: please run 'sudo apt-get install ${missing[*]}' and retry." >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}"
