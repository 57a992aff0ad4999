#!/usr/bin/env bash
# Builds the sandbox's Go tools (the Pulumi CLI, FerretDB, MinIO) from the Go module
# proxy into a cache outside the repo, keyed by tool version and Go version. Prints the bin directory of
# each tool. Re-running with a warm cache does nothing.
#
#   sandbox/scripts/build-go-tools.sh [pulumi] [ferretdb] [minio] [pbm-<release>]...
#
# Default: pulumi (with pulumi-language-nodejs beside it), ferretdb, minio and the pbm releases in
# PULUMI_PBM_PBM_RELEASES (default "2.14.0 2.8.0 1.8.1"; any release in PBM_MODULE_VERSIONS below).
set -euo pipefail

PULUMI_VERSION=3.248.0
FERRETDB_VERSION=v1.24.0
MINIO_VERSION=v0.0.0-20260212201848-7aac2a2c5b7c
# sdk/v3 v3.68.0 is the last release of Pulumi's sdk module that still contains the Node.js language host
# (later releases moved it to a module the proxy does not serve).
LANGUAGE_HOST_SDK_VERSION=v3.68.0
PBM_MODULE=github.com/percona/percona-backup-mongodb
# pbm's module path has no /v2, so each 2.x release is a pseudo-version on top of v1.8.0 (reference pbm.md §10).
declare -A PBM_MODULE_VERSIONS=(
  [2.14.0]=v1.8.1-0.20260424150056-d3436ef3d07a
  [2.12.0]=v1.8.1-0.20251104101930-05ab6d7e1004
  [2.11.0]=v1.8.1-0.20250925114718-2f499a6a31c8
  [2.10.0]=v1.8.1-0.20250626104900-da3bd6c2c1ec
  [2.9.1]=v1.8.1-0.20250327100109-3ca299246bfe
  [2.8.0]=v1.8.1-0.20241212160532-0157f87a7eee
  [1.8.1]=v1.8.1
)
PBM_RELEASES="${PULUMI_PBM_PBM_RELEASES:-2.14.0 2.8.0 1.8.1}"

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cache_root="${PULUMI_PBM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/pulumi-pbm}"
go_version="$(go env GOVERSION)"

# The proxy here serves module zips but its checksum database lacks recent versions, so go.sum is not
# checked against sum.golang.org; the wrapper pins exact versions instead.
export GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS="-trimpath -buildvcs=false" GOSUMDB=off

log() { printf '[build-go-tools] %s\n' "$*" >&2; }

# Builds Go main packages inside a throwaway wrapper module whose go.mod names exact versions. This
# avoids `go install pkg@version`, which asks the proxy for the module's version list (to look for
# deprecations) and fails where the proxy serves versions but not lists.
#   wrapper_build DIR GO_MOD_BODY LDFLAGS TAGS PKG:OUT [PKG:OUT...]
wrapper_build() {
  local dir=$1 body=$2 ldflags=$3 tags=$4; shift 4
  local work="$dir/module"
  rm -rf "$work"; mkdir -p "$work" "$dir/bin"
  printf 'module example.invalid/build\n\ngo 1.25.0\n\n%s\n' "$body" > "$work/go.mod"
  (
    cd "$work"
    for spec in "$@"; do
      local pkg=${spec%%:*} out=${spec##*:}
      log "go build $pkg"
      go build -mod=mod -tags "$tags" -ldflags "$ldflags" -o "$dir/bin/$out" "$pkg" >&2
    done
  )
  rm -rf "$work"
}

build_pulumi() {
  local dir="$cache_root/pulumi-$PULUMI_VERSION-$go_version"
  if [[ -x "$dir/bin/pulumi" && -x "$dir/bin/pulumi-resource-pulumi-nodejs" ]]; then
    build_language_host "$dir"
    echo "$dir/bin"; return
  fi
  log "building Pulumi CLI v$PULUMI_VERSION (cold build: 10-20 min)"
  wrapper_build "$dir" "require (
	github.com/pulumi/pulumi/pkg/v3 v$PULUMI_VERSION
	github.com/pulumi/pulumi/sdk/v3 v$PULUMI_VERSION
)

replace github.com/atotto/clipboard => github.com/tgummerer/clipboard v0.0.0-20241001131231-d02d263e614e" \
    "-s -w -X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=v$PULUMI_VERSION" \
    osusergo,grpcnotrace \
    github.com/pulumi/pulumi/pkg/v3/cmd/pulumi:pulumi
  local shim="$repo_root/node_modules/@pulumi/pulumi/pulumi-resource-pulumi-nodejs"
  if [[ ! -f "$shim" ]]; then
    log "missing $shim: run npm ci first"; exit 1
  fi
  install -m 0755 "$shim" "$dir/bin/pulumi-resource-pulumi-nodejs"
  log "pulumi: $("$dir/bin/pulumi" version)"
  build_language_host "$dir"
  echo "$dir/bin"
}

