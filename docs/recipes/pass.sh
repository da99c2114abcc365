#!/bin/sh
# jimsctl `cmd:` recipe for pass (https://www.passwordstore.org/).
# Looks up "$JIMS_PASS_PREFIX/<key>" (default prefix: jims) for the secret key asked (jimsctl
# asks a row's keys one at a time, most specific first) and prints the entry's first line.
#   jimsctl import EXPORT --target DIR --secrets "cmd:docs/recipes/pass.sh"
# Store entries with e.g.: pass insert jims/templates/dc-readers
#
# Exit 0 with the password; exit 1 when no key asked is in the store ("not found": jimsctl asks
# the next source); exit 2 with pass's or gpg's own message on stderr when pass or gpg fails
# (a wrong GNUPGHOME, a missing secret key, an agent that cannot ask for the passphrase): that
# is an error, never "not found".
set -f
IFS='
'
store="${PASSWORD_STORE_DIR:-$HOME/.password-store}"
err=$(mktemp) || exit 2
trap 'rm -f "$err"' EXIT
for key in $JIMS_SECRET_KEYS; do
  entry="${JIMS_PASS_PREFIX:-jims}/$key"
  # Not in the store: the next key.
  [ -f "$store/$entry.gpg" ] || continue
  if value=$(pass show "$entry" 2>"$err"); then
    first=$(printf '%s\n' "$value" | head -n 1)
    if [ -n "$first" ]; then
      printf '%s\n' "$first"
      exit 0
    fi
    echo "pass: $entry is empty (its first line is the password)" >&2
    exit 2
  fi
  echo "pass show $entry failed: $(cat "$err")" >&2
  exit 2
done
exit 1
