#!/bin/sh
# The steps both buildspecs share (docker-push-ecr.yml on a CodeBuild managed image,
# docker-dind.yml on docker:dind): POSIX sh, so it runs in Alpine's ash as well as bash.
# The buildspecs carry this file in themselves: BuildSpec.bundled pastes it into their first
# phase at synth, which writes it to a temp file, so a build needs nothing of this repository
# in its source, only a Dockerfile.
#
# Usage: sh ecr-image.sh <step>
#   start-dockerd  start dockerd (overlay2) and wait until `docker info` answers (dind only)
#   check          the source holds the Dockerfile and the build context; the sample's variables are set
#   login          aws ecr get-login-password | docker login (the ECR registry of the account)
#   build          build the image, using the previous IMAGE_TAG image as cache when there is one
#   push           push BUILD_TAG (and IMAGE_TAG when set); write imagedefinitions.json; with
#                  PUSH_IMAGE=false push nothing and write an empty imagedefinitions.json
#   scan-gate      when SCAN_FAIL_SEVERITY is set: wait for the scan on push, fail on findings
#                  at or above that severity
#   batch-arn      print the ARN of the batch build this build belongs to (nothing outside a
#                  batch build): aws codebuild batch-get-builds of CODEBUILD_BUILD_ID
#   manifest       the manifest build of a multi-arch batch: create the manifest list of the
#                  images <BUILD_TAG>-<arch> of MANIFEST_PLATFORMS and push it as BUILD_TAG (and
#                  IMAGE_TAG when set); write imagedefinitions.json with it
#
# Tags: every build pushes BUILD_TAG, a tag no other build pushes, so that a repository with
# IMMUTABLE tags accepts every build: <short commit>-<build number>-<8 characters of the build's
# ID> (e.g. 3f2a1bc-12-7d9e0c41), with "build" for the commit when the source has none (S3) and
# "local" for the ID outside CodeBuild. The build ID tells apart two projects that push the same
# commit to one repository. IMAGE_TAG, when set, is a second, fixed tag (e.g. latest; only a
# MUTABLE repository accepts it twice).
#
# Multi-arch (docker-push-ecr-multiarch.yml, a batch build): each architecture's build has
# TARGET_PLATFORM (linux/amd64 or linux/arm64): it builds for that platform and pushes only
# <BUILD_TAG>-<arch> (amd64, arm64); the manifest build has MANIFEST_PLATFORMS and pushes the
# manifest list of those images as BUILD_TAG and IMAGE_TAG. In a batch, BUILD_TAG is the same in
# every build of the batch: <short commit>-<8 characters of the batch build's ID> (BATCH_BUILD_ARN,
# looked up with batch-arn when not set).
#
# Variables: AWS_DEFAULT_REGION, AWS_ACCOUNT_ID, IMAGE_REPO_NAME, DOCKERFILE and DOCKER_BUILD_CONTEXT
# (set by the CodeBuild project), CODEBUILD_RESOLVED_SOURCE_VERSION, CODEBUILD_BUILD_NUMBER and
# CODEBUILD_BUILD_ID (set by CodeBuild), and optionally
#   IMAGE_TAG            a fixed tag pushed besides BUILD_TAG (set by the project's imageTag)
#   DOCKERFILE           the Dockerfile, relative to the source root (default: Dockerfile)
#   DOCKER_BUILD_CONTEXT       the build context, relative to the source root (default: .); as in
#                        `docker build -f "$DOCKERFILE" "$DOCKER_BUILD_CONTEXT"`
#   REGISTRY_HOST        registry host (default: <account>.dkr.ecr.<region>.amazonaws.com)
#   BUILDER_IMAGE, RUNTIME_IMAGE   base images passed to the Dockerfile (mirrors)
#   IMAGE_DEFINITIONS_NAME       name in imagedefinitions.json (default: app)
#   PUSH_IMAGE           false: build only, push nothing and skip the scan gate (the pull
#                        request project of the constructs' triggers sets it; its role can only
#                        pull, so login stays: the build pulls the IMAGE_TAG image as its cache)
#   SCAN_FAIL_SEVERITY   CRITICAL, HIGH, MEDIUM, LOW, INFORMATIONAL or UNDEFINED
#   SCAN_WAIT_SECONDS    longest wait for the scan (default: 300)
#   DOCKERD_WAIT_SECONDS longest wait for dockerd (default: 30)
#   TARGET_PLATFORM      multi-arch: the platform this build builds (linux/amd64, linux/arm64)
#   MANIFEST_PLATFORMS   multi-arch: the platforms the manifest list names (space or comma separated)
#   BATCH_BUILD_ARN      multi-arch: the batch build's ARN (default: looked up, see batch-arn)
set -eu

