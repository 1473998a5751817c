#!/bin/sh
# imdsv2-cutover on-host probe for Linux (POSIX sh; run as root, e.g. through SSM AWS-RunShellScript).
# Names the processes that make IMDSv1 calls (eBPF via bpftrace when present, else /proc sampling), reads the packet
# analyzer's log if any, and lists AWS SDKs/agents too old for IMDSv2. Prints the line format "IMDSV2PROBE 1"
# (documented in docs/probe.md). It never contacts IMDS, never changes the host (beyond mounting tracefs for the
# trace when it is not mounted, undone at exit) and installs nothing unless INSTALL_TRACER=1.
# Parameters are baked in by the generator (packages/probe linuxProbeScript).
PROBE_VERSION='@@PROBE_VERSION@@'
WINDOW='@@WINDOW@@'
MAXOUT='@@MAXOUT@@'
INSTALL_TRACER='@@INSTALL_TRACER@@'
ROOT='@@ROOT@@'
# id|ecosystem|name|minimum|uncertainBelow|never|bad|advice (advice percent-encoded)
MINVERSIONS='@@MINVERSIONS@@'
# name|processes|paths|status|advice (name and advice percent-encoded; lists space-separated)
AGENTS='@@AGENTS@@'

set -u
umask 077
# ROOT without a trailing slash, so "$RP/usr" is "/usr" on a host.
RP=${ROOT%/}
LC_ALL=C
export LC_ALL
PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:${PATH:-}
export PATH

