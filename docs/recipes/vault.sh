#!/bin/sh
# jimsctl `cmd:` recipe for HashiCorp Vault's KV engine (VAULT_ADDR and VAULT_TOKEN set).
# Reads the `password` field at "$JIMS_VAULT_PATH/<key>" (default: secret/jims) for the key asked
# (jimsctl asks a row's keys one at a time, most specific first).
#   jimsctl import EXPORT --target DIR --secrets "cmd:docs/recipes/vault.sh"
# Store entries with e.g.: vault kv put secret/jims/templates/dc-readers password=…
set -f
IFS='
'
for key in $JIMS_SECRET_KEYS; do
  if vault kv get -field=password "${JIMS_VAULT_PATH:-secret/jims}/$key" 2>/dev/null | grep .; then
    exit 0
  fi
done
exit 1
