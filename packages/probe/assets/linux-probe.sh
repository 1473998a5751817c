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
# 1: offline inventory of ROOT (a mounted snapshot, an unpacked image): no tracing, nothing read from /proc, host facts
# from ROOT's own files.
OFFLINE='@@OFFLINE@@'
# id|ecosystem|name|minimum|uncertainBelow|never|bad|advice (advice percent-encoded)
MINVERSIONS='@@MINVERSIONS@@'
# name|processes|paths|status|advice|packages (name and advice percent-encoded; lists space-separated)
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
AWKLIB='@@AWKLIB@@'

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
# os-release is parsed, never sourced: under ROOT it is a file of an image nobody vouched for.
OS_V=$(awk -F= '$1 == "PRETTY_NAME" { p = $2 } $1 == "NAME" { n = $2 }
  END { v = (p != "" ? p : n); gsub(/^["\047]|["\047]$/, "", v); printf "%s", substr(v, 1, 200) }' "$RP/etc/os-release" 2>/dev/null)
INSTANCE_V=''
if [ "$OFFLINE" = 1 ]; then
  HOSTNAME_V=$(head -n 1 "$RP/etc/hostname" 2>/dev/null | head -c 200)
  KERNEL_V=''
  IDFILES="$RP/var/lib/cloud/data/instance-id"
else
  HOSTNAME_V=$(cat /proc/sys/kernel/hostname 2>/dev/null || hostname 2>/dev/null)
  KERNEL_V=$(uname -r 2>/dev/null)
  # The instance id without asking IMDS: Nitro puts it in the DMI asset tag; cloud-init caches it.
  IDFILES='/sys/devices/virtual/dmi/id/board_asset_tag /var/lib/cloud/data/instance-id'
fi
for f in $IDFILES; do
  v=$(head -c 64 "$f" 2>/dev/null | tr -cd 'a-z0-9-')
  case $v in i-[0-9a-f]*) INSTANCE_V=$v; break ;; esac
done
rec "$R_HEAD" HOST hostname "$HOSTNAME_V" instance "$INSTANCE_V" os "$OS_V" kernel "$KERNEL_V"

# One pass over /proc: "pid comm" of every process (comm may hold spaces; it is the rest of the line).
PROCS="$TMP/procs"
: >"$PROCS"
if [ "$OFFLINE" != 1 ]; then
  for d in /proc/[0-9]*; do
    read -r c <"$d/comm" 2>/dev/null && printf '%s %s\n' "${d#/proc/}" "$c"
  done >"$PROCS" 2>/dev/null
fi

# ---- containers ------------------------------------------------------------------------------------------------------
RUNTIMES=$(awk '{ c = $0; sub(/^[0-9]+ /, "", c)
  if (c == "dockerd") r["docker"] = 1; else if (c == "containerd") r["containerd"] = 1; else if (c == "crio") r["cri-o"] = 1
  else if (c == "kubelet") r["kubelet"] = 1; else if (c == "podman" || c == "conmon") r["podman"] = 1 }
  END { for (k in r) print k }' "$PROCS" | sort)
if [ "$OFFLINE" = 1 ]; then
  # Nothing runs in a file tree: the runtimes installed in it say what will.
  RUNTIMES=$(for r in docker:usr/bin/dockerd containerd:usr/bin/containerd cri-o:usr/bin/crio kubelet:usr/bin/kubelet podman:usr/bin/podman; do
    [ -x "$RP/${r#*:}" ] && printf '%s\n' "${r%%:*}"; done)
fi
if [ -d "$RP/var/lib/ecs/data" ] || [ -f "$RP/etc/ecs/ecs.config" ]; then
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
  awk -v tz="$TZOFF" -v path="$HIST" -v maxcallers=50 "$AWKLIB"'@@ANALYZER_AWK@@' "$TMP/hist" >"$TMP/histrec"
  grep '^HISTLOG ' "$TMP/histrec" >>"$R_HEAD"
  grep -e '^V1 ' -e '^PARENT ' "$TMP/histrec" >>"$R_V1"
  grep '^NOTE ' "$TMP/histrec" >>"$R_NOTE"
