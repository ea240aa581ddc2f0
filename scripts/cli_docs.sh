#!/usr/bin/env bash
# Regenerates docs/cli.md from the real --help text: bash scripts/cli_docs.sh > docs/cli.md
set -euo pipefail
S=${SENSORIUM:-.venv/bin/sensorium}
echo "# CLI reference"
echo
echo "Generated from the real \`--help\` text: \`bash scripts/cli_docs.sh > docs/cli.md\`."
echo
for c in "" index watch search export describe clip classify ask eval embed serve errors duplicates forget names "names add" "names remove" models "models add" "models remove" spaces "spaces bind" stats; do
  echo "## sensorium $c"; echo; echo '```'
  COLUMNS=100 $S $c --help 2>&1 | sed 's/[[:space:]]*$//'
  echo '```'; echo
done
