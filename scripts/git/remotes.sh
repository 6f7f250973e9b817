#!/usr/bin/env bash
# Makes `git push <remote>` push to several repositories at once, e.g. to GitHub
# and to AWS CodeCommit: the remote's push URLs become exactly the URLs given, in
# the given order. Its fetch URL stays as it is; a missing remote is created with
# the first URL as its fetch URL. Running it again with the same URLs changes
# nothing.
#
# Usage: scripts/git/remotes.sh [--repo DIR] [--remote NAME] [--list] URL [URL...]
#   --repo DIR     git work tree to configure (default: the current directory)
#   --remote NAME  remote to configure (default: origin)
#   --list         print the remote's fetch and push URLs (after any change);
#                  without URLs, only print them
#   --help         print this help
#   --             end of options (for URLs that start with "-")
# Accepted URLs:
#   https://github.com/<owner>/<repo>.git
#   git@github.com:<owner>/<repo>.git
#   https://git-codecommit.<region>.amazonaws.com/v1/repos/<name>
#   ssh://git-codecommit.<region>.amazonaws.com/v1/repos/<name>
#   codecommit::<region>://<name>      (needs git-remote-codecommit to push)
#   a path or file:// URL of an existing git repository; a path is stored as
#   an absolute path, since git would resolve a relative one against wherever
#   `git push` runs
# Every argument is checked before anything changes; all problems are printed,
# one line each, and the exit status is 2.
set -euo pipefail

readonly USAGE="usage: scripts/git/remotes.sh [--repo DIR] [--remote NAME] [--list] URL [URL...]"
readonly EXPECTED_FORMS="expected https://github.com/<owner>/<repo>.git, git@github.com:<owner>/<repo>.git, https://git-codecommit.<region>.amazonaws.com/v1/repos/<name>, ssh://git-codecommit.<region>.amazonaws.com/v1/repos/<name>, codecommit::<region>://<name>, or a path/file:// URL of an existing git repository"

# GitHub owners: letters, digits and hyphens, at most 39, not starting with a hyphen.
readonly GITHUB_OWNER='[A-Za-z0-9][A-Za-z0-9-]{0,38}'
readonly GITHUB_REPO='[A-Za-z0-9_.-]+'
readonly GITHUB_HTTPS="^https://github\\.com/${GITHUB_OWNER}/(${GITHUB_REPO})\\.git\$"
readonly GITHUB_SSH="^git@github\\.com:${GITHUB_OWNER}/(${GITHUB_REPO})\\.git\$"
readonly AWS_REGION_NAME='[a-z]{2}(-[a-z]+)+-[0-9]+'
# CodeCommit repository names: 1 to 100 letters, digits, ".", "_" or "-".
readonly CODECOMMIT_REPO='([A-Za-z0-9_.-]{1,100})'
readonly CODECOMMIT_HTTPS="^https://git-codecommit\\.${AWS_REGION_NAME}\\.amazonaws\\.com/v1/repos/${CODECOMMIT_REPO}\$"
readonly CODECOMMIT_SSH="^ssh://git-codecommit\\.${AWS_REGION_NAME}\\.amazonaws\\.com/v1/repos/${CODECOMMIT_REPO}\$"
readonly CODECOMMIT_GRC="^codecommit::${AWS_REGION_NAME}://${CODECOMMIT_REPO}\$"

# --repo must win over a GIT_DIR/GIT_WORK_TREE inherited from e.g. a git hook.
unset GIT_DIR GIT_WORK_TREE

usage() {
  sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'
}

# Succeeds if $1 is a git repository: a bare one, or a work tree with .git in it.
is_git_repo() {
  [[ -n $1 && -d $1 ]] || return 1
  git --git-dir="$1" rev-parse --git-dir >/dev/null 2>&1 \
    || git --git-dir="$1/.git" rev-parse --git-dir >/dev/null 2>&1
}

