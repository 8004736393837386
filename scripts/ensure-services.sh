#!/usr/bin/env bash
# What the test suite needs beyond the venv: Debian packages and a running PostgreSQL.
# Idempotent: installs only what is missing, starts PostgreSQL only when it is down.
set -euo pipefail

PACKAGES=(keepassxc pass gnome-keyring dbus dbus-x11 tmux xvfb xclip)

as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

missing=()
for pkg in "${PACKAGES[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
        missing+=("$pkg")
    fi
done
if [ "${#missing[@]}" -gt 0 ]; then
    echo "ensure-services: installing ${missing[*]}" >&2
    as_root apt-get update -q
    DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -q "${missing[@]}"
fi

if ! pg_isready -q -h 127.0.0.1; then
    echo "ensure-services: starting PostgreSQL" >&2
    as_root pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql)" main start
    for _ in $(seq 30); do
        pg_isready -q -h 127.0.0.1 && break
        sleep 1
    done
    pg_isready -h 127.0.0.1 >&2
fi