TMP=$(mktemp -d /tmp/imdsv2-probe.XXXXXX) || { echo 'IMDSV2PROBE 1 platform=linux'; echo 'NOTE text=mktemp%20failed'; echo 'END records=1'; exit 1; }
MOUNTED_TRACEFS=''
BT_PID=''
cleanup() {
  [ -n "$BT_PID" ] && kill "$BT_PID" 2>/dev/null
  [ -n "$MOUNTED_TRACEFS" ] && umount "$MOUNTED_TRACEFS" 2>/dev/null
  rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

# Records by priority: the output cap keeps a prefix, so callers come before inventory and notes.
R_HEAD="$TMP/r1"; R_V1="$TMP/r2"; R_V2="$TMP/r3"; R_PKGBAD="$TMP/r4"; R_PKGOK="$TMP/r5"; R_NOTE="$TMP/r6"
: >"$R_HEAD"; : >"$R_V1"; : >"$R_V2"; : >"$R_PKGBAD"; : >"$R_PKGOK"; : >"$R_NOTE"

# awk helpers shared by every awk program below: percent-encoding (bytes outside [A-Za-z0-9._~/:@+-] become %XX),
# decoding, bpftrace %r unescaping, version comparison, and command-line redaction.
AWKLIB='
function awkinit(  i) { for (i = 1; i < 256; i++) ORD[sprintf("%c", i)] = i; AWKINIT = 1 }
function enc(s,   i, c, o, n) {
  if (!AWKINIT) awkinit()
  o = ""; n = length(s)
  for (i = 1; i <= n; i++) {
    c = substr(s, i, 1)
    if (c ~ /[A-Za-z0-9._~\/:@+-]/) o = o c; else o = o sprintf("%%%02X", ORD[c])
  }
  return o
}
function hexval(h,  d) { d = "0123456789abcdef"; h = tolower(h); return (index(d, substr(h, 1, 1)) - 1) * 16 + index(d, substr(h, 2, 1)) - 1 }
function dec(s,   o, i, c) {
  o = ""
  for (i = 1; i <= length(s); i++) {
    c = substr(s, i, 1)
    if (c == "%" && i + 2 <= length(s)) { o = o sprintf("%c", hexval(substr(s, i + 1, 2))); i += 2 } else o = o c
  }
  return o
}
# bpftrace %r text, first nbytes bytes; NUL becomes sep; with http, CR is dropped and LF kept (else both become "?");
# other escapes become "?". Without http the result never holds a tab or newline.
function unr(s, nbytes, sep, http,   o, i, c, h, k) {
  o = ""; k = 0
  for (i = 1; i <= length(s) && k < nbytes; i++) {
    c = substr(s, i, 1)
    if (c == "\\" && substr(s, i + 1, 1) == "x" && substr(s, i + 2, 2) ~ /^[0-9a-fA-F][0-9a-fA-F]$/) {
      h = tolower(substr(s, i + 2, 2)); i += 3
      if (h == "00") o = o sep; else if (http && h == "0a") o = o "\n"; else if (http && h == "0d") o = o ""; else o = o "?"
    } else o = o c
    k++
  }
  return o
}
function vercmp(a, b,   x, y, n, i, m, p, q) {
  sub(/^v/, "", a); sub(/^v/, "", b); sub(/[-+~].*/, "", a); sub(/[-+~].*/, "", b)
  n = split(a, x, "."); m = split(b, y, "."); if (m > n) n = m
  for (i = 1; i <= n; i++) { p = (i in x) ? x[i] + 0 : 0; q = (i in y) ? y[i] + 0 : 0; if (p < q) return -1; if (p > q) return 1 }
  return 0
}
function redact(s,   t, c0, s0, l0) {
  t = s
  gsub(/[Aa]uthorization:[ ]*([Bb]earer|[Bb]asic|[Tt]oken)?[ ]*[^ ]+/, "Authorization: ***", t)
  gsub(/[Xx]-aws-ec2-metadata-token:[ ]*[^ ]+/, "X-aws-ec2-metadata-token: ***", t)
  gsub(/:\/\/[^ \/@:]+:[^ \/@]+@/, "://***:***@", t)
  while (match(t, /[?&;](token|secret|apikey|api_key|access_token|password|[Ss]ignature|X-Amz-Signature|X-Amz-Security-Token)=[^& #\003]+/)) {
    s0 = RSTART; l0 = RLENGTH; c0 = substr(t, s0, l0)
    match(c0, /=/)
    t = substr(t, 1, s0 - 1) substr(c0, 1, RSTART) "\003" substr(t, s0 + l0)
  }
  gsub(/\003/, "***", t)
  gsub(/(AWS_SECRET_ACCESS_KEY|AWS_SESSION_TOKEN|AWS_SECURITY_TOKEN|[A-Z0-9_]*(PASSWORD|SECRET|TOKEN|API_KEY))=[^ ]+/, "&\001", t)
  while (match(t, /=[^ =]+\001/)) t = substr(t, 1, RSTART) "***" substr(t, RSTART + RLENGTH)
  gsub(/\001/, "", t)
  # Keep the name of the flag, replace its value (joined by "=" or a space) with the \002 marker; a value that already
  # is the marker never matches again, so the loop ends.
  while (match(t, /(^| )--?(password|passwd|pass|secret|secret-key|secret-access-key|aws-secret-access-key|token|session-token|api-key|apikey|access-token|auth-token|client-secret|private-key)[= ]+[^- \002][^ ]*/)) {
    s0 = RSTART; l0 = RLENGTH; c0 = substr(t, s0, l0)
    match(c0, /--?[A-Za-z-]+/)
    t = substr(t, 1, s0 - 1) substr(c0, 1, RSTART + RLENGTH - 1) "=\002" substr(t, s0 + l0)
  }
  gsub(/\002/, "***", t)
  if (t ~ /^[^ ]*(mysql|mysqldump|mysqladmin|mariadb|sshpass) /) { gsub(/ -p[^ ]+/, " -p***", t); gsub(/ -p [^- ][^ ]*/, " -p ***", t) }
  return t
}
'

# rec FILE TYPE key value ...: one record, every value percent-encoded. A key starting with @ takes a newline-separated
# list (items encoded, joined with commas). Values are passed as awk ARGV (never interpreted as escapes or programs).
rec() {
  _f=$1; shift
  awk "$AWKLIB"'
BEGIN {
  line = ARGV[1]
  for (i = 2; i + 1 < ARGC; i += 2) {
    k = ARGV[i]; v = substr(ARGV[i + 1], 1, 2000)
    if (v == "") continue
    if (substr(k, 1, 1) == "@") {
      n = split(v, items, "\n"); o = ""
      for (j = 1; j <= n && j <= 50; j++) if (items[j] != "") o = o (o == "" ? "" : ",") enc(substr(items[j], 1, 300))
      line = line " " substr(k, 2) "=" o
    } else line = line " " k "=" enc(v)
  }
  print line
}' "$@" >>"$_f"
}
note() { rec "$R_NOTE" NOTE text "$1"; }
now_iso() { date -u +%Y-%m-%dT%H:%M:%SZ; }

STARTED=$(now_iso)
T0=$(date +%s)

# ---- host facts ------------------------------------------------------------------------------------------------------
HOSTNAME_V=$(cat /proc/sys/kernel/hostname 2>/dev/null || hostname 2>/dev/null)
OS_V=''
# shellcheck disable=SC1091 # the host's file, read at run time
if [ -r /etc/os-release ]; then OS_V=$(. /etc/os-release 2>/dev/null; printf '%s' "${PRETTY_NAME:-${NAME:-}}"); fi
KERNEL_V=$(uname -r 2>/dev/null)
# The instance id without asking IMDS: Nitro puts it in the DMI asset tag; cloud-init caches it.
INSTANCE_V=''
for f in /sys/devices/virtual/dmi/id/board_asset_tag /var/lib/cloud/data/instance-id; do
  v=$(head -c 64 "$f" 2>/dev/null | tr -cd 'a-z0-9-')
  case $v in i-[0-9a-f]*) INSTANCE_V=$v; break ;; esac
done
rec "$R_HEAD" HOST hostname "$HOSTNAME_V" instance "$INSTANCE_V" os "$OS_V" kernel "$KERNEL_V"

# One pass over /proc: "pid comm" of every process (comm may hold spaces; it is the rest of the line).
PROCS="$TMP/procs"
for d in /proc/[0-9]*; do
  read -r c <"$d/comm" 2>/dev/null && printf '%s %s\n' "${d#/proc/}" "$c"
done >"$PROCS" 2>/dev/null

# ---- containers ------------------------------------------------------------------------------------------------------
RUNTIMES=$(awk '{ c = $0; sub(/^[0-9]+ /, "", c)
  if (c == "dockerd") r["docker"] = 1; else if (c == "containerd") r["containerd"] = 1; else if (c == "crio") r["cri-o"] = 1
  else if (c == "kubelet") r["kubelet"] = 1; else if (c == "podman" || c == "conmon") r["podman"] = 1 }
  END { for (k in r) print k }' "$PROCS" | sort)
if [ -d /var/lib/ecs/data ] || [ -f /etc/ecs/ecs.config ]; then
  RUNTIMES=$(printf '%s\necs-agent\n' "$RUNTIMES" | sed '/^$/d')
fi
DETECTED=0; [ -n "$RUNTIMES" ] && DETECTED=1
rec "$R_HEAD" CONTAINERS detected "$DETECTED" @runtimes "$RUNTIMES"

# ---- historic evidence: the packet analyzer's log --------------------------------------------------------------------
TZOFF=$(date +%z | sed 's/^\(...\)\(..\)$/\1:\2/')
HIST=/var/log/imds/imds-trace.log
if [ -f "$RP$HIST" ] || [ -f "$RP$HIST.1" ]; then
  for i in 5 4 3 2 1; do [ -f "$RP$HIST.$i" ] && tail -n 20000 "$RP$HIST.$i"; done >"$TMP/hist" 2>/dev/null
  [ -f "$RP$HIST" ] && tail -n 20000 "$RP$HIST" >>"$TMP/hist" 2>/dev/null
  awk -v tz="$TZOFF" -v vfile="$R_V1" -v hfile="$R_HEAD" -v path="$HIST" "$AWKLIB"'
function ts(l,   t) {
  if (!match(l, /^\[[0-9-]+[T ][0-9:]+/)) return ""
  t = substr(l, 2, RLENGTH - 1); sub(/ /, "T", t); return t tz
}
{
  l = tolower($0)
  if (index($0, "{MISSING PAYLOAD}")) next
  if (l ~ /\[warning\]/ && l ~ /imdsv1\(!\)/) {
    v1++
    if (!match($0, /\(pid:[0-9]+:[^ )]* argv:[^)]*\)/)) next
    g = substr($0, RSTART + 5, RLENGTH - 6); pid = g; sub(/:.*/, "", pid)
    comm = g; sub(/^[0-9]+:/, "", comm); sub(/ argv:.*/, "", comm)
    argv = g; sub(/^[^ ]* argv:/, "", argv)
    key = comm SUBSEP argv
    if (!(key in n)) { order[++k] = key; pidof[key] = pid; commof[key] = comm; argvof[key] = argv; first[key] = ts($0)
      rest = substr($0, RSTART + RLENGTH); par[key] = ""
      while (match(rest, /-> \(pid:[0-9]+:[^ )]* argv:[^)]*\)/)) {
        pg = substr(rest, RSTART + 9, RLENGTH - 10); pp = pg; sub(/:.*/, "", pp); pc = pg; sub(/^[0-9]+:/, "", pc); sub(/ argv:.*/, "", pc)
        pa = pg; sub(/^[^ ]* argv:/, "", pa); par[key] = par[key] pp "\t" pc "\t" pa "\n"; rest = substr(rest, RSTART + RLENGTH)
      }
    }
    n[key]++; last[key] = ts($0)
    if (match(l, /req details: (get|head|post) [^ ]+/)) { p = substr($0, RSTART + 13, RLENGTH - 13); sub(/^[^ ]+ /, "", p); if (!((key, p) in seenp) && np[key] < 20) { seenp[key, p] = 1; paths[key] = paths[key] p "\n"; np[key]++ } }
  } else if (l ~ /\[info\]/ && l ~ /imdsv2/) v2++
}
END {
  printf "HISTLOG path=%s v1=%d v2=%d\n", enc(path), v1, v2 >> hfile
  for (i = 1; i <= k && i <= 50; i++) {
    key = order[i]; id = "h" i
    pl = ""; m = split(paths[key], pa2, "\n"); for (j = 1; j <= m; j++) if (pa2[j] != "") pl = pl (pl == "" ? "" : ",") enc(pa2[j])
    printf "V1 id=%s pid=%d comm=%s argv=%s requests=%d first=%s last=%s evidence=historic-log paths=%s\n", id, pidof[key], enc(commof[key]), enc(redact(argvof[key])), n[key], enc(first[key]), enc(last[key]), pl >> vfile
    m = split(par[key], pr, "\n")
    for (j = 1; j <= m && j <= 8; j++) if (pr[j] != "") { split(pr[j], f, "\t"); printf "PARENT of=%s pid=%d comm=%s argv=%s\n", id, f[1], enc(f[2]), enc(redact(f[3])) >> vfile }
  }
}' "$TMP/hist"
fi

