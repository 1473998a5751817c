# imdsv2-cutover on-host probe for Windows (PowerShell 5.1+, run as SYSTEM/Administrator through SSM
# AWS-RunPowerShellScript). Prints the same "IMDSV2PROBE 1" line format as the Linux probe.
# Static inventory (AWS Tools for PowerShell, AWSSDK.Core.dll and NuGet's awssdk.core, EC2Config, EC2Launch v1 and v2,
# the SSM agent; their IMDS behaviour comes from the knowledge base when the output is parsed) and TCP connections to IMDS sampled
# once a second with their owning process (evidence "connection seen": the HTTP version is not visible this way).
# It never contacts IMDS, installs nothing and changes nothing.
$ErrorActionPreference = 'SilentlyContinue'
$ProbeVersion = '@@PROBE_VERSION@@'
$Window = @@WINDOW@@
$MaxOut = @@MAXOUT@@
$MinVersions = @'
@@MINVERSIONS@@
'@

function Enc([string]$s) {
  if ($null -eq $s) { return '' }
  $sb = New-Object System.Text.StringBuilder
  foreach ($b in [System.Text.Encoding]::UTF8.GetBytes($s)) {
    $c = [char]$b
    if (($b -lt 128) -and ($c -match '[A-Za-z0-9._~/:@+-]')) { [void]$sb.Append($c) } else { [void]$sb.Append(('%{0:X2}' -f $b)) }
  }
  $sb.ToString()
}
function Rec([string]$type, [System.Collections.Specialized.OrderedDictionary]$f) {
  $line = $type
  foreach ($k in $f.Keys) {
    $v = $f[$k]
    if ($null -eq $v -or "$v" -eq '') { continue }
    if ($v -is [array]) { $line += " $k=" + (($v | ForEach-Object { Enc "$_" }) -join ',') } else { $line += " $k=" + (Enc "$v") }
  }
  $line
}
function Redact([string]$s) {
  if (-not $s) { return $s }
  $s = $s -replace '(?i)(--?(password|passwd|secret|token|api-key|apikey|client-secret|access-token)[= ]+)[^ "'']+', '$1***'
  $s = $s -replace '(?i)(AWS_SECRET_ACCESS_KEY|AWS_SESSION_TOKEN)=[^ ]+', '$1=***'
  $s = $s -replace '(?i)(Authorization:\s*(Bearer|Basic)?\s*|X-aws-ec2-metadata-token:\s*)[^ "'']+', '$1***'
  $s = $s -replace '(?i)(://[^\s/@:]+):[^\s/@]+@', '$1:***@'
  $s -replace '(?i)([?&](token|secret|apikey)=)[^&\s"'']+', '$1***'
}
function VerCmp([string]$a, [string]$b) {
  $x = ($a -replace '^v', '' -split '[-+]')[0].Split('.'); $y = ($b -split '[-+]')[0].Split('.')
  for ($i = 0; $i -lt [Math]::Max($x.Length, $y.Length); $i++) {
    $p = 0; $q = 0; [void][int]::TryParse($x[$i], [ref]$p); [void][int]::TryParse($y[$i], [ref]$q)
    if ($p -lt $q) { return -1 }; if ($p -gt $q) { return 1 }
  }
  0
}
$Min = @{}
foreach ($l in ($MinVersions -split "`n")) { $f = $l.Trim() -split '\|'; if ($f.Length -ge 4) { $Min[$f[0]] = $f } }
function Pkg([string]$id, [string]$version, [string]$path) {
  $e = $Min[$id]; if (-not $e) { return $null }
  $status = 'unknown'; $advice = 'Version could not be compared: check it supports IMDSv2.'
  if ($version -match '^\d+(\.\d+)*' -and $e[3]) {
    if ((VerCmp $version $e[3]) -lt 0) { $status = 'outdated'; $advice = "Upgrade $($e[2]) to $($e[3]) or later." } else { $status = 'ok'; $advice = '' }
  }
  Rec 'PKG' ([ordered]@{ eco = $e[1]; name = $e[2]; version = $version; path = $path; min = $e[3]; status = $status; advice = $advice })
}

