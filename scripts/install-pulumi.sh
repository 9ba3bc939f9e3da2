#!/usr/bin/env bash
# Provides the Pulumi CLI and the dynamic-provider shim, and prints their directory as the last stdout line:
#   export PATH="$(scripts/install-pulumi.sh | tail -1):$PATH"
# The pip wheel ships only the SDK; the CLI is Go, so it is built from the Go module proxy and cached under
# ~/.cache/mlstack/pulumi/<version>. The version is the newest the proxy serves at or above the minor series
# of the `pulumi` SDK pinned in pyproject.toml (the CLI is backward compatible with older SDKs; the proxy does
# not always serve the pinned patch). MLSTACK_PULUMI_VERSION=X.Y.Z forces one.
# No language host is built: mlstack deploy runs the program inline through the Automation API (the SDK
# serves the program itself), and the proxy refuses the python language host's module at every version.
set -euo pipefail

repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

log() { printf 'install-pulumi: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

pinned_version() {
    python3 - "$repo_root/pyproject.toml" <<'PY'
import re
import sys
import tomllib

with open(sys.argv[1], "rb") as f:
    project = tomllib.load(f)["project"]
requirements = list(project.get("dependencies", []))
for extra in project.get("optional-dependencies", {}).values():
    requirements.extend(extra)
pins = {m.group(1) for r in requirements if (m := re.fullmatch(r"\s*pulumi\s*==\s*([0-9][^\s;,]*)\s*", r, re.I))}
if len(pins) != 1:
    sys.exit(f"pyproject.toml must pin `pulumi==X` to exactly one version, found: {sorted(pins) or 'none'}")
print(pins.pop())
PY
}

# The real CLI tarball ships this shim; dynamic providers are served by the SDK's own module.
write_dynamic_provider_shim() {
    local shim="$1/pulumi-resource-pulumi-python"
    # a temporary file of this process's own: test workers run this script concurrently
    printf '#!/bin/sh\nexec "${PULUMI_PYTHON_CMD:-python3}" -u -m pulumi.dynamic "$@"\n' >"$shim.$$.tmp"
    chmod +x "$shim.$$.tmp"
    mv -f "$shim.$$.tmp" "$shim"
}

reports_version() {
    [[ -x "$1" ]] && [[ "$("$1" version 2>/dev/null)" == "v$2" ]]
}

# X.Y.Z at or above X.Y.0 of the pinned SDK (same major)?
at_least_series() {
    python3 - "$1" "$2" <<'PY'
import sys
have, pinned = (tuple(int(p) for p in v.lstrip("v").split("-")[0].split(".")[:3]) for v in sys.argv[1:3])
sys.exit(0 if have[0] == pinned[0] and have[1:] >= (pinned[1], 0) else 1)
PY
}

# The newest release (no pre-releases) of pulumi's CLI module the Go proxy serves within the series.
newest_served() {
    local go="$1" pinned="$2" versions
    versions=$(cd "${TMPDIR:-/tmp}" && "$go" list -m -versions github.com/pulumi/pulumi/pkg/v3) \
        || die "could not list pulumi versions from the Go module proxy"
    python3 - "$pinned" $versions <<'PY'
import sys
pinned = tuple(int(p) for p in sys.argv[1].split(".")[:3])
ok = []
for v in sys.argv[3:]:  # argv[2] is the module path
    if "-" in v:
        continue
    t = tuple(int(p) for p in v.lstrip("v").split("."))
    if t[0] == pinned[0] and t[1:] >= (pinned[1], 0):
        ok.append(t)
if not ok:
    sys.exit(f"the Go module proxy serves no pulumi/pkg/v3 at or above {pinned[0]}.{pinned[1]}.0")
print(".".join(map(str, max(ok))))
PY
}

find_go() {
    if command -v go >/dev/null 2>&1; then
        command -v go
    elif [[ -x /usr/local/go/bin/go ]]; then
        echo /usr/local/go/bin/go
    else
        die "Go is needed to build the Pulumi CLI and was not found on PATH or at /usr/local/go/bin/go"
    fi
}

# Module versions of pulumi's CLI modules carry `replace` directives, which `go install module@version`
# rejects and which a dependency's go.mod cannot impose; a wrapper main module requires them and
# re-states the replaces that point at other published modules (local `../sdk` paths are for pulumi's
# own monorepo and are covered by requiring sdk/v3 at the same version).
build_into() {
    local go="$1" version="$2" out="$3" work
    local modules=(
        "github.com/pulumi/pulumi/pkg/v3"
        "github.com/pulumi/pulumi/sdk/v3"
    )
    local packages=(
        "github.com/pulumi/pulumi/pkg/v3/cmd/pulumi"
    )
    work=$(mktemp -d)
    # shellcheck disable=SC2064  # expand now: the local is gone when the trap fires
    trap "rm -rf '$work'" EXIT
    cd "$work"
    "$go" mod init mlstack.invalid/pulumi-build >/dev/null 2>&1

    local specs=() m
    for m in "${modules[@]}"; do specs+=("$m@v$version"); done
    log "downloading ${specs[*]}"
    local downloaded
    if ! downloaded=$("$go" mod download -json "${specs[@]}"); then
        printf '%s\n' "$downloaded" | python3 -c '
import json, sys
decoder, text, i = json.JSONDecoder(), sys.stdin.read(), 0
while (i := text.find("{", i)) != -1:
    obj, i = decoder.raw_decode(text, i)
    if obj.get("Error"):
        print("  " + obj["Error"].replace("\n", "\n  "), file=sys.stderr)
' >&2
        die "the Go module proxy did not provide pulumi v$version (errors above); cannot build the CLI"
    fi

    local replaces
    replaces=$(printf '%s\n' "$downloaded" | python3 -c '
import json, subprocess, sys
decoder, text, i = json.JSONDecoder(), sys.stdin.read(), 0
chosen = {}
while (i := text.find("{", i)) != -1:
    mod, i = decoder.raw_decode(text, i)
    edits = json.loads(subprocess.run([sys.argv[1], "mod", "edit", "-json", mod["GoMod"]],
                                      check=True, capture_output=True, text=True).stdout)
    for r in edits.get("Replace") or []:
        if not r["New"].get("Version"):
            continue
        old = r["Old"]["Path"] + ("@" + r["Old"]["Version"] if r["Old"].get("Version") else "")
        new = r["New"]["Path"] + "@" + r["New"]["Version"]
        if chosen.setdefault(old, new) != new:
            sys.exit(f"conflicting replace directives for {old}: {chosen[old]} vs {new}")
print("\n".join(f"{old}={new}" for old, new in sorted(chosen.items())))
' "$go") || die "could not read the replace directives of pulumi v$version"
    while IFS= read -r m; do
        [[ -n "$m" ]] && "$go" mod edit -replace "$m"
    done <<<"$replaces"

    local pkgs_at=() p
    for p in "${packages[@]}"; do pkgs_at+=("$p@v$version"); done
    log "resolving dependencies"
    "$go" get "${pkgs_at[@]}" "github.com/pulumi/pulumi/sdk/v3@v$version" >&2 \
        || die "go get failed for pulumi v$version"
    for m in "${modules[@]}"; do
        local selected
        selected=$("$go" list -m -f '{{.Version}}' "$m")
        [[ "$selected" == "v$version" ]] || die "$m resolved to $selected instead of v$version"
    done

    log "building (several minutes on a cold cache)"
    mkdir -p "$out"
    "$go" build -trimpath -o "$out/" \
        -ldflags "-s -w -X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=v$version" \
        "${packages[@]}" >&2 || die "go build failed for pulumi v$version"
}

main() {
    local pinned version cache bin go
    pinned=$(pinned_version) || die "could not read the pinned pulumi version from pyproject.toml"
    local root="${XDG_CACHE_HOME:-$HOME/.cache}/mlstack/pulumi"

    # An official CLI installed the usual way (it also has the language host `pulumi up` needs).
    local on_path found
    on_path=$(command -v pulumi || true)
    if [[ -z "${MLSTACK_PULUMI_VERSION:-}" && -n "$on_path" && "$on_path" != "$root"/* ]]; then
        found=$("$on_path" version 2>/dev/null || true)
        if [[ -n "$found" ]] && at_least_series "$found" "$pinned"; then
            log "using $on_path ($found)"
            dirname "$on_path"
            return
        fi
    fi

    version="${MLSTACK_PULUMI_VERSION:-}"
    if [[ -z "$version" ]]; then
        # A cached build of the series is used as it is: no network needed once built.
        local cached
        local d v
        cached=""
        for d in "$root"/*/bin/pulumi; do
            [[ -x "$d" ]] || continue
            v=$(basename "$(dirname "$(dirname "$d")")")
            if at_least_series "$v" "$pinned" && { [[ -z "$cached" ]] || [[ "$(printf '%s\n%s\n' "$cached" "$v" | sort -V | tail -1)" == "$v" ]]; }; then
                cached="$v"
            fi
        done
        if [[ -n "$cached" ]] && reports_version "$root/$cached/bin/pulumi" "$cached"; then
            version="$cached"
        else
            go=$(find_go)
            version=$(newest_served "$go" "$pinned") || die "no CLI version to build"
        fi
    fi
    at_least_series "$version" "$pinned" || die "pulumi v$version is older than the SDK's series (pulumi==$pinned)"
    cache="$root/$version"
    bin="$cache/bin"

    if ! reports_version "$bin/pulumi" "$version"; then
        go=${go:-$(find_go)}
        log "building pulumi v$version (SDK pulumi==$pinned) with $("$go" version)"
        local staging
        mkdir -p "$cache"
        staging=$(mktemp -d "$cache/bin.XXXXXX") && chmod 755 "$staging"
        (build_into "$go" "$version" "$staging") || { rm -rf "$staging"; exit 1; }
        reports_version "$staging/pulumi" "$version" || { rm -rf "$staging"; die "built pulumi does not report v$version"; }
        rm -rf "$bin"
        mv "$staging" "$bin"
    fi
    write_dynamic_provider_shim "$bin"
    log "pulumi v$version ready in $bin"
    echo "$bin"
}

main "$@"
