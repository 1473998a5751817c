#!/usr/bin/env bash
# Installs the system packages that the privileged tests need (run as root on Debian/Ubuntu):
# bpftrace for the probe's eBPF tracer, iproute2 for network namespaces, curl and python3 as real IMDS clients,
# shellcheck for the probe scripts, chromium for the report's browser tests, poppler-utils (pdftotext, pdftoppm) to read
# back and picture the printed report.
set -euo pipefail
packages=(bpftrace iproute2 curl python3 shellcheck chromium procps poppler-utils)
if [ "$(id -u)" -ne 0 ]; then
  echo "install-system-deps: not root; skipping apt packages (${packages[*]}). Privileged tests will skip." >&2
  exit 0
fi
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
# bpftrace attaches to tracepoints through tracefs; mount it where the kernel has not.
if [ ! -e /sys/kernel/tracing/events ] && [ -d /sys/kernel/tracing ]; then
  mount -t tracefs nodev /sys/kernel/tracing || echo "install-system-deps: could not mount tracefs" >&2
fi
echo "install-system-deps: ok (${packages[*]})"