die() {
  printf 'error: %s\n' "$*" >&2
  exit 1
}

need_vars() {
  for name in "$@"; do
    eval "value=\${$name:-}"
    # shellcheck disable=SC2154 # value is set by the eval above
    [ -n "$value" ] || die "$name is not set (the CodeBuild project sets AWS_DEFAULT_REGION, AWS_ACCOUNT_ID and IMAGE_REPO_NAME)"
  done
}

setup() {
  need_vars AWS_DEFAULT_REGION AWS_ACCOUNT_ID IMAGE_REPO_NAME
  REGISTRY="${REGISTRY_HOST:-${AWS_ACCOUNT_ID}.dkr.ecr.${AWS_DEFAULT_REGION}.amazonaws.com}"
  REPOSITORY_URI="${REGISTRY}/${IMAGE_REPO_NAME}"
  IMAGE_TAG="${IMAGE_TAG:-}"
  case "${CODEBUILD_RESOLVED_SOURCE_VERSION:-}" in
    '' | *[!0-9a-f]*) commit=build ;;
    *) commit="$(printf '%s' "$CODEBUILD_RESOLVED_SOURCE_VERSION" | cut -c 1-7)" ;;
  esac
  # The build ID is <project>:<uuid>. Outside CodeBuild there is none: "local" stands in (each
  # step runs this script anew, so the tag must come out the same in every step of one build).
  build_id="${CODEBUILD_BUILD_ID:-local}"
  build_id="${build_id##*:}"
  BUILD_TAG="${commit}-${CODEBUILD_BUILD_NUMBER:-0}-$(printf '%s' "$build_id" | tr -cd '0-9a-zA-Z' | cut -c 1-8)"
  TARGET_PLATFORM="${TARGET_PLATFORM:-}"
  MANIFEST_PLATFORMS="$(printf '%s' "${MANIFEST_PLATFORMS:-}" | tr ',' ' ')"
  [ -z "$TARGET_PLATFORM" ] || [ -z "$MANIFEST_PLATFORMS" ] ||
    die "TARGET_PLATFORM \"${TARGET_PLATFORM}\" and MANIFEST_PLATFORMS \"${MANIFEST_PLATFORMS}\" are both set: a build of the multi-arch graph builds one platform or the manifest list, not both"
  ARCH=""
  if [ -n "$TARGET_PLATFORM" ]; then
    check_platform TARGET_PLATFORM "$TARGET_PLATFORM"
    ARCH="${TARGET_PLATFORM#linux/}"
  fi
  # The builds of one multi-arch batch share a tag: the commit and the batch build's ID.
  if [ -n "${CODEBUILD_BATCH_BUILD_IDENTIFIER:-}" ] && [ -n "${TARGET_PLATFORM}${MANIFEST_PLATFORMS}" ]; then
    if [ -z "${BATCH_BUILD_ARN:-}" ]; then
      BATCH_BUILD_ARN="$(batch_arn)" || exit 1
    fi
    BUILD_TAG="${commit}-$(printf '%s' "${BATCH_BUILD_ARN##*:}" | tr -cd '0-9a-zA-Z' | cut -c 1-8)"
  fi
  # The tag this build pushes: an architecture's build pushes <BUILD_TAG>-<arch> only.
  PUSH_TAG="${BUILD_TAG}${ARCH:+-${ARCH}}"
  DOCKERFILE="${DOCKERFILE:-Dockerfile}"
  DOCKER_BUILD_CONTEXT="${DOCKER_BUILD_CONTEXT:-.}"
  case "${PUSH_IMAGE:-true}" in
    true | false) ;;
    *) die "PUSH_IMAGE \"${PUSH_IMAGE}\" must be true or false" ;;
  esac
}

