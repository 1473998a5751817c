# Reads the log of AWS's IMDS packet analyzer (github.com/aws/aws-imds-packet-analyzer, src/imds_snoop.py) and prints
# probe records: HISTLOG (counts), V1 + PARENT per IMDSv1 caller (evidence historic-log), NOTE for what it could not use.
# Runs with the awk helpers of awklib.awk (enc, redact) and these variables: tz (the host's UTC offset, +HH:MM), path
# (the log's path as printed), maxcallers (V1 records at most).
#
# What the analyzer writes, one entry a line ('[%(asctime)s] [%(levelname)s] %(message)s', rotated .1 to .5):
#   IMDSv1(!) (pid:N:COMM argv:ARGV) called by -> (pid:N:COMM argv:ARGV) -> (...) -> (...)   [WARNING]
#   IMDSv2 (pid:...) ...                                                                       [INFO]
#   {MISSING PAYLOAD} IMDSv1(!) (pid:...) ...                                                  [ERROR], undecidable
# "(pid:N unable to get argv information)" stands for a process whose /proc entry was gone (it had exited); since 2023
# the request follows as " Req details: GET /path HTTP/1.1, Host: ..."; since 2024 the whole message is lower-cased.
# COMM is the kernel's task name (up to 15 bytes, may hold spaces); ARGV is the command line and may hold anything,
# even a newline (then the entry continues on the next line, which does not start with "[").
# Rules: an IMDSv1 entry is never dropped: a caller whose name is unknown is kept under its pid, one that names no
# process at all under pid 0; an entry that is neither IMDSv1 at WARNING nor IMDSv2 at INFO is counted as undecided.
function ts(l,   t) {
  if (!match(l, /^\[[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9][T ][0-9][0-9]:[0-9][0-9]:[0-9][0-9]/)) return ""
  t = substr(l, 2, RLENGTH - 1); sub(/ /, "T", t); return t tz
}
# A pid as the analyzer printed it (decimal), "" when it is not one (pid_max is at most 4194304: 7 digits).
function pidval(s) {
  sub(/^0+/, "", s)
  if (s == "") return "0"
  return (length(s) <= 10) ? s : ""
}
# One "(pid:...)" entry into E_PID, E_COMM, E_ARGV ("" when unknown). Returns 0 when it names no pid.
function entry(e,   m) {
  E_PID = ""; E_COMM = ""; E_ARGV = ""
  sub(/^ +/, "", e)
  if (!match(e, /^\(pid:[0-9]+/)) return 0
  E_PID = pidval(substr(e, 6, RLENGTH - 5)); e = substr(e, RLENGTH + 1)
  sub(/\) *$/, "", e)
  if (substr(e, 1, 1) == ":") {
    e = substr(e, 2); m = index(e, " argv:")
    if (m) { E_COMM = substr(e, 1, m - 1); E_ARGV = substr(e, m + 6) } else E_COMM = e
    sub(/ +$/, "", E_ARGV)
  }
  return E_PID != ""
}
# Splits the process chain of an entry ("(pid:..) called by -> (pid:..) -> (pid:..)") into CH[1..n]; returns n.
function chain(s,   n) {
  n = 0; s = " " s
  while (match(s, / (called by )?-> \(pid:[0-9]/)) {
    CH[++n] = substr(s, 1, RSTART - 1); s = substr(s, RSTART + RLENGTH - 6)
  }
  CH[++n] = s
  return n
}
function v1entry(l, low,   p, c, d, det, n, i, key, pth, pr) {
  v1++
  p = index(low, "imdsv1(!)"); c = substr(l, p + 9); d = index(tolower(c), " req details:")
  det = ""
  if (d) { det = substr(c, d + 13); c = substr(c, 1, d - 1) }
  n = chain(c)
  if (entry(CH[1])) {
    # A named process is one caller however often it ran (as the live tracer merges); a process whose name the
    # analyzer could not read is known only by its pid.
    key = (E_COMM != "") ? ("n" SUBSEP E_COMM SUBSEP E_ARGV) : ("p" SUBSEP E_PID)
  } else key = "u"
  if (!(key in cnt)) {
    if (nk >= 5000) { lostreq++; return }
    order[++nk] = key; pidof[key] = (key == "u") ? "0" : E_PID; commof[key] = E_COMM; argvof[key] = E_ARGV
    first[key] = ts(l); par[key] = ""
    for (i = 2; i <= n && i <= 9; i++) if (entry(CH[i])) par[key] = par[key] E_PID "\t" E_COMM "\t" E_ARGV "\n"
  }
  cnt[key]++; last[key] = ts(l)
  if (match(tolower(det), /^ *(get|head|post|put|delete|patch|options) [^ ,]+/)) {
    pth = substr(det, RSTART, RLENGTH); sub(/^ *[^ ]+ /, "", pth); sub(/[?#].*/, "", pth); pth = substr(pth, 1, 200)
    if (pth != "" && !((key, pth) in seenp) && np[key] < 20) { seenp[key, pth] = 1; paths[key] = paths[key] pth "\n"; np[key]++ }
  }
}
function one(l,   low, und) {
  low = tolower(l)
  if (index(low, "{missing payload}")) und = 1
  else if (index(low, "imdsv1(!)") && index(low, "] [warning] ")) { v1entry(l, low); return }
  else if (index(low, "] [info] imdsv2 ")) { v2++; return }
  else if (index(low, "(pid:") || index(low, "imdsv1(!)") || index(low, "imdsv2")) und = 1
  if (und) {
    undec++
    if (entry(substr(l, index(l, "(pid:")))) { u = (E_COMM != "" ? E_COMM : "?") "(" E_PID ")"; if (!(u in useen) && nu < 5) { useen[u] = 1; ulist = ulist (nu++ ? ", " : "") u } }
  }
}
{
  # An entry starts with its "[date time]"; a line that does not continues the one before (an argv with a newline).
  if (substr($0, 1, 1) == "[" || cur == "") { if (cur != "") one(cur); cur = $0 }
  else if (length(cur) < 16000) cur = cur " " $0
}
END {
  if (cur != "") one(cur)
  printf "HISTLOG path=%s v1=%d v2=%d undecided=%d\n", enc(path), v1, v2, undec
  # Busiest callers first (the output budget keeps a prefix); a plain selection, nk is small.
  for (o = 1; o <= nk && o <= maxcallers; o++) {
    best = 0
    for (i = 1; i <= nk; i++) if (!(i in done) && (best == 0 || cnt[order[i]] > cnt[order[best]])) best = i
    done[best] = 1; key = order[best]; id = "h" o
    pl = ""; m = split(paths[key], pa, "\n"); for (j = 1; j <= m; j++) if (pa[j] != "") pl = pl (pl == "" ? "" : ",") enc(pa[j])
    printf "V1 id=%s pid=%s", id, pidof[key]
    if (commof[key] != "") printf " comm=%s", enc(substr(commof[key], 1, 64))
    if (argvof[key] != "") printf " argv=%s", enc(redact(substr(argvof[key], 1, 600)))
    printf " requests=%d", cnt[key]
    if (first[key] != "") printf " first=%s", enc(first[key])
    if (last[key] != "") printf " last=%s", enc(last[key])
    printf " evidence=historic-log paths=%s\n", pl
    m = split(par[key], pr, "\n")
    for (j = 1; j <= m; j++) if (pr[j] != "") {
      split(pr[j], f, "\t")
      printf "PARENT of=%s pid=%s", id, f[1]
      if (f[2] != "") printf " comm=%s", enc(substr(f[2], 1, 64))
      if (f[3] != "") printf " argv=%s", enc(redact(substr(f[3], 1, 300)))
      printf "\n"
    }
  }
  if (nk > maxcallers || lostreq > 0) {
    rest = lostreq; for (i = 1; i <= nk; i++) if (!(i in done)) rest += cnt[order[i]]
    printf "NOTE text=%s\n", enc("packet analyzer log: " (nk > maxcallers ? nk - maxcallers : 0) "+ more IMDSv1 callers not listed (" rest " request(s)); read " path " on the host")
  }
  if (undec > 0) printf "NOTE text=%s\n", enc("packet analyzer log: " undec " entr" (undec == 1 ? "y" : "ies") " could not be classified (missing payload or unknown form), not counted as IMDSv1 or IMDSv2" (ulist != "" ? "; processes: " ulist : ""))
}
