#!/usr/bin/env python3
"""Fails (exit 1) when a source file crosses a stage boundary.

The data makes one trip (README "Layout"): config -> walker -> client -> decoder -> snapshot ->
metrics -> web. Each stage is one CMake target that links its own third-party library PRIVATE, but
Debian installs every library's headers in /usr/include, where any file could include them; this
check is what makes the boundary hold. It runs as the build target `layering` (part of ALL, so a
violation fails the build) and reads #include lines only:

- a stage may include the project headers of the stages listed for it, and no others;
- a stage may include only the third-party headers listed for it;
- a header outside an internal/ folder includes no third-party header at all, so a stage's library
  never leaks into the files of the stages that use it;
- no product stage includes the simulator.

usage: check-layering.py SOURCE_DIR
"""
import pathlib
import re
import sys

# Third-party libraries, by the header paths they install.
LIBRARIES = {
    "yaml-cpp": re.compile(r"^yaml-cpp/"),
    "boost.json": re.compile(r"^boost/json"),
    "boost.beast": re.compile(r"^boost/(beast|asio)"),
    "prometheus-cpp": re.compile(r"^prometheus/"),
    "libcurl": re.compile(r"^curl/"),
    "cpp-httplib": re.compile(r"^httplib\.h$"),
    "openssl": re.compile(r"^openssl/"),
    "zlib": re.compile(r"^zlib\.h$"),
    "libcrypt": re.compile(r"^crypt\.h$"),
    "catch2": re.compile(r"^catch2/"),
    "boost (other)": re.compile(r"^boost/"),
}

# stage folder -> (project folders it may include, libraries it may include)
COMMON = {"exporter/common"}
STAGES = {
    "exporter/common": (COMMON, set()),
    "exporter/snapshot": (COMMON | {"exporter/snapshot"}, set()),
    "exporter/config": (COMMON | {"exporter/config"}, {"yaml-cpp"}),
    "exporter/decoder": (COMMON | {"exporter/snapshot", "exporter/decoder"}, {"boost.json"}),
    "exporter/client": (
        COMMON | {"exporter/snapshot", "exporter/decoder", "exporter/config", "exporter/client"},
        {"libcurl", "openssl", "zlib"},
    ),
    "exporter/walker": (
        COMMON
        | {"exporter/snapshot", "exporter/decoder", "exporter/config", "exporter/client",
           "exporter/walker"},
        set(),
    ),
    "exporter/top_rooms": (
        COMMON
        | {"exporter/snapshot", "exporter/decoder", "exporter/config", "exporter/client",
           "exporter/walker", "exporter/top_rooms"},
        set(),
    ),
    "exporter/metrics": (
        COMMON
        | {"exporter/snapshot", "exporter/config", "exporter/walker", "exporter/top_rooms",
           "exporter/metrics"},
        {"prometheus-cpp", "zlib"},
    ),
    "exporter/web": (
        COMMON | {"exporter/config", "exporter/metrics", "exporter/snapshot", "exporter/walker",
                  "exporter/top_rooms", "exporter/web"},
        {"boost.beast", "openssl", "libcrypt"},
    ),
    # The program's wiring: every stage, none of their libraries.
    "exporter": (
        {f for f in [
            "exporter/common", "exporter/snapshot", "exporter/config", "exporter/decoder",
            "exporter/client", "exporter/walker", "exporter/top_rooms", "exporter/metrics",
            "exporter/web", "exporter"]},
        set(),
    ),
    "simulator": (
        COMMON | {"exporter/snapshot", "simulator"},
        {"cpp-httplib", "boost.json", "openssl", "zlib"},
    ),
}
# main() may also start the simulator (--demo).
MAIN_EXTRA = {"exporter/exporter_main.cc": {"simulator"}}

INCLUDE = re.compile(r'^\s*#\s*include\s*([<"])([^>"]+)[>"]')


def stage_of(rel: str) -> str:
    parts = rel.split("/")
    folder = "/".join(parts[:-1])
    if folder.endswith("/internal"):
        folder = folder[: -len("/internal")]
    return folder


def project_folder(header: str) -> str:
    return "/".join(header.split("/")[:-1])


def library_of(header: str):
    for name, pattern in LIBRARIES.items():
        if pattern.search(header):
            return name
    return None


def check(root: pathlib.Path) -> list:
    problems = []
    files = sorted(
        p for d in ("exporter", "simulator") for p in (root / d).rglob("*")
        if p.suffix in (".cc", ".h"))
    for path in files:
        rel = path.relative_to(root).as_posix()
        stage = stage_of(rel)
        if stage not in STAGES:
            problems.append(f"{rel}: folder {stage}/ is not a known stage (add it to {__file__})")
            continue
        folders, libraries = STAGES[stage]
        folders = folders | MAIN_EXTRA.get(rel, set())
        public_header = path.suffix == ".h" and "/internal/" not in rel
        for number, line in enumerate(path.read_text(errors="replace").splitlines(), 1):
            m = INCLUDE.match(line)
            if not m:
                continue
            quote, header = m.groups()
            if quote == '"' and (header.startswith("exporter/") or header.startswith("simulator/")):
                target = project_folder(header)
                if target.endswith("/internal"):
                    target = target[: -len("/internal")]
                    if target != stage:
                        problems.append(f"{rel}:{number}: includes {header}, another stage's internals")
                        continue
                if target not in folders:
                    problems.append(f"{rel}:{number}: stage {stage} may not include {header}")
                continue
            library = library_of(header)
            if library is None:
                continue  # the standard library, POSIX, or a generated project header
            if library not in libraries:
                problems.append(f"{rel}:{number}: stage {stage} may not use {library} ({header})")
            elif public_header:
                problems.append(
                    f"{rel}:{number}: public header includes {header}: keep {library} inside "
                    f"{stage}'s .cc files or internal/")
    return problems


def main() -> int:
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    problems = check(pathlib.Path(sys.argv[1]))
    for p in problems:
        print(f"layering: {p}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
