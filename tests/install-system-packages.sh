#!/usr/bin/env bash
# Installs, with apt, the Debian packages that bindep.txt lists (every profile, test included)
# and that are missing, plus make. Run as root on Debian; a no-op when everything is there. A
# plain reading of bindep's format: this runs before any Python tooling. Recommended packages
# are left out: chromium's (chromium-sandbox) is not needed, since the browser test starts it
# with --no-sandbox, as running as root requires.
set -euo pipefail
cd "$(dirname "$0")/.."

wanted=(make)
while read -r name rest; do
    [[ -z $name || $name == \#* ]] && continue
    # Lines limited to other platforms (e.g. [platform:rpm]) are not for Debian.
    if [[ $rest == *platform:* && $rest != *platform:dpkg* ]]; then
        continue
    fi
    wanted+=("$name")
done <bindep.txt

missing=()
for name in "${wanted[@]}"; do
    dpkg-query -W -f='${Status}' "$name" 2>/dev/null | grep -q 'install ok installed' ||
        missing+=("$name")
done
((${#missing[@]})) || exit 0
echo "install-system-packages: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
