#!/usr/bin/env bash
# Install or upgrade Permanence as a system service on Debian 12 (run as root).
#
#   sudo deploy/install.sh [SOURCE_DIR]
#
# SOURCE_DIR is the Permanence source tree to install (default: the tree this
# script belongs to). Safe to run again: it upgrades the package, keeps an
# existing /etc/permanence/permanence.toml and the data in /var/lib/permanence,
# and restarts the service only if it was already running.
#
# Layout:
#   /opt/permanence/venv               the package and its dependencies (root-owned)
#   /opt/permanence/nlu                the dialogue's training data (Rasa project)
#   /etc/permanence/permanence.toml    configuration (root:permanence, 0640)
#   /var/lib/permanence                data: SQLite file, Vosk models, caches
#   /etc/systemd/system/permanence.service

set -euo pipefail

readonly SERVICE_USER="permanence"
readonly PREFIX="/opt/permanence"
readonly VENV="${PREFIX}/venv"
# The Rasa project (nlu/) is data, not part of the Python package: installed
# beside the venv and named by dialogue.nlu_path in the example configuration.
readonly NLU_DIR="${PREFIX}/nlu"
readonly CONFIG_DIR="/etc/permanence"
readonly CONFIG="${CONFIG_DIR}/permanence.toml"
readonly DATA_DIR="/var/lib/permanence"
readonly UNIT_NAME="permanence.service"
readonly UNIT_PATH="/etc/systemd/system/${UNIT_NAME}"
# Debian packages: the interpreter and venv module, eSpeak NG for speech
# synthesis (pyttsx3 loads libespeak-ng1), sox for audio conversion.
readonly PACKAGES=(python3 python3-venv espeak-ng libespeak-ng1 sox)
# Debian's own interpreter, never whatever `python3` is first on root's PATH
# (pyenv, conda...): the service user must be able to run it.
readonly PYTHON="/usr/bin/python3"

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
SOURCE_DIR="$(cd "${1:-${SCRIPT_DIR}/..}" && pwd)"
readonly SCRIPT_DIR SOURCE_DIR

step() { printf '\n==> %s\n' "$*"; }
info() { printf '    %s\n' "$*"; }
die() { printf 'install.sh: error: %s\n' "$*" >&2; exit 1; }

preflight() {
    [[ ${EUID} -eq 0 ]] || die "run as root (sudo $0)"
    [[ -f "${SOURCE_DIR}/setup.cfg" ]] \
        || die "${SOURCE_DIR} is not a Permanence source tree (no setup.cfg); pass the tree as first argument"
    [[ -f "${SCRIPT_DIR}/permanence.toml.example" ]] || die "missing ${SCRIPT_DIR}/permanence.toml.example"
    [[ -f "${SCRIPT_DIR}/systemd/${UNIT_NAME}" ]] || die "missing ${SCRIPT_DIR}/systemd/${UNIT_NAME}"
    if [[ -r /etc/os-release ]]; then
        # shellcheck disable=SC1091  # system file, not part of this repository
        . /etc/os-release
        [[ "${ID:-}" == "debian" && "${VERSION_ID:-}" == "12" ]] \
            || info "warning: written for Debian 12, this is ${PRETTY_NAME:-unknown}; continuing"
    fi
}

