#!/bin/sh
# scripts/venv.sh DIR PACKAGE...: a Python venv at DIR with PACKAGEs from PyPI, made only when
# DIR/.ok is missing (so `make` re-runs are free). Used for cargo-zigbuild/ziglang and certbot.
set -eu
dir=$1; shift
[ -f "$dir/.ok" ] && exit 0
echo "creating $dir with: $*"
rm -rf "$dir"
if ! python3 -m venv "$dir" 2>/dev/null; then
  # Debian's python3 needs python3-venv for `-m venv`.
  "$(dirname "$0")/apt-install.sh" python3-venv
  rm -rf "$dir"; python3 -m venv "$dir"
fi
"$dir/bin/pip" install -q --disable-pip-version-check "$@"
touch "$dir/.ok"
