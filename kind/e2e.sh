#!/usr/bin/env bash
# Runs metricsd on a real kind cluster and the shipped scenarios against it (--backend kind).
#
#   kind/e2e.sh [--overlay test|insecure-tls|secure|ha] [--secure] [--keep] [--name NAME]
#               [--image TAG] [--artifacts DIR] [SCENARIO_FILE...]
#
# Needs docker (with a running engine), kind and kubectl. Exit status: 0 all scenarios passed,
# 1 a scenario failed, 2 usage error, 3 a needed tool or the docker engine is missing.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"

overlay="test"
secure=0
keep=0
name=""
image="metricsd:dev"
artifacts="${ARTIFACTS:-$root/artifacts/kind}"
scenarios=()

usage() { sed -n '2,9p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; }

while [ $# -gt 0 ]; do
  case "$1" in
    --overlay) overlay="${2:?--overlay needs a value}"; shift 2 ;;
    --overlay=*) overlay="${1#*=}"; shift ;;
    --secure) secure=1; shift ;;
    --keep) keep=1; shift ;;
    --name) name="${2:?--name needs a value}"; shift 2 ;;
    --name=*) name="${1#*=}"; shift ;;
    --image) image="${2:?--image needs a value}"; shift 2 ;;
    --image=*) image="${1#*=}"; shift ;;
    --artifacts) artifacts="${2:?--artifacts needs a value}"; shift 2 ;;
    --artifacts=*) artifacts="${1#*=}"; shift ;;
    -h|--help) usage; exit 0 ;;
    -*) echo "e2e.sh: unknown option: $1" >&2; usage >&2; exit 2 ;;
    *) scenarios+=("$1"); shift ;;
  esac
done

if [ ! -d "$here/manifests/overlays/$overlay" ]; then
  have=""
  for d in "$here"/manifests/overlays/*/; do have="$have $(basename "$d")"; done
  echo "e2e.sh: no such overlay: $overlay (have:$have)" >&2
  exit 2
fi

missing=()
for tool in docker kind kubectl; do
  command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "e2e.sh: cannot run on a real cluster: missing ${missing[*]} (install docker, kind and kubectl, then rerun)" >&2
  exit 3
fi
if ! docker info >/dev/null 2>&1; then
  echo "e2e.sh: cannot run on a real cluster: docker is installed but no docker engine is reachable (start the docker daemon, then rerun)" >&2
  exit 3
fi

if [ "$secure" = 1 ]; then
  config="$here/cluster-secure.yaml"
  [ -n "$name" ] || name="metricsd-secure"
else
  config="$here/cluster.yaml"
  [ -n "$name" ] || name="metricsd"
fi
context="kind-$name"
kc=(kubectl --context "$context")

cleanup() {
  status=$?
  if [ "$status" -ne 0 ]; then
    mkdir -p "$artifacts"
    echo "e2e.sh: collecting logs into $artifacts" >&2
    "${kc[@]}" -n kube-system logs deploy/metrics-server --all-containers --prefix >"$artifacts/metricsd.log" 2>&1 || true
    "${kc[@]}" -n kube-system describe deploy,pods -l k8s-app=metrics-server >"$artifacts/describe.txt" 2>&1 || true
    "${kc[@]}" get apiservice v1beta1.metrics.k8s.io -o yaml >"$artifacts/apiservice.yaml" 2>&1 || true
    "${kc[@]}" get events -A --sort-by=.lastTimestamp >"$artifacts/events.txt" 2>&1 || true
  fi
  if [ "$keep" = 1 ]; then
    echo "e2e.sh: keeping cluster $name (delete it with: kind delete cluster --name $name)"
  else
    kind delete cluster --name "$name" >/dev/null 2>&1 || true
  fi
  exit "$status"
}

echo "e2e.sh: creating kind cluster $name from $(basename "$config")"
kind delete cluster --name "$name" >/dev/null 2>&1 || true
kind create cluster --name "$name" --config "$config"
trap cleanup EXIT

if [ "$secure" = 1 ]; then
  echo "e2e.sh: approving kubelet-serving certificate requests"
  for _ in $(seq 1 60); do
    pending="$("${kc[@]}" get csr --field-selector spec.signerName=kubernetes.io/kubelet-serving -o name 2>/dev/null || true)"
    if [ -n "$pending" ]; then
      echo "$pending" | xargs -r "${kc[@]}" certificate approve
      nodes="$("${kc[@]}" get nodes -o name | wc -l)"
      approved="$("${kc[@]}" get csr --field-selector spec.signerName=kubernetes.io/kubelet-serving -o jsonpath='{range .items[*]}{.status.certificate}{"\n"}{end}' | grep -c . || true)"
      [ "$approved" -ge "$nodes" ] && break
    fi
    sleep 2
  done
fi

echo "e2e.sh: building image $image"
docker build -f "$here/Dockerfile" -t "$image" "$root"
kind load docker-image "$image" --name "$name"

echo "e2e.sh: installing metricsd with overlay $overlay"
kubectl kustomize "$here/manifests/overlays/$overlay" | "${kc[@]}" apply -f -
"${kc[@]}" wait --for=condition=Available apiservice/v1beta1.metrics.k8s.io --timeout=180s

if [ ${#scenarios[@]} -eq 0 ]; then
  mapfile -t scenarios < <(find "$root/scenarios" -name '*.yaml' | sort)
fi
echo "e2e.sh: running ${#scenarios[@]} scenario file(s) with --backend kind"
python3 -m scenarios run --backend kind --artifacts "$artifacts" "${scenarios[@]}"