install_packages() {
    step "Debian packages: ${PACKAGES[*]}"
    local missing=() pkg
    for pkg in "${PACKAGES[@]}"; do
        [[ "$(dpkg-query -W -f='${Status}' "${pkg}" 2>/dev/null)" == "install ok installed" ]] \
            || missing+=("${pkg}")
    done
    if [[ ${#missing[@]} -eq 0 ]]; then
        info "all present"
        return
    fi
    info "installing: ${missing[*]}"
    apt-get update -q
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
}

check_python() {
    "${PYTHON}" -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
        || die "Permanence needs Python 3.11 or newer; $("${PYTHON}" --version) found"
}

create_user() {
    step "System user ${SERVICE_USER}"
    if id -u "${SERVICE_USER}" >/dev/null 2>&1; then
        info "exists"
    else
        useradd --system --home-dir "${DATA_DIR}" --no-create-home \
            --shell /usr/sbin/nologin --comment "Permanence phone receptionist" "${SERVICE_USER}"
        info "created"
    fi
}

install_package() {
    step "Python environment ${VENV} from ${SOURCE_DIR}"
    install -d -m 0755 -o root -g root "${PREFIX}"
    if [[ -e "${VENV}" ]] && ! grep -qx "home = ${PYTHON%/*}" "${VENV}/pyvenv.cfg" 2>/dev/null; then
        info "existing venv is not built on ${PYTHON}: recreating it"
        rm -rf "${VENV}"
    fi
    if [[ ! -x "${VENV}/bin/python" ]]; then
        "${PYTHON}" -m venv "${VENV}"
        info "venv created"
    fi
    "${VENV}/bin/pip" install --quiet --upgrade pip
    # A plain (not editable) install: the service keeps working if the source
    # tree moves; --upgrade makes pip rebuild it from the tree on every run.
    "${VENV}/bin/pip" install --quiet --upgrade "${SOURCE_DIR}"
    [[ -x "${VENV}/bin/permanence" ]] || die "pip did not install the 'permanence' command"
    [[ -d "${SOURCE_DIR}/nlu" ]] || die "missing ${SOURCE_DIR}/nlu (the dialogue's training data)"
    rm -rf "${NLU_DIR}.new"
    cp -a "${SOURCE_DIR}/nlu" "${NLU_DIR}.new"
    chown -R root:root "${NLU_DIR}.new"
    chmod -R u=rwX,go=rX "${NLU_DIR}.new"
    rm -rf "${NLU_DIR}"
    mv "${NLU_DIR}.new" "${NLU_DIR}"
    info "installed: $("${VENV}/bin/pip" show permanence | sed -n 's/^Version: /permanence /p')"
}

install_config() {
    step "Configuration ${CONFIG}"
    install -d -m 0750 -o root -g "${SERVICE_USER}" "${CONFIG_DIR}"
    if [[ -e "${CONFIG}" ]]; then
        info "kept the existing file (new example: ${SCRIPT_DIR}/permanence.toml.example)"
    else
        # Readable by the service, not by other users: it may hold a database password.
        install -m 0640 -o root -g "${SERVICE_USER}" "${SCRIPT_DIR}/permanence.toml.example" "${CONFIG}"
        info "written from the example: edit the tenants before taking real calls"
    fi
    step "Data directory ${DATA_DIR}"
    install -d -m 0750 -o "${SERVICE_USER}" -g "${SERVICE_USER}" "${DATA_DIR}"
    info "ready"
}

check_config() {
    step "Checking ${CONFIG}"
    # As the service user, so file permissions are checked too; a broken file is
    # reported here instead of sending the service into a restart loop.
    if ! runuser -u "${SERVICE_USER}" -- env HOME="${DATA_DIR}" \
            "${VENV}/bin/permanence" --config "${CONFIG}" config; then
        die "${CONFIG} is not valid (message above): fix it, then run this script again"
    fi
}

install_unit() {
    step "systemd unit ${UNIT_PATH}"
    local changed=0
    if ! cmp -s "${SCRIPT_DIR}/systemd/${UNIT_NAME}" "${UNIT_PATH}"; then
        install -m 0644 -o root -g root "${SCRIPT_DIR}/systemd/${UNIT_NAME}" "${UNIT_PATH}"
        changed=1
        info "installed"
    else
        info "unchanged"
    fi
    if [[ ! -d /run/systemd/system ]]; then
        systemctl enable "${UNIT_NAME}" >/dev/null 2>&1 \
            || info "systemd is not running here: enable ${UNIT_NAME} on the real host"
        info "systemd is not running: not starting the service"
        return
    fi
    if [[ ${changed} -eq 1 ]]; then
        systemctl daemon-reload
    fi
    systemctl enable --quiet "${UNIT_NAME}"
    info "enabled"
    if systemctl is-active --quiet "${UNIT_NAME}"; then
        systemctl restart "${UNIT_NAME}"
        info "restarted on the new version"
    fi
}

next_steps() {
    step "Done"
    cat <<EOF
    1. Edit ${CONFIG} (tenants, listen addresses, store).
       server.agi_host / audiosocket_host must be reachable from Asterisk:
       TCP 4573 (FastAGI) and 4574 (AudioSocket), from the Asterisk host only.
    2. systemctl restart ${UNIT_NAME}    # (or start, the first time)
    3. journalctl -u ${UNIT_NAME} -f     # logs
    4. Asterisk side: dialplans/README.md in ${SOURCE_DIR}
EOF
}

main() {
    preflight
    install_packages
    check_python
    create_user
    install_package
    install_config
    check_config
    install_unit
    next_steps
}

main "$@"
