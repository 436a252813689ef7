#!/usr/bin/env python3
"""Generate a repository big enough to measure procoder on, deterministically, through
`git fast-import`: COMMITS commits over a tree of source-like text files in nested
directories (one of them a few hundred KB), a directory of 50 small files (for the
directory-move scenario), a 1 MiB binary, several branches and annotated tags.

Usage: gen_repo.py DIR [COMMITS]"""
import os
import random
import subprocess
import sys

def main():
    dest = sys.argv[1]
    commits = int(sys.argv[2]) if len(sys.argv) > 2 else 3000
    rng = random.Random(42)
    words = [("".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(rng.randint(2, 9)))) for _ in range(4000)]

    def text(lines):
        return "".join(
            "    " * rng.randint(0, 3) + " ".join(rng.choice(words) for _ in range(rng.randint(3, 12))) + "\n"
            for _ in range(lines)
        ).encode()

    files = {}
    for d in range(40):
        for f in range(60):
            files[f"src/mod{d:02}/part{d % 7}/file{f:03}.rs"] = text(rng.randint(20, 400))
    files["src/big/generated.rs"] = text(6000)
    for f in range(50):
        files[f"assets/templates/t{f:02}.txt"] = text(30)
    files["assets/blob.bin"] = bytes(rng.getrandbits(8) for _ in range(1 << 20))
    files["README.md"] = b"# Generated benchmark repository\n"

    os.makedirs(dest, exist_ok=True)
    env = dict(os.environ, GIT_CONFIG_GLOBAL="/dev/null", GIT_CONFIG_NOSYSTEM="1")
    subprocess.run(["git", "init", "-q", "-b", "main", dest], check=True, env=env)
    fi = subprocess.Popen(["git", "-C", dest, "fast-import", "--quiet"], stdin=subprocess.PIPE, env=env)
    out = fi.stdin
    mark = 0

    def blob(data):
        nonlocal mark
        mark += 1
        out.write(b"blob\nmark :%d\ndata %d\n" % (mark, len(data)))
        out.write(data)
        out.write(b"\n")
        return mark

    names = sorted(files)
    t = 1_700_000_000
    for c in range(commits):
        changes = names if c == 0 else rng.sample(names[:-53], rng.randint(1, 6))
        marks = {}
        for n in changes:
            if c > 0:
                lines = files[n].split(b"\n")
                at = rng.randrange(len(lines))
                lines.insert(at, b" ".join(rng.choice(words).encode() for _ in range(6)))
                files[n] = b"\n".join(lines)
            marks[n] = blob(files[n])
        t += 3600
        msg = f"commit {c}: touch {len(changes)} file(s)\n".encode()
        out.write(b"commit refs/heads/main\n")
        out.write(b"committer Bench <bench@example.com> %d +0000\n" % t)
        out.write(b"data %d\n%s" % (len(msg), msg))
        for n, m in marks.items():
            out.write(b"M 100644 :%d %s\n" % (m, n.encode()))
        out.write(b"\n")
        if c and c % 500 == 0:
            out.write(b"tag v%d\nfrom refs/heads/main\ntagger Bench <bench@example.com> %d +0000\ndata 8\nrelease\n\n" % (c // 500, t))
            out.write(b"reset refs/heads/release-%d\nfrom refs/heads/main\n\n" % (c // 500))
    out.close()
    if fi.wait() != 0:
        sys.exit("git fast-import failed")
    subprocess.run(["git", "-C", dest, "checkout", "-q", "-f", "main"], check=True, env=env)
    subprocess.run(["git", "-C", dest, "gc", "-q"], check=True, env=env)

if __name__ == "__main__":
    main()
