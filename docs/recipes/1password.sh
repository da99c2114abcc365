#!/bin/sh
# jimsctl `cmd:` recipe for 1Password's command-line client `op` (signed in, or with
# OP_SERVICE_ACCOUNT_TOKEN set). Reads the `password` field of the item named after the secret
# key asked in the vault "$JIMS_OP_VAULT" (default: JIMS); jimsctl asks a row's keys one at a
# time, most specific first.
#   jimsctl import EXPORT --target DIR --secrets "cmd:docs/recipes/1password.sh"
set -f
IFS='
'
for key in $JIMS_SECRET_KEYS; do
  if op item get "$key" --vault "${JIMS_OP_VAULT:-JIMS}" --fields label=password --reveal 2>/dev/null | grep .; then
    exit 0
  fi
done
exit 1
