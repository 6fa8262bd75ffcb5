#!/bin/sh
# scripts/apt-install.sh PACKAGE...: install Debian packages, as root or through sudo (the one
# place the Makefile and scripts/venv.sh install what cargo does not bring).
set -eu
echo "installing $* (Debian packages)"
if [ "$(id -u)" = 0 ]; then sudo=""; else sudo=sudo; fi
$sudo apt-get update -qq
# Through env: `sudo` drops the caller's DEBIAN_FRONTEND.
$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@"
