#!/bin/sh
# Makes a throwaway git repository for the Arbor walkthrough: one commit on
# `main` holding a README. Prints the repository's absolute path (and nothing
# else on stdout), so that `REPO=$(sh examples/make-demo-repo.sh)` works.
#
#   sh examples/make-demo-repo.sh [directory]
#
# Without a directory it makes a new one under ${TMPDIR:-/tmp}.
set -eu

if [ $# -gt 0 ]; then
  mkdir -p "$1"
  dir=$1
else
  dir=$(mktemp -d "${TMPDIR:-/tmp}/arbor-demo-XXXXXX")
fi
dir=$(cd "$dir" && pwd -P)

if [ -e "$dir/.git" ]; then
  echo "make-demo-repo.sh: $dir is already a git repository" >&2
  exit 1
fi

git -C "$dir" init --quiet
# `git init -b` needs git 2.28; this works with any version.
git -C "$dir" symbolic-ref HEAD refs/heads/main
printf '# Demo web app\n\nA throwaway repository for the Arbor walkthrough.\n' > "$dir/README.md"
git -C "$dir" add README.md
git -C "$dir" -c user.name='Arbor demo' -c user.email='demo@arbor.invalid' \
  commit --quiet --no-verify -m 'Initial commit'

echo "$dir"
