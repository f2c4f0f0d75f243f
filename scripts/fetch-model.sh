#!/usr/bin/env bash
# `make model`: downloads a real small instruct GGUF, verifies its SHA-256 and
# only then moves it into place. A failed or mismatched download is an error
# and leaves no partial file behind (the temporary file is removed on every
# exit path).
#
#   MODEL_URL     the file's URL (default: Qwen2.5-0.5B-Instruct Q4_K_M, the
#                 official Qwen GGUF repository on Hugging Face, Apache-2.0)
#   MODEL_SHA256  its SHA-256, 64 hex digits. REQUIRED: this project could not
#                 verify the published hash from its offline build machine, so
#                 it pins none rather than a made-up one. Copy it from the file's
#                 Hugging Face page ("Git LFS Details", SHA256).
#   MODEL_OUT     where it goes (default models/<file name from the URL>)
set -euo pipefail
cd "$(dirname "$0")/.."

url=${MODEL_URL:-https://huggingface.co/Qwen/Qwen2.5-0.5B-Instruct-GGUF/resolve/main/qwen2.5-0.5b-instruct-q4_k_m.gguf}
sha=${MODEL_SHA256:-}
name=${url%%\?*}
name=${name##*/}
out=${MODEL_OUT:-models/$name}

die() { printf 'fetch-model: %s\n' "$*" >&2; exit 1; }

if ! [[ $sha =~ ^[0-9a-fA-F]{64}$ ]]; then
    die "MODEL_SHA256 must be the file's 64-hex-digit SHA-256 (got '${sha}'); no hash is pinned
for $url
because none could be verified offline. Copy it from the Hugging Face file page (Git LFS
details) and run: make model MODEL_SHA256=<hash>"
fi
sha=${sha,,}
command -v curl >/dev/null || die "curl not found: run 'make deps'"
mkdir -p "$(dirname "$out")"
if [ -f "$out" ]; then
    have=$(sha256sum "$out" | cut -d' ' -f1)
    [ "$have" = "$sha" ] && { echo "fetch-model: $out already present and verified"; exit 0; }
    die "$out exists with sha256 $have, not $sha; remove it first"
fi
tmp=$(mktemp "$out.partial.XXXXXX")
trap 'rm -f "$tmp"' EXIT
echo "fetch-model: downloading $url"
curl -fL --retry 2 --connect-timeout 20 -o "$tmp" "$url" || die "download failed: $url"
have=$(sha256sum "$tmp" | cut -d' ' -f1)
[ "$have" = "$sha" ] || die "sha256 mismatch for $url: got $have, expected $sha (file discarded)"
mv "$tmp" "$out"
trap - EXIT
echo "fetch-model: $out ($(stat -c %s "$out") bytes, sha256 $sha)"
