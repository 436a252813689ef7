#!/usr/bin/env bash
# Makes scenario S1..S5 as commits on the checked-out task branch of a sandbox repository.
# Usage: scenario.sh S1|S2|S3|S4|S5   (run inside the sandbox repository)
set -euo pipefail
largest_text() { git ls-files | while read -r f; do if [ -f "$f" ] && [ ! -L "$f" ] && grep -Iq . "$f"; then echo "$(wc -c < "$f") $f"; fi; done | sort -n | tail -1 | cut -d' ' -f2-; }
case "$1" in
S1) # one-line edit in the largest text file
    f=$(largest_text); n=$(( $(wc -l < "$f") / 2 + 1 ))
    sed -i "${n}s/\$/ \/\/ edited by the agent/" "$f"; git commit -qam "S1: one-line edit in $f" ;;
S2) # twenty new small files
    mkdir -p agent-notes; for i in $(seq 1 20); do printf 'note %s\nwritten in the sandbox\n' "$i" > "agent-notes/n$i.txt"; done
    git add agent-notes; git commit -qm "S2: twenty new files" ;;
S3) # thirty commits touching thirty files
    git ls-files | grep -E '\.(rs|c|h|py|go|md|txt)$' | sed -n 1,30p > /tmp/procoder-bench-s3
    i=0; while read -r f; do i=$((i+1)); printf '\n// change %s\n' "$i" >> "$f"; git commit -qam "S3: change $i"; done < /tmp/procoder-bench-s3 ;;
S4) # git mv of a directory of about fifty files, plus one edit
    # The directory whose file count (all levels) is nearest 50, between 20 and 200.
    d=$(git ls-tree -d -r --name-only HEAD | while read -r x; do
            n=$(git ls-tree -r "HEAD:$x" | grep -c ' blob ' || true)
            if [ "$n" -ge 20 ] && [ "$n" -le 200 ]; then echo "$(( n > 50 ? n - 50 : 50 - n )) $x"; fi
        done | sort -n | sed -n '1s/^[0-9]* //p')
    [ -n "$d" ] || { echo "S4: no directory of 20-200 files" >&2; exit 1; }
    git mv "$d" "$d-moved"; f=$(git ls-files "$d-moved" | sed -n 1p); printf '\nedited after the move\n' >> "$f"
    git commit -qam "S4: move $d and edit one file" ;;
S5) # a 1 MiB binary replaced, then 1% of it rewritten
    f=$(git ls-files | while read -r x; do if [ -f "$x" ] && [ "$(wc -c < "$x")" -ge 500000 ] && ! grep -Iq . "$x"; then echo "$x"; fi; done | sed -n 1p)
    [ -n "$f" ] || f=bench-blob.bin
    head -c 1048576 /dev/urandom > "$f"; git add "$f"; git commit -qm "S5: replace $f"
    python3 -c "import os,sys; p=sys.argv[1]; d=bytearray(open(p,'rb').read()); d[4096:4096+len(d)//100]=os.urandom(len(d)//100); open(p,'wb').write(d)" "$f"
    git commit -qam "S5: rewrite 1% of $f" ;;
*) echo "unknown scenario $1" >&2; exit 2 ;;
esac
