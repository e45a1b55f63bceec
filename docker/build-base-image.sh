#!/usr/bin/env bash
# Builds a local stand-in for the official `node:24-bookworm-slim` image, for machines that have no image
# registry to pull from. It is tagged with a local name of its own (IMAGE_TAG below, printed on stdout when
# done) rather than the official one, so that nobody, and no later pull, mistakes it for the official image;
# `docker/Dockerfile` uses it when given `--build-arg NODE_IMAGE=<that name>` (docker/verify-images.sh does).
#
# The stand-in mirrors the official image's shape:
#   - a minimal Debian bookworm root filesystem (mmdebstrap, minbase variant, docs/man/locales left out
#     like Debian's own slim images), taken from the Debian mirror this machine's apt is configured with;
#   - Node 24 from the npm registry's `node-linux-<arch>` package (the binary package that the `node`
#     package, and so scripts/use-node-24.sh, installs), at exactly the version of the `node` on PATH,
#     laid out like the official tarball: /usr/local/bin/{node,npm,npx,corepack},
#     /usr/local/lib/node_modules/{npm,corepack}, /usr/local/include/node (headers, used by node-gyp);
#     npm and corepack are this machine's own packages;
#   - a `node` user and group with uid/gid 1000, the official `docker-entrypoint.sh` behaviour, CMD ["node"].
# It does not ship yarn (the official image bundles yarn 1; nothing here uses it).
# Nothing is downloaded from anywhere but the npm registry (through npm, which checks the package's
# integrity) and the configured Debian mirror.
#
# Usage: docker/build-base-image.sh [--force]
#   Skips the build when the tag already exists with the same Node version, unless --force (or FORCE=1).
# Needs: root (mmdebstrap's root mode), mmdebstrap, podman, an `apt-get update`d package index, node 24 and
# npm on PATH (`. scripts/use-node-24.sh`), the npm registry.
set -euo pipefail

readonly IMAGE_TAG="localhost/learning-analytics/node:24-bookworm-slim"
readonly SUITE="bookworm"
readonly NODE_MAJOR="24"

log() { printf '[base-image] %s\n' "$*" >&2; }
die() { printf '[base-image] ERROR: %s\n' "$*" >&2; exit 1; }

force="${FORCE:-0}"
case "${1:-}" in
  --force) force=1 ;;
  "") ;;
  *) die "unknown argument: $1 (usage: $0 [--force])" ;;
esac

command -v podman >/dev/null || die "podman is not installed"
command -v mmdebstrap >/dev/null || die "mmdebstrap is not installed"

# --- Node: the version on PATH decides the version the image gets ----------------------------------------
node_bin="$(readlink -f "$(command -v node)")" || die "node is not on PATH (run '. scripts/use-node-24.sh' first)"
node_version="$("$node_bin" -p 'process.versions.node')"
[[ "${node_version%%.*}" == "$NODE_MAJOR" ]] ||
  die "node on PATH is v$node_version, need v$NODE_MAJOR (run '. scripts/use-node-24.sh' first)"
node_arch="$("$node_bin" -p 'process.arch')"

if [[ "$force" != 1 ]] && podman image exists "$IMAGE_TAG"; then
  built_version="$(podman image inspect --format '{{range .Config.Env}}{{println .}}{{end}}' "$IMAGE_TAG" |
    sed -n 's/^NODE_VERSION=//p')"
  if [[ "$built_version" == "$node_version" ]]; then
    log "$IMAGE_TAG already exists with node v$node_version; skipping (use --force to rebuild)"
    printf '%s\n' "$IMAGE_TAG"
    exit 0
  fi
  log "$IMAGE_TAG has node v${built_version:-unknown}, node on PATH is v$node_version: rebuilding"
fi