$started = (Get-Date).ToUniversalTime().ToString('yyyy-MM-ddTHH:mm:ssZ')
$head = New-Object System.Collections.Generic.List[string]
$v1 = New-Object System.Collections.Generic.List[string]
$pkgBad = New-Object System.Collections.Generic.List[string]
$pkgOk = New-Object System.Collections.Generic.List[string]
$notes = New-Object System.Collections.Generic.List[string]

$os = Get-CimInstance Win32_OperatingSystem
$instance = ''
$cached = 'C:\ProgramData\Amazon\EC2-Windows\Launch\Log\instance-id'
if (Test-Path $cached) { $instance = (Get-Content $cached -TotalCount 1) -replace '[^a-z0-9-]', '' }
$head.Add((Rec 'HOST' ([ordered]@{ hostname = $env:COMPUTERNAME; instance = $instance; os = $os.Caption; kernel = $os.Version })))
$runtimes = @()
if (Get-Service docker) { $runtimes += 'docker' }
if (Get-Service containerd) { $runtimes += 'containerd' }
if (Get-Service kubelet) { $runtimes += 'kubelet' }
if (Get-Service AmazonECS) { $runtimes += 'ecs-agent' }
$head.Add((Rec 'CONTAINERS' ([ordered]@{ detected = $(if ($runtimes.Count -gt 0) { '1' } else { '0' }); runtimes = $runtimes })))

# ---- static inventory (bounded: fixed roots, depth and time) ----
$deadline = (Get-Date).AddSeconds(60)
foreach ($m in (Get-Module -ListAvailable -Name AWSPowerShell, AWSPowerShell.NetCore, AWS.Tools.Common)) {
  $r = Pkg 'aws-tools-powershell' "$($m.Version)" $m.ModuleBase
  if ($r -match 'status=ok') { $pkgOk.Add($r) } else { $pkgBad.Add($r) }
}
# NuGet's global packages folder keeps each package version in a folder of its own: ~\.nuget\packages\awssdk.core\<version>.
foreach ($d in (Get-ChildItem -Path 'C:\Users\*\.nuget\packages\awssdk.core\*' -Directory | Select-Object -First 100)) {
  $r = Pkg 'awssdk-core-dotnet' $d.Name $d.FullName
  if ($r -match 'status=ok') { $pkgOk.Add($r) } else { $pkgBad.Add($r) }
}
foreach ($root in @($env:ProgramFiles, ${env:ProgramFiles(x86)}, 'C:\inetpub', 'C:\apps')) {
  if (-not $root -or -not (Test-Path $root)) { continue }
  if ((Get-Date) -gt $deadline) { $notes.Add((Rec 'NOTE' ([ordered]@{ text = 'static inventory: time limit reached' }))); break }
  foreach ($dll in (Get-ChildItem -Path $root -Filter AWSSDK.Core.dll -Recurse -Depth 6 -File | Select-Object -First 200)) {
    $r = Pkg 'awssdk-core-dotnet' $dll.VersionInfo.FileVersion $dll.FullName
    if ($r -match 'status=ok') { $pkgOk.Add($r) } else { $pkgBad.Add($r) }
  }
}
$ec2config = Join-Path $env:ProgramFiles 'Amazon\Ec2ConfigService\Ec2Config.exe'
if (Test-Path $ec2config) {
  $r = Pkg 'ec2config' (Get-Item $ec2config).VersionInfo.FileVersion (Split-Path $ec2config)
  if ($r -match 'status=ok') { $pkgOk.Add($r) } else { $pkgBad.Add($r) }
}
$ssm = Join-Path $env:ProgramFiles 'Amazon\SSM\amazon-ssm-agent.exe'
if (Test-Path $ssm) {
  $r = Pkg 'ssm-agent' (Get-Item $ssm).VersionInfo.FileVersion (Split-Path $ssm)
  if ($r -match 'status=ok') { $pkgOk.Add($r) } else { $pkgBad.Add($r) }
}
# EC2Launch v1 is a PowerShell module: its version is the manifest's ModuleVersion. EC2Launch v2 is an executable.
$launch1 = Join-Path $env:ProgramData 'Amazon\EC2-Windows\Launch\Module\Ec2Launch.psd1'
if (Test-Path $launch1) {
  $v = ''; $m = Select-String -Path $launch1 -Pattern "ModuleVersion\s*=\s*'([0-9.]+)'" | Select-Object -First 1
  if ($m) { $v = $m.Matches[0].Groups[1].Value }
  $pkgBad.Add((Rec 'PKG' ([ordered]@{ eco = 'agent'; name = 'EC2Launch'; version = $v; path = $launch1; status = 'unknown' })))
}
$launch2 = Join-Path $env:ProgramFiles 'Amazon\EC2Launch\EC2Launch.exe'
if (Test-Path $launch2) {
  $v = (Get-Item $launch2).VersionInfo.FileVersion
  $pkgBad.Add((Rec 'PKG' ([ordered]@{ eco = 'agent'; name = 'EC2Launch v2'; version = $v; path = $launch2; status = 'unknown' })))
}

