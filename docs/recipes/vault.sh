#!/bin/sh
# jimsctl `cmd:` recipe for HashiCorp Vault's KV engine (VAULT_ADDR and VAULT_TOKEN set).
# Reads the `password` field at "$JIMS_VAULT_PATH/<key>" (default: secret/jims) for the key asked
# (jimsctl asks a row's keys one at a time, most specific first).
#   jimsctl import EXPORT --target DIR --secrets "cmd:docs/recipes/vault.sh"
# Store entries with e.g.: vault kv put secret/jims/templates/dc-readers password=…
#
# Exit 0 with the password; exit 1 when no key asked has a secret ("not found"); exit 2 with
# vault's message when vault fails otherwise (sealed, no network, permission denied).
set -f
IFS='
'
err=$(mktemp) || exit 2
trap 'rm -f "$err"' EXIT
for key in $JIMS_SECRET_KEYS; do
  path="${JIMS_VAULT_PATH:-secret/jims}/$key"
  if value=$(vault kv get -field=password "$path" 2>"$err"); then
    if [ -n "$value" ]; then
      printf '%s\n' "$value"
      exit 0
    fi
    continue
  fi
  # vault says "No value found at …" for a path that holds nothing.
  grep -q "No value found at" "$err" && continue
  echo "vault kv get $path failed: $(cat "$err")" >&2
  exit 2
done
exit 1