# ---- static inventory ------------------------------------------------------------------------------------------------
# Bounded: a fixed set of roots, -xdev, a depth limit and a time limit. Finds SDK install markers; versions come from
# the marker's name or a small file next to it.
SCAN_DIRS=''
for d in usr opt home root srv var/lib var/www app; do
  [ -d "$RP/$d" ] && SCAN_DIRS="$SCAN_DIRS $RP/$d"
done
SCAN_DIRS=$(printf '%s' "$SCAN_DIRS" | sed 's#//*#/#g')
FOUND="$TMP/found"
: >"$FOUND"
if [ -n "$SCAN_DIRS" ]; then
  # shellcheck disable=SC2086 # SCAN_DIRS is a list of paths built above from fixed names
  timeout 40 find $SCAN_DIRS -xdev -maxdepth 12 \( -name proc -o -name sys -o -name .git -o -name .cache \) -prune -o \
    \( -type d \( -name 'botocore-[0-9]*' -o -name 'boto3-[0-9]*' -o -name 'awscli-[0-9]*' -o -name 'boto-[0-9]*' \
      -o -name 'aws-sdk-core-[0-9]*' \) -print \) -o \
    \( -type f \( -name 'aws-java-sdk-core-[0-9]*.jar' -o -name 'aws-java-sdk-1.*.jar' -o -name 'aws-core-2.*.jar' \
      -o -path '*/node_modules/aws-sdk/package.json' -o -path '*/aws-sdk-php/src/Sdk.php' \) -print \) \
    >"$FOUND.all" 2>/dev/null || note "static inventory: the file search stopped early or met unreadable directories"
  head -n 2000 "$FOUND.all" >"$FOUND"