# Prints the value to store as push URL for the URL $1; fails if $1 is not one
# of the accepted forms.
push_url_for() {
  local url=$1 path
  if [[ $url =~ $GITHUB_HTTPS || $url =~ $GITHUB_SSH ]]; then
    [[ ${BASH_REMATCH[1]} != "." && ${BASH_REMATCH[1]} != ".." ]] || return 1
  elif [[ $url =~ $CODECOMMIT_HTTPS || $url =~ $CODECOMMIT_SSH || $url =~ $CODECOMMIT_GRC ]]; then
    # CodeCommit refuses repository names that end in .git.
    [[ $url != *.git ]] || return 1
  elif [[ $url == file://* ]]; then
    path=${url#file://}
    [[ $path == /* ]] || return 1
    is_git_repo "$path" || return 1
  elif [[ ${url%%/*} == *:* ]]; then
    # Like git: a colon before the first slash makes it a URL or host:path, not a path.
    return 1
  else
    is_git_repo "$url" || return 1
    url=$(cd -- "$url" && pwd) || return 1
  fi
  printf '%s\n' "$url"
}

repo=.
repo_given=0
remote=origin
list=0
urls=()
errors=()
while (($# > 0)); do
  case $1 in
    -h | --help)
      usage
      exit 0
      ;;
    --list) list=1 ;;
    --repo | --remote)
      if (($# < 2)); then
        errors+=("option $1 needs a value")
      elif [[ $1 == --repo ]]; then
        repo=$2
        repo_given=1
        shift
      else
        remote=$2
        shift
      fi
      ;;
    --repo=*)
      repo=${1#--repo=}
      repo_given=1
      ;;
    --remote=*) remote=${1#--remote=} ;;
    --)
      shift
      urls+=("$@")
      break
      ;;
    -?*) errors+=("unknown option \"$1\" (known: --repo, --remote, --list, --help)") ;;
    *) urls+=("$1") ;;
  esac
  shift
done

work_tree_ok=0
repo_label=$repo
((repo_given)) || repo_label=$PWD
if [[ -n $repo && $(git -C "$repo" rev-parse --is-inside-work-tree 2>/dev/null || true) == true ]]; then
  work_tree_ok=1
elif ((repo_given)); then
  errors+=("--repo \"$repo\" is not a git work tree")
else
  errors+=("the current directory \"$repo_label\" is not a git work tree (pass --repo DIR)")
fi

remote_ok=0
if git check-ref-format "refs/remotes/$remote/HEAD"; then
  remote_ok=1
else
  errors+=("--remote \"$remote\" is not a valid remote name")
fi

if ((${#urls[@]} == 0)); then
  if ((!list)); then
    errors+=("no URL given ($USAGE)")
  elif ((work_tree_ok && remote_ok)) && ! git -C "$repo" remote get-url "$remote" >/dev/null 2>&1; then
    errors+=("remote \"$remote\" does not exist in \"$repo_label\"")
  fi
fi

# push_urls[i] is what gets stored for urls[i] ("" if invalid). Duplicates are
# judged on it too, so "bare.git" and "./bare.git" are the same repository.
push_urls=()
reported_duplicates=" "
for ((i = 0; i < ${#urls[@]}; i++)); do
  url=${urls[i]}
  first=-1
  for ((j = 0; j < i; j++)); do
    if [[ ${urls[j]} == "$url" ]]; then
      first=$j
      break
    fi
  done
  if ((first >= 0)); then
    # One line per repeated URL, however often it repeats.
    if [[ $reported_duplicates != *" $first "* ]]; then
      errors+=("URL \"$url\" is given more than once")
      reported_duplicates+="$first "
    fi
    push_urls+=("${push_urls[first]}")
    continue
  fi
  if ! push_url=$(push_url_for "$url"); then
    errors+=("URL \"$url\" is not a GitHub, CodeCommit or local repository URL ($EXPECTED_FORMS)")
    push_urls+=("")
    continue
  fi
  for ((j = 0; j < i; j++)); do
    if [[ ${push_urls[j]} == "$push_url" ]]; then
      errors+=("URL \"$url\" is the same repository as URL \"${urls[j]}\"")
      break
    fi
  done
  push_urls+=("$push_url")
done

if ((${#errors[@]} > 0)); then
  printf 'error: %s\n' "${errors[@]}" >&2
  exit 2
fi

in_repo() { git -C "$repo" "$@"; }

if ((${#push_urls[@]} > 0)); then
  if ! in_repo remote get-url "$remote" >/dev/null 2>&1; then
    in_repo remote add "$remote" "${push_urls[0]}"
  fi
  current=$(in_repo config --get-all "remote.$remote.pushurl" || true)
  wanted=$(printf '%s\n' "${push_urls[@]}")
  if [[ $current == "$wanted" ]]; then
    echo "remote \"$remote\" already pushes to these ${#push_urls[@]} URL(s); nothing changed"
  else
    # set-url --push without --add refuses to replace several values, so start empty.
    if [[ -n $current ]]; then
      in_repo config --unset-all "remote.$remote.pushurl"
    fi
    for push_url in "${push_urls[@]}"; do
      in_repo remote set-url --add --push "$remote" "$push_url"
    done
    echo "remote \"$remote\" now pushes to ${#push_urls[@]} URL(s)"
  fi
fi

if ((list)); then
  in_repo remote get-url --all "$remote" | while IFS= read -r line; do
    printf 'fetch\t%s\n' "$line"
  done
  # Without push URLs, git pushes to the fetch URL; get-url --push shows that too.
  in_repo remote get-url --push --all "$remote" | while IFS= read -r line; do
    printf 'push\t%s\n' "$line"
  done
fi
