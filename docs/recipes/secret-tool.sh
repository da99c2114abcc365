#!/bin/sh
# jimsctl `cmd:` recipe for the freedesktop Secret Service (GNOME Keyring, KWallet) through
# secret-tool (Debian's libsecret-tools). Looks up the item whose attributes are
# service=jimsctl and key=<the secret key asked>; jimsctl asks a row's keys one at a time, most
# specific first.
#   jimsctl import EXPORT --target DIR --secrets "cmd:docs/recipes/secret-tool.sh"
# Store entries with e.g.: secret-tool store --label='JIMS dc-readers' service jimsctl key templates/dc-readers
set -f
IFS='
'
for key in $JIMS_SECRET_KEYS; do
  if secret-tool lookup service jimsctl key "$key" 2>/dev/null; then
    exit 0
  fi
done
exit 1
