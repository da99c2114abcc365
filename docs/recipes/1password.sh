#!/bin/sh
# jimsctl `cmd:` recipe for 1Password's command-line client `op` (signed in, or with
# OP_SERVICE_ACCOUNT_TOKEN set). Reads the `password` field of the item named after the secret
# key asked in the vault "$JIMS_OP_VAULT" (default: JIMS); jimsctl asks a row's keys one at a
# time, most specific first.
#   jimsctl import EXPORT --target DIR --secrets "cmd:docs/recipes/1password.sh"
#
# Exit 0 with the password; exit 1 when no key asked is an item of the vault ("not found");
# exit 2 with op's message when op fails otherwise (not signed in, no such vault, no network).
set -f
IFS='
'
err=$(mktemp) || exit 2
trap 'rm -f "$err"' EXIT
for key in $JIMS_SECRET_KEYS; do
  if value=$(op item get "$key" --vault "${JIMS_OP_VAULT:-JIMS}" --fields label=password --reveal 2>"$err"); then
    if [ -n "$value" ]; then
      printf '%s\n' "$value"
      exit 0
    fi
    continue
  fi
  # op says "… isn't an item in the … vault" for a name it does not know.
  grep -q "isn't an item" "$err" && continue
  echo "op item get $key failed: $(cat "$err")" >&2
  exit 2
done
exit 1
