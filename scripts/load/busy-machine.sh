#!/usr/bin/env bash
# Makes this machine busy the way a shared CI runner or developer box is, to check that tests hold under load:
#   - a CPU hog on every core (stress-ng when installed, otherwise Node busy loops);
#   - as root with iproute2 and python3: a network namespace of its own with a fake IMDS on 169.254.169.254 and a
#     caller that makes IMDSv1 and IMDSv2 requests all the time. The probe's tracer sees the whole machine, so the live
#     probe tests must keep to the callers they started themselves. Nothing leaves the machine: the address exists
#     only inside the namespace.
#
#   sudo bash scripts/load/busy-machine.sh start    # prints what it started; state in /tmp/imdsv2-busy/
#   sudo bash scripts/load/busy-machine.sh stop     # ends exactly what start started, removes the namespace
set -euo pipefail
STATE=/tmp/imdsv2-busy
NS=imdsv2-busy
cores=$(nproc)

start() {
  mkdir -p "$STATE"
  if [ -e "$STATE/pids" ]; then echo "already started (see $STATE/pids); stop first" >&2; exit 1; fi
  : >"$STATE/pids"
  if command -v stress-ng >/dev/null; then
    stress-ng --cpu "$cores" --quiet >/dev/null 2>&1 &
    echo $! >>"$STATE/pids"
    echo "cpu: stress-ng --cpu $cores (pid $!)"
  else
    for _ in $(seq "$cores"); do
      node -e 'for (;;) {}' &
      echo $! >>"$STATE/pids"
    done
    echo "cpu: $cores node busy loops"
  fi
  if [ "$(id -u)" = 0 ] && command -v ip >/dev/null && command -v python3 >/dev/null; then
    ip netns add "$NS"
    ip netns exec "$NS" ip link set lo up
    ip netns exec "$NS" ip addr add 169.254.169.254/32 dev lo
    cat >"$STATE/imds.py" <<'PY'
import http.server
class H(http.server.BaseHTTPRequestHandler):
    def _ok(self, body):
        self.send_response(200); self.send_header('Content-Length', str(len(body))); self.end_headers(); self.wfile.write(body)
    def do_PUT(self): self._ok(b'busy-token')
    def do_GET(self): self._ok(b'i-0b05y000000000000')
    def log_message(self, *a): pass
http.server.ThreadingHTTPServer(('169.254.169.254', 80), H).serve_forever()
PY
    cat >"$STATE/caller.py" <<'PY'
import time, urllib.request
B = 'http://169.254.169.254/latest'
while True:
    try:
        urllib.request.urlopen(B + '/meta-data/instance-id', timeout=2).read()  # IMDSv1
        t = urllib.request.urlopen(urllib.request.Request(B + '/api/token', method='PUT', headers={'X-aws-ec2-metadata-token-ttl-seconds': '60'}), timeout=2).read().decode()
        urllib.request.urlopen(urllib.request.Request(B + '/meta-data/ami-id', headers={'X-aws-ec2-metadata-token': t}), timeout=2).read()  # IMDSv2
    except Exception:
        pass
    time.sleep(0.2)
PY
    ip netns exec "$NS" python3 "$STATE/imds.py" &
    echo $! >>"$STATE/pids"
    sleep 1
    ip netns exec "$NS" python3 "$STATE/caller.py" &
    echo $! >>"$STATE/pids"
    echo "imds: namespace $NS, fake IMDS and a caller making IMDSv1 and IMDSv2 requests 5 times a second"
  else
    echo "imds: skipped (needs root, iproute2 and python3)"
  fi
  echo "pids: $(tr '\n' ' ' <"$STATE/pids")"
}

stop() {
  if [ -e "$STATE/pids" ]; then
    while read -r pid; do kill "$pid" 2>/dev/null || true; done <"$STATE/pids"
  fi
  if ip netns list 2>/dev/null | grep -q "^$NS\b"; then
    for pid in $(ip netns pids "$NS"); do kill "$pid" 2>/dev/null || true; done
    ip netns del "$NS"
  fi
  rm -rf "$STATE"
  echo stopped
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  *) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