fi

# ---- static inventory ------------------------------------------------------------------------------------------------
# Bounded: a fixed set of roots, -xdev, a depth limit and a time limit. Finds SDK install markers; versions come from
# the marker's name or a small file next to it. Container image layers on the host (Docker, containerd, Podman/CRI-O
# storage) are searched like the host, each layer as a root of its own.
LAYERS="$TMP/layers"
for d in "$RP"/var/lib/docker/overlay2/*/diff "$RP"/var/lib/containerd/io.containerd.snapshotter.v1.overlayfs/snapshots/*/fs \
  "$RP"/var/lib/containers/storage/overlay/*/diff; do
  [ -d "$d" ] && printf '%s\n' "$d"
done | head -n 300 >"$LAYERS"
set --
for d in usr opt home root srv var/lib var/www app; do
  [ -d "$RP/$d" ] && set -- "$@" "$RP/$d"
done
while IFS= read -r d; do set -- "$@" "$d"; done <"$LAYERS"
FOUND="$TMP/found"
: >"$FOUND"
if [ $# -gt 0 ]; then
  # Layers are pruned where the /var/lib search meets them: they were given as roots above.
  timeout 60 find "$@" -xdev -maxdepth 12 \( -name proc -o -name sys -o -name .git -o -name .cache \
      -o -path '*/var/lib/docker/overlay2' -o -path '*/io.containerd.snapshotter.v1.overlayfs' -o -path '*/containers/storage/overlay' \) -prune -o \
    \( -type d \( -name 'botocore-[0-9]*' -o -name 'boto3-[0-9]*' -o -name 'awscli-[0-9]*' -o -name 'boto-[0-9]*' \
      -o -name 'aws-sdk-core-[0-9]*' \) -print \) -o \
    \( -type f \( -name '*.jar' -o -name '*.war' -o -name '*.ear' \
      -o -path '*/node_modules/aws-sdk/package.json' -o -path '*/aws-sdk-php/src/Sdk.php' \) -print \) \
    >"$FOUND.all" 2>/dev/null || note "static inventory: the file search stopped early or met unreadable directories"
  grep -v -e '\.[jwe]ar$' "$FOUND.all" | head -n 2000 >"$FOUND"
  grep -e '\.[jwe]ar$' "$FOUND.all" | head -n 5000 >"$TMP/jars"
fi

