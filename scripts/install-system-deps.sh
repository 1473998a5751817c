#!/usr/bin/env bash
# Installs the system packages that the privileged tests need (run as root on Debian/Ubuntu): bpftrace for the
# probe's eBPF tracer, iproute2 for network namespaces, curl and python3 as real IMDS clients, the shellcheck linter
# for the probe scripts, chromium for the report's browser tests, poppler-utils (pdftotext, pdftoppm) to read back and
# picture the printed report, and awscli (the AWS CLI, on botocore) as the independent client of the simulator's
# conformance tests (test/e2e/aws-cli-conformance.test.ts).
set -euo pipefail
packages=(bpftrace iproute2 curl python3 shellcheck chromium procps poppler-utils awscli)
if [ "$(id -u)" -ne 0 ]; then
  echo "install-system-deps: not root; skipping apt packages (${packages[*]}). Privileged tests will skip." >&2
  exit 0
fi
missing=()
for p in "${packages[@]}"; do
  # An AWS CLI installed another way (pip, the v2 installer) serves as well.
  if [ "$p" = awscli ] && command -v aws >/dev/null 2>&1; then continue; fi
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
