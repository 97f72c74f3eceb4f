#!/usr/bin/env bash
# Builds everything with warnings as errors, runs every test project, and ends with exactly one summary line:
#   N passed, N failed[, N skipped]
# Exits non-zero when a test failed, the test run itself failed, or no test ran at all.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
export DOTNET_NOLOGO=1 DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

warn() { echo "warning: $*" >&2; }

# Host tools for task isolation: runc, busybox-static, tini (see host-packages.sh).
# shellcheck source=host-packages.sh
source "$root/scripts/host-packages.sh"
install_host_packages

# The solution includes the benchmark project, so building it also proves the benchmarks compile.
if ! dotnet restore Skiff.slnx || ! dotnet build Skiff.slnx -c Release --no-restore -warnaserror; then
    echo "build failed"
    exit 1
fi

results="${SKIFF_TEST_RESULTS:-$root/artifacts/test-results}"
rm -rf "$results"
mkdir -p "$results"

test_status=0
# One test assembly at a time (-maxcpucount:1): the runc tests start hundreds of containers and the server
# tests time cancels and retries; run side by side on two cores they made each other's timing assertions
# flaky. Tests inside an assembly still run in parallel where their collections allow.
dotnet test Skiff.slnx -c Release --no-build -maxcpucount:1 --logger trx --results-directory "$results" || test_status=$?

# Sum the <Counters .../> element of every TRX file. "failed" also counts errored, timed-out and aborted
# tests; tests that were not executed (skipped) are total - executed.
read -r total executed passed failed < <(
    find "$results" -name '*.trx' -print0 \
        | xargs -0 -r grep -ho '<Counters [^>]*>' \
        | awk '
            {
                for (i = 1; i <= NF; i++) {
                    if (split($i, kv, "=") == 2) {
                        gsub(/[^0-9]/, "", kv[2])
                        sum[kv[1]] += kv[2]
                    }
                }
            }
            END {
                printf "%d %d %d %d\n", sum["total"], sum["executed"], sum["passed"],
                    sum["failed"] + sum["error"] + sum["timeout"] + sum["aborted"]
            }'
)

skipped=$((total - executed))
summary="$passed passed, $failed failed"
if [[ $skipped -gt 0 ]]; then
    summary+=", $skipped skipped"
fi

exit_code=0
if [[ $failed -gt 0 || $test_status -ne 0 || $total -eq 0 ]]; then
    exit_code=1
fi
if [[ $test_status -ne 0 && $failed -eq 0 ]]; then
    echo "error: dotnet test exited with $test_status although no test failed (a test host aborted? see above)" >&2
elif [[ $total -eq 0 ]]; then
    echo "error: no tests ran" >&2
fi
echo "$summary"
exit "$exit_code"