# Java: a jar named after the SDK for Java (plain, with its Maven group, the shaded bundle) gives its version by name.
# Any other jar, war or ear whose bytes mention the SDK (entry names are stored as plain text in a zip) is opened: its
# central directory is read with tail/od/awk, nested jars of fat jars (BOOT-INF/lib, WEB-INF/lib, lib) are named with
# their path inside, and META-INF/maven/**/pom.properties or the SDK's versionInfo.properties give the version when no
# name does. Entries are extracted with tail/head (stored) or gzip (deflated: the raw stream with a gzip header and the
# CRC-32 and size of the central directory as trailer). No unzip or JDK is needed.
zip_dir() { # FILE: "method csize usize crc offset<TAB>name" of each entry worth reading (local header offsets as found)
  _s=$(wc -c <"$1" 2>/dev/null | tr -cd 0-9)
  [ "${_s:-0}" -ge 22 ] || return 1
  _t=65557; [ "$_s" -lt "$_t" ] && _t=$_s
  # shellcheck disable=SC2046 # three numbers
  set -- "$1" $(tail -c "$_t" "$1" | od -An -v -tu1 | awk '{ for (i = 1; i <= NF; i++) b[n++] = $i }
    END { for (i = n - 22; i >= 0; i--) if (b[i] == 80 && b[i + 1] == 75 && b[i + 2] == 5 && b[i + 3] == 6) {
      printf "%d %.0f %.0f\n", i, b[i + 12] + 256 * (b[i + 13] + 256 * (b[i + 14] + 256 * b[i + 15])), b[i + 16] + 256 * (b[i + 17] + 256 * (b[i + 18] + 256 * b[i + 19])); exit } }')
  [ $# -eq 4 ] && [ "$3" -le 8388608 ] || return 1
  # Where the directory really is: a file may carry a prefix (an executable Spring Boot jar starts with a script).
  _c=$((_s - _t + $2 - $3))
  [ "$_c" -ge 0 ] || return 1
  tail -c +"$((_c + 1))" "$1" | head -c "$3" | od -An -v -tu1 | awk -v delta="$((_c - $4))" "$AWKLIB"'
    function u16(i) { return b[i] + 256 * b[i + 1] }
    function u32(i) { return b[i] + 256 * (b[i + 1] + 256 * (b[i + 2] + 256 * b[i + 3])) }
    { for (i = 1; i <= NF; i++) b[n++] = $i }
    END {
      if (!AWKINIT) awkinit()
      i = 0
      while (i + 46 <= n && b[i] == 80 && b[i + 1] == 75 && b[i + 2] == 1 && b[i + 3] == 2) {
        nl = u16(i + 28); name = ""
        for (j = 0; j < nl && j < 500; j++) { c = b[i + 46 + j]; name = name ((c < 32 || c == 127) ? "?" : sprintf("%c", c)) }
        if (name ~ /\.jar$/ || name ~ /^META-INF\/maven\/(com\.amazonaws|software\.amazon\.awssdk)\/[^\/]+\/pom\.properties$/ || name == "com/amazonaws/sdk/versionInfo.properties")
          printf "%d %.0f %.0f %.0f %.0f\t%s\n", u16(i + 10), u32(i + 20), u32(i + 24), u32(i + 16), u32(i + 42) + delta, name
        i += 46 + nl + u16(i + 30) + u16(i + 32)
      }
    }'
}
zip_cat() { # FILE METHOD CSIZE USIZE CRC OFFSET: the entry's bytes on stdout
  _h=$(tail -c +"$(($6 + 1))" "$1" | head -c 30 | od -An -v -tu1 | awk '{ for (i = 1; i <= NF; i++) b[n++] = $i }
    END { if (b[0] == 80 && b[1] == 75 && b[2] == 3 && b[3] == 4) print 30 + b[26] + 256 * b[27] + b[28] + 256 * b[29] }')
  [ -n "$_h" ] || return 1
  case $2 in
    0) tail -c +"$(($6 + _h + 1))" "$1" | head -c "$3" ;;
    8)
      [ -n "$GZIP_OK" ] || return 1
      {
        printf '\037\213\010\000\000\000\000\000\000\377'
        tail -c +"$(($6 + _h + 1))" "$1" | head -c "$3"
        printf '%b' "$(awk -v c="$5" -v s="$4" 'BEGIN { for (k = 0; k < 4; k++) { printf "\\0%03o", c % 256; c = int(c / 256) }
          for (k = 0; k < 4; k++) { printf "\\0%03o", s % 256; s = int(s / 256) } }')"
      } | gzip -dc 2>/dev/null ;;
    *) return 1 ;;
  esac
}
GZIP_OK=''; command -v gzip >/dev/null 2>&1 && GZIP_OK=1
: >"$TMP/jar.unread"; : >"$TMP/jar.nogzip"; : >"$TMP/jar.opened"
# jar_versions FILE LABEL DEPTH: "id<TAB>version<TAB>path" for every SDK inside FILE (LABEL is its path as printed).
# What could not be read is counted in files (this runs in subshells): $TMP/jar.unread, $TMP/jar.nogzip.
jar_versions() {
  zip_dir "$1" >"$TMP/zd$3" 2>/dev/null || { echo x >>"$TMP/jar.unread"; return; }
  _found=''
  while IFS="$TAB" read -r _m _name; do
    _id=$(printf '%s\n' "$_name" | awk "$AWKLIB"'{ printf "%s", jarid($0) }')
    # shellcheck disable=SC2086 # five numbers
    set -- "$1" "$2" "$3" $_m
    case $_name in
      *.jar)
        [ -n "$_id" ] || continue
        _r=''
        case $_id in
          *"$TAB?")
            # A nested jar named without its version: open it (two levels at most) for its pom.properties.
            if [ "$3" -lt 2 ] && zip_cat "$1" "$4" "$5" "$6" "$7" "$8" >"$TMP/nest$3.jar" 2>/dev/null; then
              _f0=$_found; _r=$(jar_versions "$TMP/nest$3.jar" "$2!/$_name" $(($3 + 1))); _found=$_f0
            elif [ "$4" = 8 ] && [ -z "$GZIP_OK" ]; then echo x >>"$TMP/jar.nogzip"; fi ;;
        esac
        if [ -n "$_r" ]; then printf '%s\n' "$_r"; else printf '%s\t%s\n' "$_id" "$2!/$_name"; fi ;;
      *)
        [ -n "$_found" ] && continue
        _v=$(zip_cat "$1" "$4" "$5" "$6" "$7" "$8" 2>/dev/null | head -c 4096 | sed -n 's/^version=\([0-9][0-9A-Za-z.+_-]*\).*/\1/p' | head -n 1)
        [ -n "$_v" ] || { [ "$4" = 8 ] && [ -z "$GZIP_OK" ] && echo x >>"$TMP/jar.nogzip"; continue; }
        case $_name in */software.amazon.awssdk/*) _id=aws-java-sdk-v2 ;; *) _id=aws-java-sdk-v1 ;; esac
        printf '%s\t%s\t%s\n' "$_id" "$_v" "$2!/$_name"; _found=1 ;;
    esac
  done <"$TMP/zd$3"
}
TAB=$(printf '\t')
if [ -s "$TMP/jars" ]; then
  awk "$AWKLIB"'{ id = jarid($0); if (id != "" && id !~ /\t\?$/) print "N\t" id "\t" $0; else print "I\t" $0 }' "$TMP/jars" >"$TMP/jars.c"
  grep '^N' "$TMP/jars.c" | cut -f 2- >>"$TMP/pkgs"
  if command -v od >/dev/null 2>&1; then
    DEADLINE=$(( $(date +%s) + 60 ))
    grep '^I' "$TMP/jars.c" | cut -f 2- | while IFS= read -r j; do
      [ "$(date +%s)" -lt "$DEADLINE" ] || { note "static inventory: stopped opening jars after 60 s"; break; }
      # Cheap filter first: a zip names its entries in plain text, so a jar without the SDK never mentions it.
      timeout 10 grep -q -a -F -e 'aws-java-sdk' -e 'com/amazonaws/sdk/' -e 'software/amazon/awssdk/' -e 'software.amazon.awssdk' "$j" 2>/dev/null || continue
      echo x >>"$TMP/jar.opened"
      [ "$(wc -l <"$TMP/jar.opened")" -le 300 ] || { note "static inventory: opened 300 jars that mention the SDK; the rest were not read"; break; }
      jar_versions "$j" "$j" 0
    done >>"$TMP/pkgs"
    n=$(wc -l <"$TMP/jar.unread")
    [ "$n" -gt 0 ] && note "static inventory: $n jar(s) that mention the SDK for Java could not be read as zip files"
    n=$(wc -l <"$TMP/jar.nogzip")
    [ "$n" -gt 0 ] && note "static inventory: gzip is missing, so $n compressed pom.properties or nested jar(s) were not read"
  else
    note "static inventory: od is missing, so jars not named after the SDK for Java (fat jars, shaded jars) were not opened"
  fi
fi

# Go: every Go binary carries its build info (what `go version -m` prints: "path", "mod", "dep" and "=>" lines between
# two 16-byte sentinels) as plain text, in the .go.buildinfo section since Go 1.18 and as a string before that. grep
# reads the dep lines straight from the file, and from /proc/<pid>/exe for running processes, which also reaches
# binaries inside containers' mount namespaces and binaries deleted since they started.
GOBIN="$TMP/gobin"
{
  for d in "$RP/usr/local/bin" "$RP/opt" "$RP/app" "$RP/srv"; do
    [ -d "$d" ] && timeout 10 find "$d" -xdev -maxdepth 4 -type f -perm -u+x -size -300M 2>/dev/null | head -n 300
  done
  while IFS= read -r l; do
    for d in "$l/usr/local/bin" "$l/app" "$l/opt"; do
      [ -d "$d" ] && timeout 10 find "$d" -xdev -maxdepth 3 -type f -perm -u+x -size -300M 2>/dev/null | head -n 50
    done
  done <"$LAYERS"
} | awk '!seen[$0]++' | head -n 600 | while IFS= read -r b; do printf '%s\t%s\n' "$b" "$b"; done >"$GOBIN"
if [ "$OFFLINE" != 1 ]; then
  MYNS=$(readlink /proc/self/ns/mnt 2>/dev/null)
  for d in /proc/[0-9]*; do
    t=$(readlink "$d/exe" 2>/dev/null) || continue
    ns=$(readlink "$d/ns/mnt" 2>/dev/null)
    # The same program in the same mount namespace is read once; one found on disk above is not read again.
    if [ "$ns" = "$MYNS" ] && [ -f "$t" ]; then printf '%s\t%s\n' "$t" "$t"
    else printf '%s\t%s\n' "$d/exe" "$d/exe -> $t"; fi
  done | awk -F '\t' '!seen[$2]++' | head -n 300 >>"$GOBIN"
fi
GODEP=$(printf '^(dep|=>)\t')
awk -F '\t' '!seen[$1]++' "$GOBIN" | while IFS="$TAB" read -r b label; do
  [ -f "$b" ] || continue
  timeout 5 grep -a -E "$GODEP" "$b" 2>/dev/null | head -n 2000 | awk -F '\t' -v p="$label" '
    # A "=>" line replaces the module of the dep line before it (go.mod replace): the replacement is what was built.
    $1 == "dep" { flush(); m = $2; v = $3; next }
    $1 == "=>" { if (m != "") v = ($3 ~ /^v[0-9]/) ? $3 : "?"; next }
    function flush() { if (m == "github.com/aws/aws-sdk-go" || m == "github.com/aws/aws-sdk-go-v2") { sub(/^v/, "", v); print (m ~ /-v2$/ ? "aws-sdk-go-v2" : "aws-sdk-go") "\t" v "\t" p } m = "" }
    END { flush() }'
done >>"$TMP/pkgs"
# Versions from markers: turn every find hit into "id<TAB>version<TAB>path".
while IFS= read -r p; do
  base=${p##*/}
  case $p in
    */node_modules/aws-sdk/package.json)
      v=$(sed -n 's/^[[:space:]]*"version"[[:space:]]*:[[:space:]]*"\([^"]*\)".*/\1/p' "$p" | head -n 1)
      printf 'aws-sdk-js-v2\t%s\t%s\n' "$v" "${p%/package.json}" ;;
    */aws-sdk-php/src/Sdk.php)
      v=$(sed -n "s/.*const VERSION = '\\([^']*\\)'.*/\\1/p" "$p" | head -n 1)
      printf 'aws-sdk-php\t%s\t%s\n' "$v" "${p%/src/Sdk.php}" ;;
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
done <"$FOUND" >>"$TMP/pkgs"

