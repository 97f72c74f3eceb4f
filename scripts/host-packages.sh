#!/usr/bin/env bash
# Sourced by scripts/test.sh and the ./skiff launcher (before `skiff demo` and `skiff server`).
# Host tools for task isolation (runc containers with a busybox root and tini as pid 1). Only what is
# missing is installed; without root (or without apt) the container tests fail, saying what to install.
# SKIFF_TEST_NO_INSTALL=1 skips this (images that pre-install them, machines without a package mirror).
install_host_packages() {
    local wanted=(runc busybox-static tini) missing=() package
    if [[ "${SKIFF_TEST_NO_INSTALL:-}" == 1 ]]; then
        return 0
    fi
    if ! command -v dpkg-query >/dev/null 2>&1 || ! command -v apt-get >/dev/null 2>&1; then
        echo "warning: not a Debian/Ubuntu host: not installing ${wanted[*]} (isolation needs them: tests fail and the server refuses to start without them)" >&2
        return 0
    fi
    for package in "${wanted[@]}"; do
        if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
            missing+=("$package")
        fi
    done
    if [[ ${#missing[@]} -eq 0 ]]; then
        return 0
    fi
    if [[ "$(id -u)" -ne 0 ]]; then
        echo "warning: not root: not installing ${missing[*]} (isolation needs them: tests fail and the server refuses to start without them)" >&2
        return 0
    fi
    echo "Installing ${missing[*]}..." >&2
    if ! DEBIAN_FRONTEND=noninteractive apt-get update -qq \
        || ! DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2; then
        echo "warning: could not install ${missing[*]} (isolation needs them: tests fail and the server refuses to start without them)" >&2
    fi
}

