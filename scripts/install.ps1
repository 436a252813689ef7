# The procoder installer for Windows (the release attaches this file with its repository and
# version filled in):
#   powershell -ExecutionPolicy Bypass -c "irm https://github.com/OWNER/REPO/releases/download/vVERSION/install.ps1 | iex"
# Downloads the x64 archive, checks its sha256 against the release's SHA256SUMS, and installs
# procoder.exe (the sandbox helper is embedded in it) into $env:PROCODER_INSTALL_DIR (default
# %LOCALAPPDATA%\Programs\procoder), which it adds to the user's PATH.
# $env:PROCODER_DOWNLOAD_URL replaces the release's download folder (a mirror or a local copy).
$ErrorActionPreference = 'Stop'
$repo = '@REPO@'
$version = if ($env:PROCODER_VERSION) { $env:PROCODER_VERSION } else { '@VERSION@' }
if ((($repo + $version) -match '@') -and -not $env:PROCODER_DOWNLOAD_URL) {
    throw 'procoder install: this is the installer''s template: use the install.ps1 attached to a release'
}
$base = if ($env:PROCODER_DOWNLOAD_URL) { $env:PROCODER_DOWNLOAD_URL } else { "https://github.com/$repo/releases/download/v$version" }
if (-not [Environment]::Is64BitOperatingSystem) { throw 'procoder install: only 64-bit Windows (x64) has a release build' }
$target = 'x86_64-pc-windows-msvc'
$archive = "procoder-$version-$target.zip"
$dest = if ($env:PROCODER_INSTALL_DIR) { $env:PROCODER_INSTALL_DIR } else { Join-Path $env:LOCALAPPDATA 'Programs\procoder' }

$tmp = Join-Path ([IO.Path]::GetTempPath()) ("procoder-" + [Guid]::NewGuid())
New-Item -ItemType Directory -Path $tmp | Out-Null
try {
    Invoke-WebRequest -UseBasicParsing -Uri "$base/$archive" -OutFile (Join-Path $tmp $archive)
    Invoke-WebRequest -UseBasicParsing -Uri "$base/SHA256SUMS" -OutFile (Join-Path $tmp 'SHA256SUMS')
    $line = Get-Content (Join-Path $tmp 'SHA256SUMS') | Where-Object { ($_ -split '\s+')[1] -eq $archive } | Select-Object -First 1
    if (-not $line) { throw "procoder install: SHA256SUMS lists no $archive" }
    $expected = ($line -split '\s+')[0].ToLower()
    $actual = (Get-FileHash -Algorithm SHA256 (Join-Path $tmp $archive)).Hash.ToLower()
    if ($expected -ne $actual) { throw "procoder install: $archive has sha256 $actual, SHA256SUMS says $expected: not installed" }
    Expand-Archive -Path (Join-Path $tmp $archive) -DestinationPath $tmp
    New-Item -ItemType Directory -Force -Path $dest | Out-Null
    Copy-Item -Force (Join-Path $tmp "procoder-$version-$target\procoder.exe") (Join-Path $dest 'procoder.exe')
} finally {
    Remove-Item -Recurse -Force $tmp
}
Write-Output "Installed $dest\procoder.exe ($archive, sha256 $actual)"
& (Join-Path $dest 'procoder.exe') --version
$userPath = [Environment]::GetEnvironmentVariable('Path', 'User')
if (-not (($userPath -split ';') -contains $dest)) {
    [Environment]::SetEnvironmentVariable('Path', "$dest;$userPath", 'User')
    Write-Output "Added $dest to your PATH (open a new terminal to use it)"
}
