#!/usr/bin/env bash
# Installs the system packages the tests need, only when missing.
#   install-deps.sh browser   Chromium for the browser tests
#   install-deps.sh heif      libheif for HEIC input (loaded at run time by crates/heic)
#   install-deps.sh s3        s3s-fs, a real S3 server (SigV4-checked) for storage and fleet tests
#   install-deps.sh proxy     HAProxy, the reverse proxy scripts/fleet.sh puts before `serve`
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
    s3)
      # 0.14.1: the newest that builds on this toolchain (0.17 needs rustc 1.96).
      command -v s3s-fs >/dev/null || [ -x "${CARGO_HOME:-$HOME/.cargo}/bin/s3s-fs" ] ||
        cargo install --quiet --locked s3s-fs --version 0.14.1 --features binary ;;
    proxy)
      command -v haproxy >/dev/null || [ -x /usr/sbin/haproxy ] || need+=(haproxy) ;;
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
