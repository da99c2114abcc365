#!/bin/sh
# jimsctl `cmd:` recipe for the Bitwarden command-line client `bw` (unlocked: BW_SESSION set).
# Prints the password of the item named after the secret key asked (jimsctl asks a row's keys
# one at a time, most specific first).
#   jimsctl import EXPORT --target DIR --secrets "cmd:docs/recipes/bitwarden.sh"
set -f
IFS='
'
for key in $JIMS_SECRET_KEYS; do
  if bw get password "$key" 2>/dev/null | grep .; then
    exit 0
  fi
done
exit 1
