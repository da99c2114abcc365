#!/bin/sh
# jimsctl `cmd:` recipe for the Bitwarden command-line client `bw` (unlocked: BW_SESSION set).
# Prints the password of the item named after the secret key asked (jimsctl asks a row's keys
# one at a time, most specific first).
#   jimsctl import EXPORT --target DIR --secrets "cmd:docs/recipes/bitwarden.sh"
#
# Exit 0 with the password; exit 1 when no key asked names an item ("not found"); exit 2 with
# bw's message when bw fails otherwise (locked, logged out, several items of that name).
set -f
IFS='
'
err=$(mktemp) || exit 2
trap 'rm -f "$err"' EXIT
for key in $JIMS_SECRET_KEYS; do
  if value=$(bw get password "$key" 2>"$err"); then
    if [ -n "$value" ]; then
      printf '%s\n' "$value"
      exit 0
    fi
    continue
  fi
  # bw says "Not found." for a name it does not know.
  grep -qx "Not found\." "$err" && continue
  echo "bw get password $key failed: $(cat "$err")" >&2
  exit 2
done
exit 1
