#!/usr/bin/env bash
# Validates the OpenAPI document (openapi/openapi.json, or the file given as
# $1) with Redocly CLI, pinned in package.json. Only rules about validity and
# what clients rely on are errors: the OpenAPI 3.1 structure (`struct`: e.g.
# every response has a description), resolvable $refs, servers, unique
# url-safe operationIds, declared tags on every operation, path parameters,
# examples matching their schemas. Style rules (4xx responses, summaries,
# kebab-case, ...) are not checked. Exits non-zero on any error.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh
ensure_node_tools

spec="${1:-openapi/openapi.json}"
config=$(mktemp --suffix=.yaml)
trap 'rm -f "$config"' EXIT
cat > "$config" <<'YAML'
# No preset: every rule is named here.
rules:
  struct: error
  no-unresolved-refs: error
  spec-components-invalid-map-name: error
  no-empty-servers: error
  no-server-trailing-slash: error
  no-undefined-server-variable: error
  no-server-variables-empty-enum: error
  operation-operationId: error
  operation-operationId-unique: error
  operation-operationId-url-safe: error
  operation-tag-defined: error
  no-duplicated-tag-names: error
  operation-2xx-response: error
  operation-parameters-unique: error
  path-parameters-defined: error
  path-declaration-must-exist: error
  path-not-include-query: error
  no-identical-paths: error
  no-ambiguous-paths: warn
  no-enum-type-mismatch: error
  no-required-schema-properties-undefined: error
  no-schema-type-mismatch: error
  no-invalid-media-type-examples: error
  no-invalid-schema-examples: error
  no-invalid-parameter-examples: error
  security-defined: error
  rule/operation-has-tags:
    severity: error
    message: Every operation has at least one tag
    subject:
      type: Operation
      property: tags
    assertions:
      defined: true
      nonEmpty: true
YAML

log "validating $spec (redocly lint)"
REDOCLY_TELEMETRY=off REDOCLY_SUPPRESS_UPDATE_NOTICE=true \
  node_modules/.bin/redocly lint --config "$config" --format "${SPEC_LINT_FORMAT:-codeframe}" \
  --max-problems 10000 "$spec"
