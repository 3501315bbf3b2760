#!/usr/bin/env python3
"""The README's `--config.check` example works as written.

Takes the shell block of README.md that holds `--config.check`, keeps its `export` lines and the
`--config.check` line, and runs them with bash from the source tree (the binary path
`build/release/tencent_live_exporter` swapped for the one under test). The check must pass and print
the shipped config's summary; without the README's exports it must fail naming the variable, so this
test also fails when the example stops needing what the README sets.

Usage: readme_config_check.py SOURCE_DIR PATH_TO_tencent_live_exporter
"""
import os
import re
import subprocess
import sys

README_BINARY = "build/release/tencent_live_exporter"
EXPECTED = ("config/tencent_live_exporter.yml: OK: 2 apps: 1400000000 (singapore), "
            "1400000001 (https://adminapisgp.im.qcloud.com:443)")


def fail(msg):
    print("FAIL:", msg)
    sys.exit(1)


def run(script, source_dir):
    env = {k: v for k, v in os.environ.items() if not k.startswith("TENCENT_LIVE_")}
    return subprocess.run(["bash", "-euo", "pipefail", "-c", script], cwd=source_dir, env=env,
                          capture_output=True, text=True, timeout=60)


def main():
    source_dir, binary = sys.argv[1], sys.argv[2]
    with open(os.path.join(source_dir, "README.md"), encoding="utf-8") as f:
        readme = f.read()
    blocks = [b for b in re.findall(r"```sh\n(.*?)```", readme, re.S) if "--config.check" in b]
    if len(blocks) != 1:
        fail("expected one ```sh block with --config.check in README.md, found %d" % len(blocks))
    lines = blocks[0].splitlines()
    exports = [line for line in lines if line.startswith("export ")]
    checks = [line for line in lines if "--config.check" in line]
    if len(checks) != 1 or not checks[0].startswith(README_BINARY + " "):
        fail("the --config.check line should start with %s: %r" % (README_BINARY, checks))
    check = binary + checks[0][len(README_BINARY):]

    out = run("\n".join(exports + [check]), source_dir)
    print("as written:", out.returncode, out.stdout.strip(), out.stderr.strip())
    if out.returncode != 0:
        fail("the README's --config.check exits %d: %s" % (out.returncode, out.stderr.strip()))
    if out.stdout.strip() != EXPECTED:
        fail("summary %r, expected %r" % (out.stdout.strip(), EXPECTED))

    # The control: the same check without the README's exports is refused, naming the variable and
    # never a value.
    out = run(check, source_dir)
    print("without the exports:", out.returncode, out.stderr.strip())
    if out.returncode != 1:
        fail("without the exports the check exits %d, expected 1" % out.returncode)
    if "secret_key_env: environment variable TENCENT_LIVE_SECRET_KEY is not set" not in out.stderr:
        fail("without the exports: %r" % out.stderr)
    if "key-of-app" in out.stdout + out.stderr:
        fail("a secret appears in the output")
    print("OK")


if __name__ == "__main__":
    main()
