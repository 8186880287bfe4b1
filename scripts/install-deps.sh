#!/usr/bin/env bash
# Installs the system packages the tests need, only when missing.
#   install-deps.sh browser   Chromium for the browser tests
#   install-deps.sh heif      libheif for HEIC input (loaded at run time by crates/heic)
set -euo pipefail
need=()
for what in "$@"; do
  case "$what" in
    browser)
      command -v chromium >/dev/null || need+=(chromium)
      command -v python3 >/dev/null || need+=(python3) ;;
    heif)
      ldconfig -p | grep -q 'libheif\.so\.1 ' || need+=(libheif1)
      # Debian 13 moved the HEVC decoder into a plugin package (bookworm builds it in).
      if apt-cache show libheif-plugin-libde265 >/dev/null 2>&1 && ! dpkg -s libheif-plugin-libde265 >/dev/null 2>&1; then
        need+=(libheif-plugin-libde265)
      fi ;;
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
