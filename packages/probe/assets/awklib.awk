# awk helpers shared by every awk program of the Linux probe (embedded as AWKLIB by linuxProbeScript).
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
# What a jar's file name (or path) says about the AWS SDK for Java: "aws-java-sdk-v1<TAB>VERSION" for the 1.x core
# (aws-java-sdk-core-1.11.500.jar, com.amazonaws.aws-java-sdk-core-1.11.245.jar named with its Maven group), the
# shaded bundle (aws-java-sdk-bundle-1.11.271.jar) and the old all-in-one jar (aws-java-sdk-1.10.0.jar);
# "aws-java-sdk-v2<TAB>VERSION" for the 2.x core (aws-core-2.20.0.jar) and bundle (bundle-2.20.0.jar, named so only
# under software/amazon/awssdk or with its group); VERSION is "?" when the name carries none; "" for any other jar.
function jarid(p,   b, id, v) {
  b = p; sub(/.*\//, "", b)
  if (b !~ /\.jar$/ || b ~ /-(sources|javadoc|tests)\.jar$/) return ""
  sub(/\.jar$/, "", b)
  if (b ~ /^software\.amazon\.awssdk[.-]bundle/ || p ~ /software\/amazon\/awssdk\/bundle\//) { sub(/^software\.amazon\.awssdk[.-]/, "", b); if (b !~ /^bundle(-2\.|$)/) return ""; id = "aws-java-sdk-v2"; v = b; sub(/^bundle-?/, "", v) }
  else {
    sub(/^com\.amazonaws[.-]/, "", b); sub(/^software\.amazon\.awssdk[.-]/, "", b)
    if (b ~ /^aws-java-sdk-(core|bundle)(-[0-9]|$)/) { id = "aws-java-sdk-v1"; v = b; sub(/^aws-java-sdk-(core|bundle)-?/, "", v) }
    else if (b ~ /^aws-java-sdk-1\.[0-9]/) { id = "aws-java-sdk-v1"; v = b; sub(/^aws-java-sdk-/, "", v) }
    else if (b ~ /^aws-core(-2\.|$)/) { id = "aws-java-sdk-v2"; v = b; sub(/^aws-core-?/, "", v) }
    else return ""
  }
  return id "\t" (v == "" ? "?" : v)
}
