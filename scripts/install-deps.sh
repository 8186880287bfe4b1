#!/usr/bin/env bash
# Installs the system packages the tests need, only when missing.
#   install-deps.sh browser   Chromium for the browser tests
#   install-deps.sh heif      libheif for HEIC input (cargo feature `heif`)
set -euo pipefail
need=()
for what in "$@"; do
  case "$what" in
    browser)
      command -v chromium >/dev/null || need+=(chromium)
      command -v python3 >/dev/null || need+=(python3) ;;
    heif) pkg-config --exists libheif 2>/dev/null || need+=(libheif-dev pkg-config) ;;
    *) echo "install-deps: unknown group $what" >&2; exit 2 ;;
  esac
done
command -v openssl >/dev/null || need+=(openssl)
command -v curl >/dev/null || need+=(curl)
if [ ${#need[@]} -gt 0 ]; then
  echo "installing: ${need[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
