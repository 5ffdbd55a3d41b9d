#!/usr/bin/env bash
# `bentoml containerize` runs this as root once the Python packages are installed and before the
# Bento's files are copied in (bentofile.yaml: docker.setup_script). It creates, owned by the
# service's user, the directories a container writes to, so that fresh named volumes mounted
# there start writable:
#   $BENTO_PATH/src/state                  the SQLite store (the default store)
#   ~bentoml/.cache/smart-support          the ONNX dedup encoder, exported on first start
#                                          (offline, from the installed packages)
set -euo pipefail
user="${BENTO_USER:-bentoml}"
home="$(getent passwd "$user" | cut -d: -f6)"
cache="${SMART_SUPPORT_CACHE:-$home/.cache/smart-support}"
state="${BENTO_PATH:-/home/bentoml/bento}/src/state"
mkdir -p "$state" "$cache"
chown -R "$user:$user" "$state" "$cache"
