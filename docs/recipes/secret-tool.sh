#!/bin/sh
# jimsctl `cmd:` recipe for the freedesktop Secret Service (GNOME Keyring, KWallet) through
# secret-tool (Debian's libsecret-tools). Looks up the item whose attributes are
# service=jimsctl and key=<the secret key asked>; jimsctl asks a row's keys one at a time, most
# specific first.
#   jimsctl import EXPORT --target DIR --secrets "cmd:docs/recipes/secret-tool.sh"
# Store entries with e.g.: secret-tool store --label='JIMS dc-readers' service jimsctl key templates/dc-readers
#
# Exit 0 with the password; exit 1 when no key asked is stored ("not found": secret-tool exits
# 1 and says nothing); exit 2 with secret-tool's message when it fails (no D-Bus session, a
# locked keyring it cannot unlock).
set -f
IFS='
'
err=$(mktemp) || exit 2
trap 'rm -f "$err"' EXIT
for key in $JIMS_SECRET_KEYS; do
  if value=$(secret-tool lookup service jimsctl key "$key" 2>"$err") && [ -n "$value" ]; then
    printf '%s\n' "$value"
    exit 0
  fi
  if [ -s "$err" ]; then
    echo "secret-tool lookup of $key failed: $(cat "$err")" >&2
    exit 2
  fi
done
exit 1
