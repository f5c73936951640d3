#!/usr/bin/env bash
# Regression gate: benchmark two commits with asv and fail when the second is worse.
#
#   benchmarks/compare_commits.sh BASE HEAD        e.g.  benchmarks/compare_commits.sh origin/main HEAD
#
# Both commits are benchmarked by one `asv run` (rounds interleaved between the commits, so a
# change in machine load hits both alike), then compared twice, each kind of benchmark with
# its own factor:
#
#   speed        time_ and peakmem_ benchmarks, factor TIME_FACTOR (default 1.5): timings
#                on shared machines are noisy, and asv also requires the difference to be
#                statistically significant (the samples' confidence intervals must not overlap)
#   convergence  track_ benchmarks, factor TRACK_FACTOR (default 1.05): these are
#                deterministic (fixed seeds, CPU), so any change is a real change
#
# (`asv continuous` takes one factor for all benchmarks, and `asv compare` always exits 0:
# hence one run and two filtered `asv compare --only-changed` tables.) A benchmark that runs
# on BASE and fails on HEAD counts as a regression too.
#
# Exit status: 0 no regression; 1 a regression (the rows that got worse are printed);
# 2 bad usage or asv itself failed. Results are kept under .asv/ (git-ignored); `asv publish`
# turns them into the HTML report.
set -uo pipefail
cd "$(dirname "$0")/.."

if [ $# -ne 2 ]; then
    echo "usage: $0 BASE HEAD   (two commits, branches or tags of this repository)" >&2
    exit 2
fi
base=$(git rev-parse --verify --quiet "$1^{commit}") || { echo "$0: no commit '$1' in this repository" >&2; exit 2; }
head=$(git rev-parse --verify --quiet "$2^{commit}") || { echo "$0: no commit '$2' in this repository" >&2; exit 2; }
TIME_FACTOR=${TIME_FACTOR:-1.5}
TRACK_FACTOR=${TRACK_FACTOR:-1.05}

asv machine --yes >/dev/null || exit 2  # this machine's description, defaults accepted

hashes=$(mktemp)
trap 'rm -f "$hashes"' EXIT
printf '%s\n%s\n' "$base" "$head" >"$hashes"
echo "== asv run: $1 ($base) and $2 ($head)"
asv run --interleave-rounds "HASHFILE:$hashes"
rc=$?
# 2 = some benchmark failed (compared below: a new failure on HEAD is a regression)
if [ $rc -ne 0 ] && [ $rc -ne 2 ]; then
    echo "$0: asv run failed (exit $rc)" >&2
    exit 2
fi

regressions=0
gate() {  # LABEL FACTOR NAME-REGEX (awk)
    local table changed worse
    table=$(asv compare --split --only-changed --factor "$2" "$base" "$head") || exit 2
    # rows: | mark | before | after | ratio | name |; marks: + worse, ! new failure, - better
    changed=$(printf '%s\n' "$table" | awk -F'|' -v re="$3" 'NF >= 7 && $6 ~ re')
    worse=$(printf '%s\n' "$changed" | awk -F'|' '{m = $2; gsub(/ /, "", m)} m == "+" || m == "!"')
    echo
    echo "== $1 (factor $2): $(printf '%s' "$changed" | grep -c '^') changed, $(printf '%s' "$worse" | grep -c '^') worse"
    if [ -n "$changed" ]; then
        printf '%s\n' "$table" | sed -n '1,2p'
        printf '%s\n' "$changed"
    fi
    if [ -n "$worse" ]; then
        regressions=1
    fi
}
gate "speed: time_ and peakmem_" "$TIME_FACTOR" '\\.(time|peakmem)_'
gate "convergence: track_" "$TRACK_FACTOR" '\\.track_'

echo
if [ $regressions -ne 0 ]; then
    echo "REGRESSION: $2 is worse than $1 (rows marked + got worse, ! fail on $2 only)"
    exit 1
fi
echo "OK: no regression of $2 against $1"
