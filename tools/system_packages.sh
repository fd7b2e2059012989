#!/usr/bin/env bash
# The Debian packages the book needs beyond Python, installed when missing (`make system`,
# which `make test` runs first): Chromium for the browser tests and `make pdf`, CJK and
# Liberation fonts for the figures and the PDF's Chinese (Noto Sans CJK SC), npm for the
# pinned MathJax/mermaid, and fortunes-zh, the language-model corpus. As root it installs
# them with apt-get; otherwise through sudo; without either it prints the command to run
# and fails.
set -euo pipefail

missing=()
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
fc-list 2>/dev/null | grep -i "Noto Sans CJK" >/dev/null || missing+=(fonts-noto-cjk)  # not -q: SIGPIPE + pipefail
fc-list 2>/dev/null | grep -i "Liberation" >/dev/null || missing+=(fonts-liberation)
command -v npm >/dev/null 2>&1 || missing+=(nodejs npm)
[ -f /usr/share/games/fortunes/chinese ] || missing+=(fortunes-zh)
[ "${#missing[@]}" -eq 0 ] && exit 0

echo "system: installing Debian packages: ${missing[*]}"
sudo_cmd=""
if [ "$(id -u)" != 0 ]; then
  if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    sudo_cmd="sudo"
  else
    echo "system: not root and no password-less sudo; run:" >&2
    echo "  sudo apt-get install -y --no-install-recommends ${missing[*]}" >&2
    exit 1
  fi
fi
$sudo_cmd apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends \
  "${missing[@]}" >/dev/null