# The platforms a multi-arch build knows: the architectures CodeBuild has Linux containers for.
check_platform() {
  case "$2" in
    linux/amd64 | linux/arm64) ;;
    *) die "$1 \"$2\" must be linux/amd64 or linux/arm64 (the platforms of CodeBuild's LINUX_CONTAINER and ARM_CONTAINER)" ;;
  esac
}

# The ARN of the batch build this build belongs to; nothing when it is not in a batch.
batch_arn() {
  [ -n "${CODEBUILD_BATCH_BUILD_IDENTIFIER:-}" ] || return 0
  [ -n "${CODEBUILD_BUILD_ID:-}" ] || die "CODEBUILD_BUILD_ID is not set (CodeBuild sets it in every build)"
  arn="$(aws codebuild batch-get-builds --ids "$CODEBUILD_BUILD_ID" --query 'builds[0].buildBatchArn' --output text)" ||
    die "aws codebuild batch-get-builds --ids ${CODEBUILD_BUILD_ID} failed (does the role have codebuild:BatchGetBuilds on its project?)"
  case "$arn" in
    arn:*:build-batch/*) printf '%s\n' "$arn" ;;
    *) die "build ${CODEBUILD_BUILD_ID} is the batch build step ${CODEBUILD_BATCH_BUILD_IDENTIFIER}, but batch-get-builds names no batch build ARN (\"${arn}\")" ;;
  esac
}

# The machine's own architecture, as a platform's architecture (amd64, arm64).
host_arch() {
  case "$(uname -m)" in
    x86_64) echo amd64 ;;
    aarch64 | arm64) echo arm64 ;;
    *) uname -m ;;
  esac
}

# True when the build must not push (PUSH_IMAGE=false).
no_push() {
  [ "${PUSH_IMAGE:-true}" = false ]
}

start_dockerd() {
  wait_seconds="${DOCKERD_WAIT_SECONDS:-30}"
  nohup dockerd --host=unix:///var/run/docker.sock --storage-driver=overlay2 >/tmp/dockerd.log 2>&1 &
  waited=0
  until docker info >/dev/null 2>&1; do
    if [ "$waited" -ge "$wait_seconds" ]; then
      printf 'error: dockerd did not answer "docker info" within %s s; its log:\n' "$wait_seconds" >&2
      tail -n 20 /tmp/dockerd.log >&2 || true
      exit 1
    fi
    sleep 1
    waited=$((waited + 1))
  done
  echo "dockerd is up after ${waited} s"
}

check() {
  setup
  [ -f "$DOCKERFILE" ] ||
    die "the source ($(pwd)) has no Dockerfile at DOCKERFILE=\"${DOCKERFILE}\" (DOCKER_BUILD_CONTEXT=\"${DOCKER_BUILD_CONTEXT}\"): set the project's dockerfile and buildContext to where the source holds them"
  [ -d "$DOCKER_BUILD_CONTEXT" ] ||
    die "the source ($(pwd)) has no folder at DOCKER_BUILD_CONTEXT=\"${DOCKER_BUILD_CONTEXT}\" (DOCKERFILE=\"${DOCKERFILE}\"): set the project's buildContext to a folder of the source"
  if [ -n "$MANIFEST_PLATFORMS" ]; then
    echo "pushing the manifest list ${REPOSITORY_URI}:${BUILD_TAG}${IMAGE_TAG:+ and ${IMAGE_TAG}} of ${MANIFEST_PLATFORMS}"
  elif [ -n "$TARGET_PLATFORM" ]; then
    echo "building ${REPOSITORY_URI} for ${TARGET_PLATFORM} with the tag ${PUSH_TAG}, from ${DOCKERFILE} in the context ${DOCKER_BUILD_CONTEXT}"
  else
    echo "building ${REPOSITORY_URI} with the tag ${BUILD_TAG}${IMAGE_TAG:+ and ${IMAGE_TAG}}, from ${DOCKERFILE} in the context ${DOCKER_BUILD_CONTEXT}"
  fi
}

login() {
  setup
  # No pipeline: POSIX sh has no pipefail, and a failed get-login-password must fail the step.
  password="$(aws ecr get-login-password --region "$AWS_DEFAULT_REGION")" ||
    die "aws ecr get-login-password failed (does the role have ecr:GetAuthorizationToken?)"
  printf '%s' "$password" | docker login --username AWS --password-stdin "$REGISTRY"
}

build() {
  setup
  cache=""
  if [ -z "$IMAGE_TAG" ]; then
    echo "no IMAGE_TAG: building without a cache image (the project's local Docker layer cache still applies)"
  elif docker pull ${TARGET_PLATFORM:+--platform "$TARGET_PLATFORM"} "${REPOSITORY_URI}:${IMAGE_TAG}"; then
    cache="${REPOSITORY_URI}:${IMAGE_TAG}"
  else
    echo "no previous ${REPOSITORY_URI}:${IMAGE_TAG}: building without a cache image"
  fi
  set -- --file "$DOCKERFILE" --tag "${REPOSITORY_URI}:${PUSH_TAG}"
  # IMAGE_TAG names the image; in a multi-arch build it names the manifest list instead.
  [ -z "$IMAGE_TAG" ] || [ -n "$TARGET_PLATFORM" ] || set -- "$@" --tag "${REPOSITORY_URI}:${IMAGE_TAG}"
  [ -z "$TARGET_PLATFORM" ] || set -- "$@" --platform "$TARGET_PLATFORM"
  set -- "$@" --build-arg "VERSION=${IMAGE_TAG:-$BUILD_TAG}" --build-arg "REVISION=${CODEBUILD_RESOLVED_SOURCE_VERSION:-unknown}"
  if docker --version 2>/dev/null | grep -qi podman; then
    # podman (the local stand-in for docker): layer cache, keyed by repository without a tag.
    set -- "$@" --layers
    [ -z "$cache" ] || set -- "$@" --cache-from "$REPOSITORY_URI"
    # BuildKit sets BUILDPLATFORM itself; podman 4 does not, and a `FROM --platform=$BUILDPLATFORM`
    # builder stage would then look for an image of the target platform.
    [ -z "$TARGET_PLATFORM" ] || set -- "$@" --build-arg "BUILDPLATFORM=linux/$(host_arch)"
  elif [ -n "$cache" ]; then
    # Docker: reuse the previous image's layers; BUILDKIT_INLINE_CACHE keeps the new image usable as cache too.
    set -- "$@" --cache-from "$cache" --build-arg BUILDKIT_INLINE_CACHE=1
  else
    set -- "$@" --build-arg BUILDKIT_INLINE_CACHE=1
  fi
  [ -z "${BUILDER_IMAGE:-}" ] || set -- "$@" --build-arg "BUILDER_IMAGE=${BUILDER_IMAGE}"
  [ -z "${RUNTIME_IMAGE:-}" ] || set -- "$@" --build-arg "RUNTIME_IMAGE=${RUNTIME_IMAGE}"
  docker build "$@" "$DOCKER_BUILD_CONTEXT"
}

push() {
  setup
  [ "${CODEBUILD_BUILD_SUCCEEDING:-1}" = 1 ] || die "the build failed: nothing to push"
  if no_push; then
    # The buildspecs' artifact must exist; it names no image, since none was pushed.
    printf '[]\n' >imagedefinitions.json
    echo "PUSH_IMAGE=false: built ${REPOSITORY_URI}:${PUSH_TAG}, pushing nothing (imagedefinitions.json lists no image)"
    return 0
  fi
  docker push "${REPOSITORY_URI}:${PUSH_TAG}"
  [ -z "$IMAGE_TAG" ] || [ -n "$TARGET_PLATFORM" ] || docker push "${REPOSITORY_URI}:${IMAGE_TAG}"
  image_definitions "${REPOSITORY_URI}:${PUSH_TAG}"
}

image_definitions() {
  printf '[{"name":"%s","imageUri":"%s"}]\n' "${IMAGE_DEFINITIONS_NAME:-app}" "$1" >imagedefinitions.json
  echo "wrote imagedefinitions.json for $1"
}

manifest() {
  setup
  [ "${CODEBUILD_BUILD_SUCCEEDING:-1}" = 1 ] || die "the build failed: no manifest list to push"
  [ -n "$MANIFEST_PLATFORMS" ] ||
    die "MANIFEST_PLATFORMS is not set (the manifest build of the multi-arch buildspec sets it, e.g. \"linux/amd64 linux/arm64\")"
  if no_push; then
    printf '[]\n' >imagedefinitions.json
    echo "PUSH_IMAGE=false: no architecture's image was pushed, so there is no manifest list to push"
    return 0
  fi
  set --
  for platform in $MANIFEST_PLATFORMS; do
    check_platform MANIFEST_PLATFORMS "$platform"
    image="${REPOSITORY_URI}:${BUILD_TAG}-${platform#linux/}"
    case " $* " in
      *" $image "*) die "MANIFEST_PLATFORMS \"${MANIFEST_PLATFORMS}\" names ${platform} twice" ;;
    esac
    set -- "$@" "$image"
  done
  [ "$#" -ge 2 ] || die "MANIFEST_PLATFORMS \"${MANIFEST_PLATFORMS}\" must name at least two platforms (a manifest list of one image is that image)"
  for tag in "$BUILD_TAG" ${IMAGE_TAG:+"$IMAGE_TAG"}; do
    # Reads each image from the registry (the architectures' builds pushed them), then pushes
    # the list; --purge drops the local copy so a later create starts anew.
    docker manifest create "${REPOSITORY_URI}:${tag}" "$@"
    docker manifest push --purge "${REPOSITORY_URI}:${tag}"
  done
  image_definitions "${REPOSITORY_URI}:${BUILD_TAG}"
}

# Severities from the most to the least severe, as ECR reports them.
SEVERITIES="CRITICAL HIGH MEDIUM LOW INFORMATIONAL UNDEFINED"

scan_gate() {
  setup
  threshold="${SCAN_FAIL_SEVERITY:-}"
  if no_push; then
    echo "PUSH_IMAGE=false: nothing was pushed, so there is no scan to wait for"
    return 0
  fi
  if [ -z "$threshold" ]; then
    echo "SCAN_FAIL_SEVERITY is not set: not waiting for the scan"
    return 0
  fi
  case " $SEVERITIES " in
    *" $threshold "*) ;;
    *) die "SCAN_FAIL_SEVERITY \"$threshold\" must be one of: $SEVERITIES" ;;
  esac
  # ECR scans images, not manifest lists: an architecture's build gates its own image.
  image="imageTag=${PUSH_TAG}"
  timeout "${SCAN_WAIT_SECONDS:-300}" aws ecr wait image-scan-complete --region "$AWS_DEFAULT_REGION" \
    --repository-name "$IMAGE_REPO_NAME" --image-id "$image" ||
    die "the scan of ${IMAGE_REPO_NAME}:${PUSH_TAG} did not complete within ${SCAN_WAIT_SECONDS:-300} s"
  # Count the findings of each severity from the most severe down to the threshold.
  total=0
  report=""
  for severity in $SEVERITIES; do
    n="$(aws ecr describe-image-scan-findings --region "$AWS_DEFAULT_REGION" --repository-name "$IMAGE_REPO_NAME" \
      --image-id "$image" --query "imageScanFindings.findingSeverityCounts.${severity}" --output text)"
    case "$n" in '' | None) n=0 ;; esac
    report="${report} ${severity}=${n}"
    total=$((total + n))
    [ "$severity" = "$threshold" ] && break
  done
  if [ "$total" -gt 0 ]; then
    die "the scan found ${total} finding(s) at or above ${threshold}:${report}"
  fi
  echo "scan passed: no findings at or above ${threshold}:${report}"
}

case "${1:-}" in
  start-dockerd) start_dockerd ;;
  check) check ;;
  login) login ;;
  build) build ;;
  push) push ;;
  scan-gate) scan_gate ;;
  batch-arn) batch_arn ;;
  manifest) manifest ;;
  *) die "unknown step \"${1:-}\" (steps: start-dockerd, check, login, build, push, scan-gate, batch-arn, manifest)" ;;
esac
