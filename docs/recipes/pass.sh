#!/bin/sh
# jimsctl `cmd:` recipe for pass (https://www.passwordstore.org/).
# Looks up "$JIMS_PASS_PREFIX/<key>" (default prefix: jims) for the secret key asked (jimsctl
# asks a row's keys one at a time, most specific first) and prints the entry's first line.
#   jimsctl import EXPORT --target DIR --secrets "cmd:docs/recipes/pass.sh"
# Store entries with e.g.: pass insert jims/templates/dc-readers
set -f
IFS='
'
for key in $JIMS_SECRET_KEYS; do
  if pass show "${JIMS_PASS_PREFIX:-jims}/$key" 2>/dev/null | head -n 1 | grep .; then
    exit 0
  fi
done
exit 1