fi
# Go binaries: the module list is in the build info of each binary; read it from a bounded set of executables.
GOBIN="$TMP/gobin"
{
  for d in "$RP/usr/local/bin" "$RP/opt"; do
    [ -d "$d" ] && timeout 10 find "$d" -xdev -maxdepth 4 -type f -perm -u+x -size -200M 2>/dev/null
  done
  if [ "$ROOT" = / ]; then
    for d in /proc/[0-9]*; do readlink "$d/exe" 2>/dev/null; done
  fi
} | sort -u | head -n 300 >"$GOBIN"
while IFS= read -r b; do
  [ -f "$b" ] || continue
  v=$(timeout 5 grep -a -o -m 1 -E 'github\.com/aws/aws-sdk-go(-v2)?[[:space:]]+v[0-9][0-9.]*' "$b" 2>/dev/null | head -n 1)
  [ -n "$v" ] && printf 'GO\t%s\t%s\n' "$b" "$v" >>"$FOUND"
done <"$GOBIN"
# Versions from markers: turn every find hit into "id<TAB>version<TAB>path".
while IFS= read -r p; do
  base=${p##*/}
  case $p in
    GO*) printf '%s\n' "$p" | awk -F '\t' '{ m = $0; sub(/^GO\t[^\t]*\t/, "", m); v = m; sub(/.*[[:space:]]v/, "", v); id = (m ~ /aws-sdk-go-v2/) ? "aws-sdk-go-v2" : "aws-sdk-go"; print id "\t" v "\t" $2 }' ;;
    */node_modules/aws-sdk/package.json)
      v=$(sed -n 's/^[[:space:]]*"version"[[:space:]]*:[[:space:]]*"\([^"]*\)".*/\1/p' "$p" | head -n 1)
      printf 'aws-sdk-js-v2\t%s\t%s\n' "$v" "${p%/package.json}" ;;
    */aws-sdk-php/src/Sdk.php)
      v=$(sed -n "s/.*const VERSION = '\\([^']*\\)'.*/\\1/p" "$p" | head -n 1)
      printf 'aws-sdk-php\t%s\t%s\n' "$v" "${p%/src/Sdk.php}" ;;
    *.jar)
      case $base in
        aws-java-sdk-core-*) v=${base#aws-java-sdk-core-}; id=aws-java-sdk-v1 ;;
        aws-java-sdk-*) v=${base#aws-java-sdk-}; id=aws-java-sdk-v1 ;;
        *) v=${base#aws-core-}; id=aws-java-sdk-v2 ;;
      esac
      printf '%s\t%s\t%s\n' "$id" "${v%.jar}" "$p" ;;
    *)
      case $base in
        botocore-*) id=botocore; v=${base#botocore-} ;;
        boto3-*) id=boto3; v=${base#boto3-} ;;
        awscli-*) id=awscli; v=${base#awscli-} ;;
        boto-*) id=boto; v=${base#boto-} ;;
        aws-sdk-core-*) id=aws-sdk-core-ruby; v=${base#aws-sdk-core-} ;;
        *) continue ;;
      esac
      case $base in *.dist-info | *.egg-info | *-py*) ;; aws-sdk-core-*) ;; *) continue ;; esac
      v=$(printf '%s' "$v" | sed 's/\.dist-info$//; s/\.egg-info$//; s/-py[0-9.]*$//')
      printf '%s\t%s\t%s\n' "$id" "$v" "$p" ;;
  esac
done <"$FOUND" >"$TMP/pkgs"

