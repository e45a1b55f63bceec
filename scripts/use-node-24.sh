# Puts Node.js 24 first on PATH for the calling bash shell: source it (`. scripts/use-node-24.sh`).
#
# When the `node` on PATH is already 24, nothing changes. Otherwise Node 24 is installed from the npm
# registry (the `node` package at 24.x, which pulls in the platform's binary package with Node's
# headers) into .tools/node-24 of the repository, once, and that copy goes first on PATH. npm itself
# stays the one already installed; it runs on whichever node is first on PATH.
#
# npm_config_nodedir points node-gyp at the headers of the Node that runs, so native addons
# (better-sqlite3) are built for it without downloading anything, whatever a user's .npmrc says.

__use_node_24() {
  local wanted=24
  local root
  root="$(cd "$(dirname "${BASH_SOURCE[0]:-}")/.." && pwd)"
  if [ ! -f "$root/scripts/use-node-24.sh" ]; then
    echo "use-node-24: ERROR: cannot tell where the repository is; source this script from bash" >&2
    return 1
  fi
  local prefix="$root/.tools/node-$wanted"
  local major
  major="$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo none)"

  if [ "$major" != "$wanted" ]; then
    if [ ! -x "$prefix/node_modules/.bin/node" ]; then
      echo "use-node-24: node on PATH is ${major}; installing Node $wanted from the npm registry into .tools/node-$wanted" >&2
      if ! command -v npm >/dev/null; then
        echo "use-node-24: ERROR: npm is not installed, so Node $wanted cannot be brought from the npm registry; install Node.js $wanted (with npm) and try again" >&2
        return 1
      fi
      mkdir -p "$prefix"
      # The package's own install script fetches the platform's binary package: never skip it.
      if ! npm install --prefix "$prefix" --no-save --no-package-lock --no-audit --no-fund --loglevel=error \
        --ignore-scripts=false "node@$wanted" >&2; then
        echo "use-node-24: ERROR: could not install the npm package node@$wanted (is the npm registry reachable?); install Node.js $wanted and try again" >&2
        return 1
      fi
    fi
    export PATH="$prefix/node_modules/.bin:$PATH"
    major="$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo none)"
    if [ "$major" != "$wanted" ]; then
      echo "use-node-24: ERROR: $prefix holds no working Node $wanted (got '${major}'); delete it and try again" >&2
      return 1
    fi
  fi

  # The `node` package's bin/node is a hard link into its platform package, which has the headers.
  local node_home dir
  node_home="$(dirname "$(dirname "$(readlink -f "$(command -v node)")")")"
  for dir in "$node_home" "$node_home"/node_modules/node-linux-*; do
    if [ -f "$dir/include/node/node.h" ]; then
      export npm_config_nodedir="$dir"
      break
    fi
  done
  echo "use-node-24: $(command -v node) $(node --version)" >&2
}

if [ -z "${BASH_VERSION:-}" ]; then
  echo "use-node-24: ERROR: source this script from bash (it needs bash's BASH_SOURCE)" >&2
  return 1 2>/dev/null || exit 1
fi
__use_node_24
__use_node_24_status=$?
unset -f __use_node_24
if [ "$__use_node_24_status" -ne 0 ]; then
  unset __use_node_24_status
  return 1 2>/dev/null || exit 1
fi
unset __use_node_24_status
