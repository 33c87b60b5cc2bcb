#!/usr/bin/env bash
# Install the Debian packages named as arguments where what they provide is missing: with apt-get as root
# (or with passwordless sudo); otherwise name the exact command to run and stop. What counts as present is
# what the project uses (the command on PATH, PostgreSQL's initdb, Python's venv module), so a tool on a
# directory outside PATH is not counted.
# Usage: bash scripts/system.sh python3-venv redis-server chromium default-jre-headless postgresql
set -euo pipefail

present() {
  case "$1" in
    python3-venv)  # the interpreter scripts/env.sh picks
      local python="${PYTHON:-$(command -v python3.11 || command -v python3 || true)}"
      [ -n "$python" ] && "$python" -c 'import ensurepip, venv' 2>/dev/null ;;
    redis-server) command -v redis-server >/dev/null ;;
    chromium) command -v chromium >/dev/null || command -v chromium-browser >/dev/null ;;
    default-jre-headless) command -v java >/dev/null ;;
    maven) command -v mvn >/dev/null ;;
    postgresql) command -v initdb >/dev/null || compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null ;;
    *) dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed' ;;
  esac
}

missing=()
for package in "$@"; do
  present "$package" || missing+=("$package")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "${OUTSCALED_SKIP_SYSTEM_PACKAGES:-0}" = 1 ]; then
  echo "warning: not installing ${missing[*]} (OUTSCALED_SKIP_SYSTEM_PACKAGES=1): what needs them is skipped" >&2
  exit 0
fi
if ! command -v apt-get >/dev/null; then
  echo "error: missing ${missing[*]}, and this is not a Debian-like system (no apt-get): install their" \
       "equivalents, or set OUTSCALED_SKIP_SYSTEM_PACKAGES=1 to go on without them" >&2
  exit 1
fi
if [ "$(id -u)" -eq 0 ]; then
  as_root=()
elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
  as_root=(sudo)
else
  echo "error: missing Debian packages: ${missing[*]}. Install them with" >&2
  echo "  sudo apt-get install -y ${missing[*]}" >&2
  echo "and run this again (or set OUTSCALED_SKIP_SYSTEM_PACKAGES=1 to go on without them)." >&2
  exit 1
fi
echo "installing ${missing[*]} (apt-get, a few minutes the first time)..." >&2
"${as_root[@]}" apt-get update -qq
"${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
for package in "${missing[@]}"; do
  present "$package" || { echo "error: $package was installed but what it provides is still missing" >&2; exit 1; }
done
