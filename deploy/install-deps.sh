#!/usr/bin/env bash
# Installs every Debian 12 package Eddy needs to build, test and run.
# Idempotent: packages already present are left alone, so re-running is cheap.
# prometheus (the server and promtool) and libcpp-httplib-dev are for the
# metrics integration tests (tests/integration/prometheus_test.cc);
# libcpp-httplib-dev and libssl-dev also build `eddy serve` (HTTPS), and the
# openssl CLI makes the server tests' throwaway certificates. libpg-query-dev
# is PostgreSQL's parser for jobs written in SQL (runtime/sql); libedit-dev
# gives `eddy sql` its line editing and history.
# The web UI (runtime/ui/) is bundled from npm packages at build time with
# Node.js: Debian's nodejs and npm are installed only when no node is on the
# PATH (CI machines come with a newer one). chromium (headless) runs the
# UI's browser test (tests/integration/ui_browser_test.cc).
# OpenCV's core, imgproc, imgcodecs and objdetect modules decode images and
# compute their features (operators/image, the fashion_mnist generator's
# PNGs): the per-module -dev packages, not libopencv-dev, which pulls in
# every module (video, Qt, VTK); zlib1g-dev reads the gzipped IDX files of
# dataset-fashion-mnist, the 70,000 Fashion-MNIST images of the example
# jobs/fashion-mnist-*.yaml and of their tests.
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config ccache
  librdkafka-dev librocksdb-dev
  libprotobuf-dev libprotoc-dev protobuf-compiler
  libeigen3-dev prometheus-cpp-dev
  libgtest-dev libgmock-dev
  libyaml-cpp-dev libsimdjson-dev libcli11-dev libspdlog-dev libfmt-dev libre2-dev
  kcat
  prometheus libcpp-httplib-dev
  libssl-dev openssl
  clang-format
  libpg-query-dev libedit-dev
  chromium
  libopencv-core-dev libopencv-imgproc-dev libopencv-imgcodecs-dev libopencv-objdetect-dev
  zlib1g-dev dataset-fashion-mnist
)
if ! command -v node >/dev/null 2>&1; then
  packages+=(nodejs npm)
fi

missing=()
for pkg in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$pkg")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
echo "install-deps: installing ${missing[*]}"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
