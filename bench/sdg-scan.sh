#!/usr/bin/env bash
# sdg-scan.sh: the sensitive-data scanner beside ripgrep, same corpus, same
# patterns, one after the other in one run.
#
#   bench/sdg-scan.sh [MiB] [rounds]     # defaults: 256 3
#
# Builds bench/sdgscan, which writes a generated text corpus (prose with
# dates, amounts and order numbers, and valid and invalid card numbers,
# SSNs, IBANs, emails, phones and passport numbers, some after a keyword),
# scans it with every predefined type (read, detect, validate, keywords,
# fingerprints, summary), then runs ripgrep with the detectors' shapes as
# regular expressions on the same file (rg --count-matches -f), each round
# after the other. It prints each one's MB/s per CPU-second (user + system
# time of the work alone, which a loaded machine disturbs least) and per
# wall-second, and the ratio. Needs ripgrep (apt-get install -y ripgrep).
set -euo pipefail

mb=${1:-256}
rounds=${2:-3}
repo=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

command -v rg >/dev/null || { echo "sdg-scan: ripgrep is required (apt-get install -y ripgrep)" >&2; exit 1; }
(cd "$repo" && go build -o "$work/sdgscan" ./bench/sdgscan)
rg --version | head -1
"$work/sdgscan" -mb "$mb" -rounds "$rounds" -dir "$work"