# ---- sampled connections to IMDS with their owning process ----
$seen = @{}
$end = (Get-Date).AddSeconds($Window)
while ((Get-Date) -lt $end) {
  foreach ($c in (Get-NetTCPConnection -RemotePort 80 | Where-Object { $_.RemoteAddress -eq '169.254.169.254' -or $_.RemoteAddress -eq 'fd00:ec2::254' })) {
    $key = "$($c.OwningProcess)"
    $now = (Get-Date).ToUniversalTime().ToString('yyyy-MM-ddTHH:mm:ssZ')
    if (-not $seen.ContainsKey($key)) {
      $p = Get-CimInstance Win32_Process -Filter "ProcessId=$($c.OwningProcess)"
      $owner = $null; if ($p) { $o = Invoke-CimMethod -InputObject $p -MethodName GetOwner; if ($o.User) { $owner = "$($o.Domain)\$($o.User)" } }
      $parent = $null; if ($p) { $parent = Get-CimInstance Win32_Process -Filter "ProcessId=$($p.ParentProcessId)" }
      $seen[$key] = @{ p = $p; owner = $owner; parent = $parent; conns = @{}; first = $now; last = $now }
    }
    $seen[$key].conns["$($c.LocalPort)"] = 1
    $seen[$key].last = $now
  }
  Start-Sleep -Seconds 1
}
$id = 0
foreach ($k in $seen.Keys) {
  $s = $seen[$k]; $id++
  $name = if ($s.p) { $s.p.Name -replace '\.exe$', '' } else { '?' }
  $v1.Add((Rec 'V1' ([ordered]@{ id = $id; pid = $k; comm = $name; exe = $s.p.ExecutablePath; argv = (Redact $s.p.CommandLine); user = $s.owner; requests = $s.conns.Count; first = $s.first; last = $s.last; evidence = 'connection-seen' })))
  if ($s.parent) { $v1.Add((Rec 'PARENT' ([ordered]@{ of = $id; pid = $s.parent.ProcessId; comm = ($s.parent.Name -replace '\.exe$', ''); argv = (Redact $s.parent.CommandLine) }))) }
}
$ended = (Get-Date).ToUniversalTime().ToString('yyyy-MM-ddTHH:mm:ssZ')
$head.Add((Rec 'TRACER' ([ordered]@{ name = 'netstat-sampling'; note = 'Windows probe: sampled TCP connections to IMDS once a second; the HTTP version is not known' })))
$head.Add((Rec 'WINDOW' ([ordered]@{ seconds = $Window; start = $started; end = $ended })))
$head.Add('TOKENS n=0 undecided=0')

# ---- output with the same budget rule as the Linux probe ----
$header = "IMDSV2PROBE 1 probe=$ProbeVersion platform=windows"
$out = New-Object System.Text.StringBuilder
[void]$out.Append($header + "`n")
$used = $header.Length + 1; $kept = 0; $omitted = 0; $stop = $false
foreach ($r in (@($head) + @($v1) + @($pkgBad) + @($pkgOk) + @($notes))) {
  if (-not $r) { continue }
  if ($stop -or ($used + $r.Length + 1 + 64 -gt $MaxOut)) { $stop = $true; $omitted++; continue }
  [void]$out.Append($r + "`n"); $used += $r.Length + 1; $kept++
}
if ($omitted -gt 0) { [void]$out.Append("TRUNCATED omitted=$omitted`n"); $kept++ }
[void]$out.Append("END records=$kept`n")
[Console]::Out.Write($out.ToString())