# Agents installed from packages (host scan only: they describe this machine, not ROOT).
pkgver() {
  v=''
  command -v rpm >/dev/null 2>&1 && v=$(rpm -q --qf '%{VERSION}' "$1" 2>/dev/null | grep -E '^[0-9]' | head -n 1)
  [ -z "$v" ] && command -v dpkg-query >/dev/null 2>&1 && v=$(dpkg-query -W -f='${Version}' "$1" 2>/dev/null | sed 's/^[0-9]*://; s/-[^-]*$//')
  [ -z "$v" ] && command -v snap >/dev/null 2>&1 && v=$(timeout 10 snap list "$1" 2>/dev/null | awk 'NR == 2 { print $2 }')
  printf '%s' "$v"
}
if [ "$ROOT" = / ]; then
  v=$(pkgver amazon-ssm-agent)
  if [ -n "$v" ] || [ -x /usr/bin/amazon-ssm-agent ] || [ -x /snap/amazon-ssm-agent/current/amazon-ssm-agent ]; then
    printf 'ssm-agent\t%s\t%s\n' "$v" amazon-ssm-agent >>"$TMP/pkgs"
  fi
  v=$(pkgver cloud-init)
  [ -z "$v" ] && command -v cloud-init >/dev/null 2>&1 && v=$(timeout 10 cloud-init --version 2>&1 | awk '{ print $NF }' | head -n 1)
  [ -n "$v" ] && printf 'cloud-init\t%s\t%s\n' "$v" cloud-init >>"$TMP/pkgs"
  if [ -d /opt/aws/amazon-cloudwatch-agent ]; then
    v=$(head -c 40 /opt/aws/amazon-cloudwatch-agent/bin/CWAGENT_VERSION 2>/dev/null | tr -cd '0-9A-Za-z.+-')
    printf 'amazon-cloudwatch-agent\t%s\t%s\n' "$v" /opt/aws/amazon-cloudwatch-agent >>"$TMP/pkgs"
  fi
fi
# Classify against the minimum versions; not-ok findings first.
printf '%s\n' "$MINVERSIONS" >"$TMP/minv"
sort -u "$TMP/pkgs" | awk -F '\t' -v bad="$R_PKGBAD" -v ok="$R_PKGOK" -v mv="$TMP/minv" "$AWKLIB"'
BEGIN { while ((getline l < mv) > 0) { split(l, f, "|"); E[f[1]] = l } }
{
  id = $1; v = $2; path = $3
  if (!(id in E)) next
  split(E[id], f, "|"); eco = f[2]; name = f[3]; min = f[4]; unc = f[5]; never = f[6]; badv = f[7]; adv = dec(f[8])
  if (never == "1") st = "never-supports"
  else if (v !~ /^v?[0-9]+(\.[0-9]+)*/ || min == "") { st = "unknown"; if (adv == "") adv = "Version could not be compared: check it supports IMDSv2." }
  else if (badv != "" && index(" " badv " ", " " v " ")) st = "outdated"
  else if (vercmp(v, min) < 0) { st = "outdated"; if (adv == "") adv = "Upgrade " name " to " min " or later." }
  else if (unc != "" && vercmp(v, unc) < 0) st = "unknown"
  else { st = "ok"; adv = "" }
  line = "PKG eco=" enc(eco) " name=" enc(name) (v != "" ? " version=" enc(v) : "") " path=" enc(path) (min != "" ? " min=" enc(min) : "") " status=" st (adv != "" ? " advice=" enc(adv) : "")
  if (st == "ok") print line >> ok; else print line >> bad
}'
# Vendor agents known to need IMDSv1 (knowledge base + user extension): a running process or an existing path.
printf '%s\n' "$AGENTS" | while IFS='|' read -r aname aprocs apaths astatus aadvice; do
  [ -n "$aname" ] || continue
  hit=''
  for pr in $aprocs; do
    awk -v c="$pr" '{ x = $0; sub(/^[0-9]+ /, "", x); if (x == c) { f = 1; exit } } END { exit !f }' "$PROCS" && { hit="process $pr"; break; }
  done
  if [ -z "$hit" ]; then
    for pa in $apaths; do
      # shellcheck disable=SC2086 # paths may hold a glob on purpose (validated by the generator)
      for m in $RP$pa; do [ -e "$m" ] && { hit=$m; break 2; }; done
    done
  fi
  if [ -n "$hit" ]; then
    line="PKG eco=vendor name=$aname path=$(rec /dev/stdout X p "$hit" | sed 's/^X p=//') status=$astatus"
    [ -n "$aadvice" ] && line="$line advice=$aadvice"
    printf '%s\n' "$line" >>"$R_PKGBAD"
  fi
done

# ---- live attribution ------------------------------------------------------------------------------------------------
BT=$(command -v bpftrace 2>/dev/null)
if [ -z "$BT" ] && [ "$INSTALL_TRACER" = 1 ]; then
  if command -v dnf >/dev/null 2>&1; then timeout 300 dnf -y -q install bpftrace >/dev/null 2>&1
  elif command -v yum >/dev/null 2>&1; then timeout 300 yum -y -q install bpftrace >/dev/null 2>&1
  elif command -v apt-get >/dev/null 2>&1; then DEBIAN_FRONTEND=noninteractive timeout 300 apt-get -y -q install bpftrace >/dev/null 2>&1
  fi
  BT=$(command -v bpftrace 2>/dev/null)
  if [ -n "$BT" ]; then note "bpftrace installed on request (--install-tracer)"; else note "bpftrace install requested but failed"; fi
fi
TRACER=none
TRACER_NOTE=''
if [ -n "$BT" ] && [ "$(id -u)" = 0 ]; then
  if [ ! -d /sys/kernel/tracing/events/syscalls ] && [ ! -d /sys/kernel/debug/tracing/events/syscalls ]; then
    if mount -t tracefs nodev /sys/kernel/tracing 2>/dev/null; then MOUNTED_TRACEFS=/sys/kernel/tracing; fi
  fi
  cat >"$TMP/probe.bt" <<'IMDSV2_BT_EOF'