# Agents installed from packages: the package databases of ROOT (rpm --root, dpkg's status file) give their versions.
pkgver() {
  v=''
  if [ "$ROOT" = / ]; then
    command -v rpm >/dev/null 2>&1 && v=$(timeout 20 rpm -q --qf '%{VERSION}' "$1" 2>/dev/null | grep -E '^[0-9]' | head -n 1)
    [ -z "$v" ] && command -v dpkg-query >/dev/null 2>&1 && v=$(dpkg-query -W -f='${Version}' "$1" 2>/dev/null | sed 's/^[0-9]*://; s/-[^-]*$//')
    [ -z "$v" ] && [ "$OFFLINE" != 1 ] && command -v snap >/dev/null 2>&1 && v=$(timeout 10 snap list "$1" 2>/dev/null | awk 'NR == 2 { print $2 }')
  else
    [ -d "$RP/var/lib/rpm" ] && command -v rpm >/dev/null 2>&1 && v=$(timeout 20 rpm --root "$RP" -q --qf '%{VERSION}' "$1" 2>/dev/null | grep -E '^[0-9]' | head -n 1)
    [ -z "$v" ] && v=$(awk -v p="$1" '/^Package: / { on = ($2 == p) } on && /^Version: / { v = $2; sub(/^[0-9]*:/, "", v); sub(/-[^-]*$/, "", v); print v; exit }' "$RP/var/lib/dpkg/status" 2>/dev/null)
  fi
  printf '%s' "$v" | tr -cd '0-9A-Za-z.+~_-' | head -c 60
}
v=$(pkgver amazon-ssm-agent)
if [ -n "$v" ] || [ -x "$RP/usr/bin/amazon-ssm-agent" ] || [ -x "$RP/snap/amazon-ssm-agent/current/amazon-ssm-agent" ]; then
  printf 'ssm-agent\t%s\t%s\n' "$v" amazon-ssm-agent >>"$TMP/pkgs"
