#!/usr/bin/env bash
# What the test suite needs beyond the venv: Debian packages and a running PostgreSQL.
# Idempotent: installs only what is missing, starts PostgreSQL only when it is down.
set -euo pipefail

PACKAGES=(keepassxc pass gnome-keyring dbus dbus-x11 tmux xvfb xclip)
# Rotation targets (tests/rotation, docs/rotation.md): sshd and sudo, a private slapd,
# a Samba AD DC. Samba without recommends: they would put winbind into the system's PAM/NSS.
ROTATION_PACKAGES=(openssh-server sudo slapd ldap-utils)
SAMBA_PACKAGES=(samba-ad-dc samba-ad-provision ldb-tools)

as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

missing_of() {
    local pkg
    for pkg in "$@"; do
        if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
            echo "$pkg"
        fi
    done
}

updated=no
install() {  # install [apt-get options...] -- packages...
    local opts=()
    while [ "$1" != "--" ]; do opts+=("$1"); shift; done
    shift
    [ "$#" -gt 0 ] || return 0
    echo "ensure-services: installing $*" >&2
    if [ "$updated" = no ]; then as_root apt-get update -q; updated=yes; fi
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${opts[@]}" "$@"
}

mapfile -t missing < <(missing_of "${PACKAGES[@]}" "${ROTATION_PACKAGES[@]}")
if printf '%s\n' "${missing[@]}" | grep -qx slapd; then
    # slapd's own configuration is not wanted: the tests start private instances
    echo "slapd slapd/no_configuration boolean true" | as_root debconf-set-selections
fi
install -- "${missing[@]}"
mapfile -t missing < <(missing_of "${SAMBA_PACKAGES[@]}")
install --no-install-recommends -- "${missing[@]}"

if ! pg_isready -q -h 127.0.0.1; then
    echo "ensure-services: starting PostgreSQL" >&2
    as_root pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql)" main start
    for _ in $(seq 30); do
        pg_isready -q -h 127.0.0.1 && break
        sleep 1
    done
    pg_isready -h 127.0.0.1 >&2
fi