@@BPFTRACE_PROGRAM@@
IMDSV2_BT_EOF
  sed "s/@@WINDOW@@/$WINDOW/" "$TMP/probe.bt" >"$TMP/p.bt"
  BPFTRACE_STRLEN=200 timeout $((WINDOW + 90)) "$BT" -q "$TMP/p.bt" >"$TMP/events" 2>"$TMP/bt.err" &
  BT_PID=$!
  wait "$BT_PID"
  BT_RC=$?
  BT_PID=''
  if grep -q '^B ' "$TMP/events" 2>/dev/null; then
    TRACER=bpftrace
    [ "$BT_RC" -ne 0 ] && TRACER_NOTE="bpftrace exited with $BT_RC"
  else
    TRACER_NOTE="bpftrace failed: $(grep -v -e WARNING -e RLIMIT -e '~' -e '^ ' "$TMP/bt.err" | head -n 3 | tr '\n' ' ')"
  fi
fi

# Analyse the events: per (pid, fd) reassemble the byte stream, split HTTP requests at the blank line, and classify each
# as token PUT, IMDSv2 (token header present anywhere in the header block) or IMDSv1. A request that never completed is
# "undecided", never IMDSv1.
if [ "$TRACER" = bpftrace ]; then
  grep '^[BTP]' "$TMP/events" >"$TMP/ev.meta"
  grep '^C ' "$TMP/events" | sort -s -n -k4,4 -k6,6 >"$TMP/ev.data"
  awk "$AWKLIB"'