# --- Debian sources: the bookworm suites of the Debian archive as this machine's apt knows them -------------
# `apt-get indextargets` reports what apt's configured sources resolved to (after `apt-get update`), whatever
# file format they were written in; only entries whose Release file says Origin "Debian" are kept, so
# third-party repositories configured on the host never leak into the image.
debian_sources() {
  apt-get indextargets --format '$(TARGET_OF) $(CREATED_BY) $(ORIGIN) $(RELEASE) $(REPO_URI)' |
    awk -v suite="$SUITE" '
      $1 == "deb" && $2 == "Packages" && $3 == "Debian" &&
      ($4 == suite || $4 == suite "-updates" || $4 == suite "-security") {
        print "deb " $5 " " $4 " main"
      }' | sort -u
}
mapfile -t sources < <(debian_sources)
((${#sources[@]} > 0)) ||
  die "apt knows no Debian $SUITE sources; configure a Debian $SUITE mirror and run 'apt-get update' first"
for line in "${sources[@]}"; do log "source: $line"; done

# --- npm and corepack: this machine's packages (they run on whichever node is first on PATH) -------------
# npm's bin script lives at <package>/bin/npm-cli.js; corepack's at <package>/dist/corepack.js.
package_dir_of() { # <command> <expected package name>
  local cmd_path dir
  cmd_path="$(command -v "$1")" || return 1
  dir="$(dirname "$(dirname "$(readlink -f "$cmd_path")")")"
  [[ "$("$node_bin" -p "require('$dir/package.json').name" 2>/dev/null)" == "$2" ]] || return 1
  printf '%s\n' "$dir"
}
npm_dir="$(package_dir_of npm npm)" || die "cannot locate this machine's npm package"
corepack_dir="$(package_dir_of corepack corepack || true)"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# --- Node from the npm registry: node-linux-<arch> at the version on PATH -------------------------------
# `npm pack` fetches the tarball through npm (from its cache when scripts/use-node-24.sh installed the same
# version) and checks it against the integrity the registry publishes for it.
node_package="node-linux-$node_arch@$node_version"
log "fetching $node_package from the npm registry"
pack_json="$(cd "$work" && npm pack --json --silent "$node_package" --pack-destination "$work")" ||
  die "npm pack $node_package failed (is the npm registry reachable?)"
read -r node_tarball node_integrity < <("$node_bin" -e \
  'const [p] = JSON.parse(require("fs").readFileSync(0, "utf8")); console.log(p.filename, p.integrity)' <<<"$pack_json")
node_tarball="$work/$node_tarball"
mkdir "$work/node-package"
tar -xzf "$node_tarball" -C "$work/node-package" --no-same-owner
node_pkg="$work/node-package/package"
[[ -x "$node_pkg/bin/node" && -f "$node_pkg/include/node/node.h" ]] ||
  die "$node_package holds no bin/node and include/node"
[[ "$("$node_pkg/bin/node" -p 'process.versions.node')" == "$node_version" ]] ||
  die "$node_package's bin/node is not v$node_version"
npm_version="$("$node_bin" -p "require('$npm_dir/package.json').version")"
log "node v$node_version from $node_package ($node_integrity); npm $npm_version from this machine"

# Stage /usr/local exactly as the official image has it, then copy it into the root filesystem in a hook.
stage="$work/stage"
mkdir -p "$stage/usr/local/bin" "$stage/usr/local/lib/node_modules" "$stage/usr/local/include" \
  "$stage/usr/local/share/doc/node"
cp "$node_pkg/bin/node" "$stage/usr/local/bin/node"
chmod 0755 "$stage/usr/local/bin/node"
ln -s node "$stage/usr/local/bin/nodejs"
cp -R "$node_pkg/include/node" "$stage/usr/local/include/node"
cp "$node_pkg/LICENSE" "$stage/usr/local/share/doc/node/LICENSE"
cp -a "$npm_dir" "$stage/usr/local/lib/node_modules/npm"
ln -s ../lib/node_modules/npm/bin/npm-cli.js "$stage/usr/local/bin/npm"
ln -s ../lib/node_modules/npm/bin/npx-cli.js "$stage/usr/local/bin/npx"
if [[ -n "$corepack_dir" ]]; then
  cp -a "$corepack_dir" "$stage/usr/local/lib/node_modules/corepack"
  ln -s ../lib/node_modules/corepack/dist/corepack.js "$stage/usr/local/bin/corepack"
else
  log "corepack not found on this machine; the stand-in will not have it"
fi
# Same behaviour as the official image's entrypoint: arguments that are not a command run under node.
cat >"$stage/usr/local/bin/docker-entrypoint.sh" <<'EOF'
#!/bin/sh
set -e

# Run command with node if the first argument contains a "-" or is not a system command. The last
# part inside the "{}" is a workaround for the following bug in ash/dash:
# https://bugs.debian.org/cgi-bin/bugreport.cgi?bug=874264
if [ "${1#-}" != "${1}" ] || [ -z "$(command -v "${1}")" ] || { [ -f "${1}" ] && ! [ -x "${1}" ]; }; then
  set -- node "$@"
fi

exec "$@"
EOF
chmod 0755 "$stage/usr/local/bin/docker-entrypoint.sh"
chown -R 0:0 "$stage"

# --- Root filesystem --------------------------------------------------------------------------------------
rootfs_tar="$work/rootfs.tar"
# Set up merged /usr the way debootstrap does (with usr-is-merged), so the usrmerge converter and the perl
# it needs stay out of the image, as they are out of Debian's own images.
merged_usr_hooks=/usr/share/mmdebstrap/hooks/merged-usr
[[ -d "$merged_usr_hooks" ]] || die "mmdebstrap's merged-usr hooks are missing ($merged_usr_hooks)"
log "running mmdebstrap ($SUITE, minbase)"
started=$SECONDS
mmdebstrap \
  --mode=root \
  --variant=minbase \
  --hook-dir="$merged_usr_hooks" \
  --format=tar \
  --dpkgopt='path-exclude=/usr/share/man/*' \
  --dpkgopt='path-exclude=/usr/share/info/*' \
  --dpkgopt='path-exclude=/usr/share/groff/*' \
  --dpkgopt='path-exclude=/usr/share/lintian/*' \
  --dpkgopt='path-exclude=/usr/share/linda/*' \
  --dpkgopt='path-exclude=/usr/share/locale/*' \
  --dpkgopt='path-include=/usr/share/locale/locale.alias' \
  --dpkgopt='path-exclude=/usr/share/doc/*' \
  --dpkgopt='path-include=/usr/share/doc/*/copyright' \
  --customize-hook="tar -C '$stage' -c . | tar -C \"\$1\" -x --keep-directory-symlink" \
  --customize-hook='chroot "$1" groupadd --gid 1000 node' \
  --customize-hook='chroot "$1" useradd --uid 1000 --gid node --shell /bin/bash --create-home node' \
  --customize-hook='chroot "$1" env -u NODE_EXTRA_CA_CERTS node --version' \
  --customize-hook='chroot "$1" env -u NODE_EXTRA_CA_CERTS npm --version' \
  "$SUITE" "$rootfs_tar" "${sources[@]}"
log "root filesystem built in $((SECONDS - started))s ($(du -h "$rootfs_tar" | cut -f1))"

# --- Import into podman with the official image's configuration -------------------------------------------
podman import \
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change "ENV NODE_VERSION=$node_version" \
  --change 'ENTRYPOINT ["docker-entrypoint.sh"]' \
  --change 'CMD ["node"]' \
  --message "local stand-in for node:$NODE_MAJOR-bookworm-slim (Debian $SUITE minbase + node v$node_version from $node_package)" \
  "$rootfs_tar" "$IMAGE_TAG" >/dev/null

log "tagged $IMAGE_TAG ($(podman image inspect --format '{{.Size}}' "$IMAGE_TAG" | awk '{printf "%.0f MB", $1/1e6}'))"
printf '%s\n' "$IMAGE_TAG"
