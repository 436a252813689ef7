#!/usr/bin/env node
// The `procoder` command of the npm package procoder-cli. The binary itself comes in one
// package per platform (@procoder-cli/<os>-<cpu>), listed as optional dependencies with
// `os` and `cpu` fields, so npm, pnpm and yarn install only the one that fits, from the
// registry or an offline mirror, with no install script to run (esbuild and biome ship the
// same way). This launcher finds that binary and runs it with the same arguments, standard
// streams and exit status. PROCODER_BINARY_PATH names another binary to run instead.
"use strict";

const { spawnSync } = require("child_process");

const PLATFORMS = ["darwin-arm64", "darwin-x64", "linux-arm64", "linux-x64", "win32-x64"];

function fail(lines) {
  process.stderr.write(lines.join("\n") + "\n");
  process.exit(1);
}

function binaryPath() {
  const override = process.env.PROCODER_BINARY_PATH;
  if (override) return override;
  const key = `${process.platform}-${process.arch}`;
  if (!PLATFORMS.includes(key)) {
    fail([
      `procoder-cli has no binary for this platform (${key}).`,
      `Built for: ${PLATFORMS.join(", ")}. Elsewhere, build from source: cargo install --locked --path procoder`,
    ]);
  }
  const pkg = `@procoder-cli/${key}`;
  const exe = process.platform === "win32" ? "procoder.exe" : "procoder";
  try {
    return require.resolve(`${pkg}/bin/${exe}`);
  } catch (e) {
    fail([
      `The package ${pkg}, which holds procoder for this platform, is not installed.`,
      "npm skips it when optional dependencies are turned off (--omit=optional, --no-optional).",
      `Reinstall with them: npm install -g procoder-cli (or add ${pkg} yourself).`,
    ]);
  }
}

const result = spawnSync(binaryPath(), process.argv.slice(2), { stdio: "inherit" });
if (result.error) {
  fail([`cannot run procoder: ${result.error.message}`]);
}
if (result.signal) {
  // Die of the same signal, so a shell sees what the binary saw.
  process.kill(process.pid, result.signal);
}
process.exit(result.status === null ? 1 : result.status);
