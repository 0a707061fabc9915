#!/bin/sh
# Put Revive in your application menu (for you only, no root needed):
#   ./install-desktop-entry.sh            add the menu entry and icon
#   ./install-desktop-entry.sh --remove   take them out again
# Run it again after moving this folder: the entry points at where Revive is now.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
data="${XDG_DATA_HOME:-$HOME/.local/share}"
entry="$data/applications/org.revive.Revive.desktop"
icon="$data/icons/hicolor/512x512/apps/org.revive.Revive.png"
if [ "${1:-}" = "--remove" ]; then
    rm -f "$entry" "$icon"
    echo "Revive removed from the application menu."
    exit 0
fi
mkdir -p "$(dirname "$entry")" "$(dirname "$icon")"
cp "$here/revive.png" "$icon"
sed -e "s|^Exec=.*|Exec=\"$here/Revive\" %F|" -e "s|^Icon=.*|Icon=org.revive.Revive|" \
    "$here/revive.desktop" > "$entry"
command -v update-desktop-database >/dev/null 2>&1 && update-desktop-database "$data/applications" || true
echo "Revive added to the application menu ($entry)."