# The Node.js language host beside `pulumi`, so programs run with `pulumi up` from their directory, and policy
# packs with `pulumi preview --policy-pack <dir>`. It is built from a copy of the host's package in sdk/v3
# $LANGUAGE_HOST_SDK_VERSION whose RunPlugin stub ("not supported") is replaced by language-host/runplugin.go
# (ours): CLI 3.248 starts nodejs policy packs through RunPlugin. The stamp file holds the cache key (the sdk
# version and a hash of that file), so a cache built before the file existed, or from an older copy of it,
# is rebuilt. The module also ships the old analyzer shim; it goes into policy-bin/ with pulumi but without the
# language host, the layout in which CLI 3.248 falls back to that shim (reference pulumi.md §5.5).
build_language_host() {
  local dir=$1 sdk=github.com/pulumi/pulumi/sdk/v3
  local runplugin="$repo_root/sandbox/scripts/language-host/runplugin.go"
  local key stamp="$dir/bin/.pulumi-language-nodejs.key"
  key="sdk-$LANGUAGE_HOST_SDK_VERSION runplugin-$(sha256sum "$runplugin" | cut -c1-16)"
  if [[ -x "$dir/bin/pulumi-language-nodejs" && -x "$dir/policy-bin/pulumi-analyzer-policy-nodejs" &&
        "$(cat "$stamp" 2>/dev/null)" == "$key" ]]; then return; fi
  log "building pulumi-language-nodejs (sdk/v3 $LANGUAGE_HOST_SDK_VERSION with our RunPlugin)"
  local work="$dir/language-host/module"
  rm -rf "$dir/language-host"; mkdir -p "$work/langhost"
  printf 'module example.invalid/build\n\ngo 1.25.0\n\nrequire %s %s\n' "$sdk" "$LANGUAGE_HOST_SDK_VERSION" > "$work/go.mod"
  (cd "$work" && go mod download "$sdk@$LANGUAGE_HOST_SDK_VERSION" >&2)
  local src
  src="$(go env GOMODCACHE)/github.com/pulumi/pulumi/sdk/v3@$LANGUAGE_HOST_SDK_VERSION"
  local f
  for f in "$src"/nodejs/cmd/pulumi-language-nodejs/*.go; do
    [[ "$f" == *_test.go ]] || install -m 0644 "$f" "$work/langhost/"
  done
  # Drop the stub: from its `func` line to the first `}` at the start of a line.
  awk '/^func \(host \*nodeLanguageHost\) RunPlugin\(/ { skip = 1; dropped++ }
       !skip { print }
       skip && /^}/ { skip = 0 }
       END { if (dropped != 1) { print "expected one RunPlugin stub, found " dropped > "/dev/stderr"; exit 1 } }' \
    "$src/nodejs/cmd/pulumi-language-nodejs/main.go" > "$work/langhost/main.go"
  install -m 0644 "$runplugin" "$work/langhost/runplugin.go"
  (cd "$work" && go build -mod=mod -ldflags "-s -w" -o "$dir/language-host/pulumi-language-nodejs" ./langhost >&2)
  install -m 0755 "$dir/language-host/pulumi-language-nodejs" "$dir/bin/pulumi-language-nodejs"
  mkdir -p "$dir/policy-bin"
  ln -sf ../bin/pulumi "$dir/policy-bin/pulumi"
  ln -sf ../bin/pulumi-resource-pulumi-nodejs "$dir/policy-bin/pulumi-resource-pulumi-nodejs"
  install -m 0755 "$src/nodejs/dist/pulumi-analyzer-policy" "$dir/policy-bin/pulumi-analyzer-policy-nodejs"
  rm -rf "$dir/language-host"
  echo "$key" > "$stamp"
}

# Real pbm CLI releases (and pbm-agent, for experiments only: it cannot run against FerretDB).
build_pbm() {
  local release=$1 modver=${PBM_MODULE_VERSIONS[$1]:-}
  if [[ -z "$modver" ]]; then
    log "pbm $release is not buildable here; known releases: ${!PBM_MODULE_VERSIONS[*]}"; exit 2
  fi
  local dir="$cache_root/pbm-$release-$go_version"
  if [[ -x "$dir/bin/pbm" ]]; then echo "$dir/bin"; return; fi
  log "building pbm $release ($PBM_MODULE@$modver)"
  local pkgs=("$PBM_MODULE/cmd/pbm:pbm")
  [[ "${PULUMI_PBM_BUILD_AGENT:-}" == 1 ]] && pkgs+=("$PBM_MODULE/cmd/pbm-agent:pbm-agent")
  wrapper_build "$dir" "require $PBM_MODULE $modver" \
    "-s -w -X $PBM_MODULE/pbm/version.gitCommit=${modver##*-} -X $PBM_MODULE/pbm/version.gitBranch=release-$release" "" "${pkgs[@]}"
  log "pbm: $("$dir/bin/pbm" version 2>&1 | tr '\n' ' ')"
  echo "$dir/bin"
}

simple_build() { # name module version package
  local name=$1 module=$2 version=$3 pkg=$4
  local dir="$cache_root/$name-$version-$go_version"
  if [[ -x "$dir/bin/$name" ]]; then echo "$dir/bin"; return; fi
  log "building $name $version"
  wrapper_build "$dir" "require $module $version" "-s -w" "" "$pkg:$name"
  echo "$dir/bin"
}

# FerretDB embeds build/version/version.txt, which its release process generates and the module zip
# lacks; build from a writable copy of the module (from the module cache) with that file added.
build_ferretdb() {
  local dir="$cache_root/ferretdb-$FERRETDB_VERSION-$go_version"
  if [[ -x "$dir/bin/ferretdb" ]]; then echo "$dir/bin"; return; fi
  log "building ferretdb $FERRETDB_VERSION"
  local src="$dir/src" mod=github.com/FerretDB/FerretDB
  rm -rf "$src"; mkdir -p "$dir"
  (cd "$(mktemp -d)" && go mod download -json "$mod@$FERRETDB_VERSION" >/dev/null)
  cp -r "$(go env GOMODCACHE)/github.com/!ferret!d!b/!ferret!d!b@$FERRETDB_VERSION" "$src"
  chmod -R u+w "$src"
  echo "$FERRETDB_VERSION" > "$src/build/version/version.txt"
  wrapper_build "$dir" "require $mod $FERRETDB_VERSION

replace $mod => $src" "-s -w" "" "$mod/cmd/ferretdb:ferretdb"
  rm -rf "$src"
  echo "$dir/bin"
}

tools=("$@")
if [[ ${#tools[@]} -eq 0 ]]; then
  tools=(pulumi ferretdb minio)
  for r in $PBM_RELEASES; do tools+=("pbm-$r"); done
fi
mkdir -p "$cache_root"
for t in "${tools[@]}"; do
  # One build per tool at a time, even when several test workers ask for it at once.
  exec {lock}>"$cache_root/.lock-$t"
  flock "$lock"
  case "$t" in
    pulumi) build_pulumi ;;
    ferretdb) build_ferretdb ;;
    minio) simple_build minio github.com/minio/minio "$MINIO_VERSION" github.com/minio/minio ;;
    pbm-*) build_pbm "${t#pbm-}" ;;
    *) log "unknown tool $t"; exit 2 ;;
  esac
  flock -u "$lock"
done