function classify(pid, head, ns,   first, m, p) {
  first = head; sub(/\n.*/, "", first)
  if (first !~ /^(GET|PUT|POST|HEAD|DELETE|PATCH|OPTIONS) [^ ]+ HTTP\//) return
  m = first; sub(/ .*/, "", m); p = first; sub(/^[^ ]+ /, "", p); sub(/ HTTP\/.*/, "", p)
  if (m == "PUT" && p ~ /^\/latest\/api\/token/) { tok++; return }
  if (tolower(head) ~ /\nx-aws-ec2-metadata-token:/) { v2[pid]++; return }
  v1[pid]++; sub(/[?#].*/, "", p)
  if (!((pid, p) in seenp) && np[pid] < 20) { seenp[pid, p] = 1; np[pid]++; paths[pid] = paths[pid] substr(p, 1, 200) "\n" }
  if (!(pid in firstns)) firstns[pid] = ns; lastns[pid] = ns
}
FILENAME ~ /meta$/ {
  if ($1 == "B") b0 = $2; else if ($1 == "T") t0 = $2
  else if ($1 == "P") { uid[$2] = $3; ppid[$2] = $4; gppid[$2] = $5 }
  else if ($1 == "PA") { s = $0; sub(/^PA [0-9]+ [0-9]+ [0-9]+ ?/, "", s); n = $3 - $4; if (n > 200) n = 200; argv[$2] = argv[$2] unr(s, n, " ", 0) }
  else { s = $0; sub(/^P[A-Z] [0-9]+ ?/, "", s); if ($1 == "PC") comm[$2] = unr(s, 16, "", 0); else if ($1 == "PP") pcomm[$2] = unr(s, 16, "", 0); else if ($1 == "PG") gpcomm[$2] = unr(s, 16, "", 0); else if ($1 == "PE") exe[$2] = unr(s, 64, "", 0); else if ($1 == "PK") cg[$2] = unr(s, 200, "", 0) }
  next
}
{
  pid = $2; key = $2 SUBSEP $3; ns = $4; n = $5; off = $6
  s = $0; sub(/^C [0-9]+ [0-9]+ [0-9]+ [0-9]+ [0-9]+ ?/, "", s)
  rel = off % 1000; cnt = n - rel; if (cnt > 200) cnt = 200
  d = unr(s, cnt, "?", 1)
  if (rel == 0 && d ~ /^(GET|PUT|POST|HEAD|DELETE|PATCH|OPTIONS) / && (lost[key] || buf[key] !~ /^(GET|PUT|POST|HEAD|DELETE|PATCH|OPTIONS) /)) {
    if (buf[key] != "") pend(key)
    buf[key] = ""; lost[key] = 0
  }
  buf[key] = buf[key] d; when[key] = ns
  if (rel == 800 && n > 1000) lost[key] = 1
  while ((i = index(buf[key], "\n\n")) > 0) {
    head = substr(buf[key], 1, i - 1); buf[key] = substr(buf[key], i + 2)
    if (lost[key]) { if (tolower(head) ~ /x-aws-ec2-metadata-token:/) v2[pid]++; else und++; lost[key] = 0 }
    else classify(pid, head, ns)
  }
  if (length(buf[key]) > 16384) { und++; buf[key] = ""; lost[key] = 0 }
}
function pend(key,   h, p) {
  h = buf[key]; split(key, p, SUBSEP)
  if (h !~ /^(GET|PUT|POST|HEAD|DELETE|PATCH|OPTIONS) /) return
  if (tolower(h) ~ /\nx-aws-ec2-metadata-token:/) v2[p[1]]++; else if (h ~ /^PUT \/latest\/api\/token/) tok++; else und++
}
END {
  for (key in buf) if (buf[key] != "") pend(key)
  printf "COUNTS %d %d\n", tok, und
  # One caller per program run the same way (comm, exe, argv, uid, cgroup): a script calling curl in a loop is one
  # line with the sum, the latest pid and the union of paths.
  for (pid in v1) {
    g = comm[pid] SUBSEP exe[pid] SUBSEP argv[pid] SUBSEP uid[pid] SUBSEP cg[pid]
    if (!(g in gn) || firstns[pid] > gfirstpid[g]) { gpid[g] = pid; gfirstpid[g] = firstns[pid] }
    gn[g] += v1[pid]
    if (!(g in gf) || firstns[pid] < gf[g]) gf[g] = firstns[pid]
    if (!(g in gl) || lastns[pid] > gl[g]) gl[g] = lastns[pid]
    m = split(paths[pid], pp, "\n")
    for (j = 1; j <= m; j++) if (pp[j] != "" && !((g, pp[j]) in gseen) && gnp[g] < 20) { gseen[g, pp[j]] = 1; gnp[g]++; gp[g] = gp[g] pp[j] "\n" }
  }
  for (g in gn) { pid = gpid[g]; a = argv[pid]; sub(/ +$/, "", a)
    printf "V1 %d %d %d %d %d %d\037%s\037%s\037%s\037%s\037%s\037%s\037%s\037%s\n", pid, gn[g], t0 + int((gf[g] - b0) / 1000000000), t0 + int((gl[g] - b0) / 1000000000), uid[pid], ppid[pid], comm[pid], exe[pid], a, pcomm[pid], gppid[pid], gpcomm[pid], cg[pid], gp[g] == "" ? "" : enc(gp[g]) }
  for (pid in v2) { g = comm[pid] SUBSEP exe[pid]; if (!(g in hn)) hpid[g] = pid; hn[g] += v2[pid] }
  for (g in hn) { pid = hpid[g]; printf "V2 %d %d\037%s\037%s\n", pid, hn[g], comm[pid], exe[pid] }
}' "$TMP/ev.meta" "$TMP/ev.data" >"$TMP/callers"
elif [ "$(id -u)" = 0 ] || [ -r /proc/1/fd ]; then
  # No bpftrace: sample sockets to IMDS once a second. Evidence is "connection seen", not "IMDSv1 confirmed".
  TRACER=proc-sampling
  [ -z "$TRACER_NOTE" ] && TRACER_NOTE='bpftrace not available: sampled sockets to IMDS from /proc once a second; the HTTP version of those calls is not known'
  : >"$TMP/samples"
  end=$(( $(date +%s) + WINDOW ))
  while [ "$(date +%s)" -lt "$end" ]; do
    # One /proc/<pid>/net/tcp per network namespace (containers have their own).
    for d in /proc/[0-9]*; do printf '%s %s\n' "$(readlink "$d/ns/net" 2>/dev/null)" "${d#/proc/}"; done |
      awk '$1 != "" && !seen[$1]++ { print $2 }' >"$TMP/nsreps"
    inodes=$(while read -r rp; do cat "/proc/$rp/net/tcp" "/proc/$rp/net/tcp6" 2>/dev/null; done <"$TMP/nsreps" |
      awk '$3 ~ /^(FEA9FEA9|0000000000000000FFFF0000FEA9FEA9|C20E00FD000000000000000054020000):0050$/ && $10 != 0 { print $10 }' | sort -u)
    if [ -n "$inodes" ]; then
      for d in /proc/[0-9]*; do
        # shellcheck disable=SC2012 # fd names are numbers; ls -l shows the socket inode each links to
        ls -l "$d/fd" 2>/dev/null | awk -v p="${d#/proc/}" -v ins=" $(printf '%s' "$inodes" | tr '\n' ' ') " '
          match($0, /socket:\[[0-9]+\]/) { i = substr($0, RSTART + 8, RLENGTH - 9); if (index(ins, " " i " ")) print p, i }'
      done | while read -r p i; do
        grep -q "^$p $i " "$TMP/samples" 2>/dev/null && continue
        a=$(tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null | head -c 400 | sed 's/ *$//')
        printf '%s %s %s\037%s\037%s\037%s\n' "$p" "$i" "$(date +%s)" "$(cat "/proc/$p/comm" 2>/dev/null)" "$(readlink "/proc/$p/exe" 2>/dev/null)" "$a" >>"$TMP/samples"
      done
    fi
    sleep 1
  done
  awk -F "$(printf '\037')" '{ split($1, h, " "); p = h[1]; n[p]++; if (!(p in f)) f[p] = h[3]; l[p] = h[3]; c[p] = $2; e[p] = $3; a[p] = $4 }
    END { for (p in n) printf "V1 %d %d %d %d - 0\037%s\037%s\037%s\037\037\037\037\037\n", p, n[p], f[p], l[p], c[p], e[p], a[p] }' "$TMP/samples" >"$TMP/callers"
else
  TRACER_NOTE='not root: no live attribution'
fi
ENDED=$(now_iso)

# ---- callers: enrich from /proc where the process still lives, then write records ------------------------------------
EVIDENCE=confirmed; [ "$TRACER" = proc-sampling ] && EVIDENCE=connection-seen
toiso() { date -u -d "@$1" +%Y-%m-%dT%H:%M:%SZ 2>/dev/null; }
username() { awk -F: -v u="$1" '$3 == u { print $1; exit }' /etc/passwd 2>/dev/null; }
TOKENS=0; UNDECIDED=0
# Field separator of the callers file: not whitespace, so empty fields are kept by read.
US=$(printf '\037')
if [ -f "$TMP/callers" ]; then
  read -r _ TOKENS UNDECIDED <<EOF
$(grep '^COUNTS ' "$TMP/callers" || echo 'COUNTS 0 0')
EOF
  # Busiest IMDSv1 callers first: the cap keeps a prefix.
  grep '^V1 ' "$TMP/callers" | sort -t ' ' -k3,3nr | head -n 100 | while IFS="$US" read -r h comm exe argv pcomm gppid gpcomm cg paths; do
    # shellcheck disable=SC2086 # h holds space-separated numbers
    set -- $h
    pid=$2; n=$3; first=$4; last=$5; uid=$6; ppid=$7
    alive=''; [ -d "/proc/$pid" ] && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "$comm" ] && alive=1
    if [ -n "$alive" ]; then
      e=$(readlink "/proc/$pid/exe" 2>/dev/null) && exe=$e
      a=$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | head -c 600 | sed 's/ *$//') && [ -n "$a" ] && argv=$a
      [ -z "$cg" ] || [ "$cg" = / ] && cg=$(awk -F: '$1 == "0" { print $3 }' "/proc/$pid/cgroup" 2>/dev/null)
    fi
    [ "$uid" = - ] && uid=$(awk '/^Uid:/ { print $2 }' "/proc/$pid/status" 2>/dev/null)
    cid=''; runtime=''; cont=''
    case $cg in
      *docker-*) runtime=docker ;; *cri-containerd-*) runtime=containerd ;; *crio-*) runtime=cri-o ;; *libpod-*) runtime=podman ;; *ecs*) runtime=ecs ;;
    esac
    cid=$(printf '%s' "$cg" | grep -o -E '[0-9a-f]{64}' | head -n 1)
    [ -n "$cid" ] || [ -n "$runtime" ] && cont=1
    id=$((${id:-0} + 1))
    rec "$R_V1" V1 id "$id" pid "$pid" comm "$comm" exe "$exe" argv "$(printf '%s' "$argv" | awk "$AWKLIB"'{ printf "%s", redact($0) }')" \
      user "$(username "$uid")" uid "$uid" requests "$n" first "$(toiso "$first")" last "$(toiso "$last")" evidence "$EVIDENCE" \
      container "$cont" cid "$cid" runtime "$runtime" cgroup "${cont:+$cg}" @paths "$(printf '%s' "$paths" | awk "$AWKLIB"'{ printf "%s", dec($0) }')"
    # Parent chain: the kernel recorded parent and grandparent; /proc gives the rest while they live.
    p=$ppid; depth=0; pc=$pcomm
    while [ -n "$p" ] && [ "$p" != 0 ] && [ "$depth" -lt 6 ]; do
      c=$(cat "/proc/$p/comm" 2>/dev/null); [ -z "$c" ] && c=$pc
      [ -z "$c" ] && [ "$p" = "$gppid" ] && c=$gpcomm
      a=$(tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null | head -c 300 | sed 's/ *$//' | awk "$AWKLIB"'{ printf "%s", redact($0) }')
      rec "$R_V1" PARENT of "$id" pid "$p" comm "${c:-?}" argv "$a"
      np=$(awk '{ sub(/.*\) /, ""); print $2 }' "/proc/$p/stat" 2>/dev/null)
      [ -z "$np" ] && [ "$depth" = 0 ] && np=$gppid
      pc=''; [ "$np" = "$gppid" ] && pc=$gpcomm
      p=$np; depth=$((depth + 1))
    done
  done
  grep '^V2 ' "$TMP/callers" | sort -t ' ' -k3,3nr | head -n 100 | while IFS="$US" read -r h comm exe; do
    # shellcheck disable=SC2086 # h holds space-separated numbers
    set -- $h
    rec "$R_V2" V2 pid "$2" comm "$comm" exe "$exe" requests "$3"
  done
fi
[ "$(id -u)" = 0 ] || note "not running as root: live attribution and some inventory are limited"
rec "$R_HEAD" TRACER name "$TRACER" note "$TRACER_NOTE"
rec "$R_HEAD" WINDOW seconds "$WINDOW" start "$STARTED" end "$ENDED"
rec "$R_HEAD" TOKENS n "${TOKENS:-0}" undecided "${UNDECIDED:-0}"
note "probe ran $(( $(date +%s) - T0 ))s"

# ---- output: header, records in priority order until the budget is spent, TRUNCATED, END -----------------------------
HEADER="IMDSV2PROBE 1 probe=$PROBE_VERSION platform=linux"
printf '%s\n' "$HEADER"
cat "$R_HEAD" "$R_V1" "$R_V2" "$R_PKGBAD" "$R_PKGOK" "$R_NOTE" |
  awk -v max="$MAXOUT" -v used="$((${#HEADER} + 1))" '
  { if (stop || used + length($0) + 1 + 64 > max) { stop = 1; omitted++; next } print; used += length($0) + 1; kept++ }
  END { if (omitted > 0) { print "TRUNCATED omitted=" omitted; kept++ } print "END records=" kept + 0 }'