fi
v=$(pkgver cloud-init)
[ -z "$v" ] && [ "$OFFLINE" != 1 ] && command -v cloud-init >/dev/null 2>&1 && v=$(timeout 10 cloud-init --version 2>&1 | awk '{ print $NF }' | head -n 1)
[ -n "$v" ] && printf 'cloud-init\t%s\t%s\n' "$v" cloud-init >>"$TMP/pkgs"
if [ -d "$RP/opt/aws/amazon-cloudwatch-agent" ]; then
  v=$(head -c 40 "$RP/opt/aws/amazon-cloudwatch-agent/bin/CWAGENT_VERSION" 2>/dev/null | tr -cd '0-9A-Za-z.+-')
  printf 'amazon-cloudwatch-agent\t%s\t%s\n' "$v" "$RP/opt/aws/amazon-cloudwatch-agent" >>"$TMP/pkgs"
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
# Vendor agents of the knowledge base (+ the user's extension): found by a running process or an existing path; the
# version, when a package of theirs is installed, lets the tool tell releases that need IMDSv1 from those that do not.
printf '%s\n' "$AGENTS" | while IFS='|' read -r aname aprocs apaths astatus aadvice apkgs; do
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
  av=''
  for pk in $apkgs; do av=$(pkgver "$pk"); [ -n "$av" ] && { [ -n "$hit" ] || hit="package $pk"; break; }; done
  [ -n "$hit" ] || continue
  line="PKG eco=vendor name=$aname"
  [ -n "$av" ] && line="$line version=$av"
  line="$line path=$(rec /dev/stdout X p "$hit" | sed 's/^X p=//') status=$astatus"
  [ -n "$aadvice" ] && line="$line advice=$aadvice"
  printf '%s\n' "$line" >>"$R_PKGBAD"
done

# ---- live attribution ------------------------------------------------------------------------------------------------
BT=$(command -v bpftrace 2>/dev/null)
[ "$OFFLINE" = 1 ] && BT=''
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
elif [ "$OFFLINE" = 1 ]; then
  TRACER_NOTE="offline inventory of $ROOT: nothing was traced"
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
[ "$(id -u)" = 0 ] || [ "$OFFLINE" = 1 ] || note "not running as root: live attribution and some inventory are limited"
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
