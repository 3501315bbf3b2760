#!/usr/bin/env python3
"""Checks of everything under deploy/, the Dockerfile and the image build (ctest label `deploy`).

  check_deploy.py yaml                    every YAML parses; compose references exist; the Kubernetes
                                          Deployment, the systemd unit and the Dockerfile have what
                                          docs/deploying.md promises
  check_deploy.py promtool                promtool/amtool accept the compose stack's configs
  check_deploy.py prometheusrule          the PrometheusRule carries exactly the shipped rules
  check_deploy.py compose EXPORTER SIMULATOR
                                          `docker-compose config` accepts deploy/compose; the project
                                          image's healthchecks pass against the built programs
  check_deploy.py systemd-install EXPORTER [UNIT]
                                          follows the unit header's install steps in a scratch
                                          root; as the service user (setpriv) the config is
                                          readable, the key is not, --config.check accepts it
  check_deploy.py container-build PREFIX BUILD_DIR
                                          scripts/container-build.sh (what the Dockerfile runs)
                                          builds programs that start and answer /-/healthy
  check_deploy.py runtime-libs BINARY...  every shared library of BINARY comes from a package that
                                          scripts/runtime-packages.txt (the image's runtime stage)
                                          installs: one listed, or a dependency of one

Python 3 standard library and PyYAML only. Servers are started on free 127.0.0.1 ports and always
stopped.
"""

import glob
import os
import pathlib
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

import yaml

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from tle_testlib import free_port  # noqa: E402

ROOT = pathlib.Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
COMPOSE_DIR = DEPLOY / "compose"
K8S_DIR = DEPLOY / "kubernetes"
SYSTEMD_UNIT = DEPLOY / "systemd" / "tencent_live_exporter.service"
DEFAULT_CONFIG = "/etc/tencent_live_exporter/tencent_live_exporter.yml"
DEFAULT_PORT = 9877


class Failures:
    """Collects failed checks so one run reports all of them."""

    def __init__(self):
        self.items = []

    def check(self, ok, message):
        if not ok:
            self.items.append(message)
        return ok

    def finish(self, what):
        if self.items:
            for item in self.items:
                print(f"FAIL: {item}")
            print(f"{what}: {len(self.items)} failure(s)")
            return 1
        print(f"{what}: OK")
        return 0


def rel(path):
    try:
        return str(pathlib.Path(path).resolve().relative_to(ROOT))
    except ValueError:
        return str(path)


# ---------------------------------------------------------------------------------------- yaml


def yaml_files():
    return sorted(p for p in DEPLOY.rglob("*") if p.suffix in (".yml", ".yaml") and p.is_file())


def load_all(path):
    return [d for d in yaml.safe_load_all(path.read_text(encoding="utf-8")) if d is not None]


def check_yaml_parses(f):
    files = yaml_files()
    f.check(len(files) >= 10, f"expected the deploy/ YAML files, found only {len(files)}")
    for path in files:
        try:
            docs = load_all(path)
            f.check(docs, f"{rel(path)}: empty YAML")
        except yaml.YAMLError as e:
            f.check(False, f"{rel(path)}: does not parse: {e}")


def compose_host_path(value):
    """The host side of a short-syntax volume, or None for a named volume."""
    host = value.split(":", 1)[0]
    if host.startswith((".", "/", "~")):
        return host
    return None


def check_compose(f):
    path = COMPOSE_DIR / "compose.yaml"
    if not f.check(path.exists(), "deploy/compose/compose.yaml missing"):
        return
    compose = yaml.safe_load(path.read_text(encoding="utf-8"))
    services = compose.get("services") or {}
    for name in ("simulator", "exporter", "prometheus", "alertmanager", "grafana"):
        f.check(name in services, f"compose: service {name} missing")

    referenced = []
    for name, service in services.items():
        build = service.get("build")
        if build is not None:
            context = COMPOSE_DIR / (build if isinstance(build, str) else build.get("context", "."))
            referenced.append((f"service {name} build context", context))
            if isinstance(build, dict):
                referenced.append((f"service {name} dockerfile",
                                   context / build.get("dockerfile", "Dockerfile")))
        for volume in service.get("volumes") or []:
            host = volume.get("source") if isinstance(volume, dict) and volume.get(
                "type") == "bind" else (compose_host_path(volume) if isinstance(volume, str) else None)
            if host:
                referenced.append((f"service {name} volume {host}", COMPOSE_DIR / host))
        env_file = service.get("env_file")
        for entry in [env_file] if isinstance(env_file, str) else (env_file or []):
            referenced.append((f"service {name} env_file", COMPOSE_DIR / entry))
        for secret in service.get("secrets") or []:
            secret_name = secret if isinstance(secret, str) else secret.get("source")
            f.check(secret_name in (compose.get("secrets") or {}),
                    f"compose: service {name} uses undeclared secret {secret_name}")
    for name, secret in (compose.get("secrets") or {}).items():
        if "file" in secret:
            referenced.append((f"secret {name}", COMPOSE_DIR / secret["file"]))
    f.check(len(referenced) >= 8, f"compose: only {len(referenced)} file references found")
    for what, target in referenced:
        f.check(target.exists(), f"compose: {what} -> {rel(target)} does not exist")

    # Grafana gets every shipped dashboard (at least the two), and a dashboard provider.
    dashboards = sorted((ROOT / "dashboards").glob("*.json"))
    f.check(len(dashboards) >= 2, "compose: dashboards/ should hold both dashboards (*.json)")
    grafana_sources = {(COMPOSE_DIR / compose_host_path(v)).resolve()
                       for v in services.get("grafana", {}).get("volumes") or []
                       if isinstance(v, str) and compose_host_path(v)}
    for dashboard in dashboards:
        f.check(dashboard.resolve() in grafana_sources or dashboard.parent.resolve() in grafana_sources,
                f"compose: grafana does not mount {rel(dashboard)}")
    f.check(any("provisioning/dashboards" in str(p) for p in grafana_sources),
            "compose: grafana needs a dashboards provisioning file")

    # The exporter and simulator run the project's image; the simulator overrides the entrypoint.
    exporter, simulator = services.get("exporter", {}), services.get("simulator", {})
    f.check(exporter.get("image") == simulator.get("image") and "build" in exporter,
            "compose: exporter and simulator should both run the image built from the Dockerfile")
    f.check("tencent_live_simulator" in " ".join(simulator.get("entrypoint") or []),
            "compose: simulator should override the entrypoint with tencent_live_simulator")

    # The exporter config points at the simulator with its demo credentials.
    config = yaml.safe_load((COMPOSE_DIR / "tencent_live_exporter.yml").read_text(encoding="utf-8"))
    app = (config.get("apps") or [{}])[0]
    f.check(str(app.get("endpoint", "")).startswith("http://simulator:"),
            "compose: exporter config should point at http://simulator:PORT")
    port = str(app.get("endpoint", "")).rsplit(":", 1)[-1]
    f.check(f"--port={port}" in (simulator.get("command") or []),
            f"compose: simulator should listen on port {port} that the exporter config uses")
    secret_file = (COMPOSE_DIR / "secrets" / "tencent_live_key").read_text(encoding="utf-8")
    f.check(secret_file.strip() == "demo-secret-key-not-for-production",
            "compose: the demo secret should be the simulator's public demo key")

    # Published ports on the host's loopback only; every service has a healthcheck; no top-level
    # `name:` (Debian's docker-compose 1.29 rejects it).
    f.check("name" not in compose, "compose: top-level `name:` is rejected by docker-compose 1.29")
    for name, service in services.items():
        for port in service.get("ports") or []:
            spec = port if isinstance(port, str) else f"{port.get('host_ip', '')}:{port.get('published')}"
            f.check(str(spec).startswith("127.0.0.1:"),
                    f"compose: service {name} publishes {spec!r} beyond 127.0.0.1")
        test = (service.get("healthcheck") or {}).get("test")
        f.check(isinstance(test, list) and test and test[0] in ("CMD", "CMD-SHELL"),
                f"compose: service {name} has no healthcheck test")
        for dep, cond in (service.get("depends_on") or {}).items() if isinstance(
                service.get("depends_on"), dict) else []:
            f.check(cond.get("condition") == "service_healthy",
                    f"compose: {name} should wait for {dep} to be healthy")

    # The demo's Alertmanager inhibits exactly as the shipped example (tested on a real one by
    # ctest alertmanager_inhibition).
    shipped_am = yaml.safe_load((ROOT / "config/alertmanager/alertmanager.yml").read_text("utf-8"))
    demo_am = yaml.safe_load((COMPOSE_DIR / "alertmanager.yml").read_text(encoding="utf-8"))
    f.check(demo_am.get("inhibit_rules") == shipped_am.get("inhibit_rules"),
            "compose: alertmanager.yml inhibit_rules differ from config/alertmanager/alertmanager.yml")

    # Grafana's provisioned datasource points at the compose Prometheus.
    datasources = yaml.safe_load(
        (COMPOSE_DIR / "grafana/provisioning/datasources/prometheus.yml").read_text(encoding="utf-8"))
    f.check(any(d.get("type") == "prometheus" and d.get("url") == "http://prometheus:9090"
                for d in datasources.get("datasources", [])),
            "grafana: datasource should be the compose Prometheus")


def k8s_documents():
    docs = {}
    for path in sorted(K8S_DIR.glob("*.yaml")):
        for doc in load_all(path):
            if isinstance(doc, dict) and "kind" in doc:
                docs.setdefault(doc["kind"], []).append(doc)
    return docs


def check_kubernetes(f):
    docs = k8s_documents()
    for kind in ("Deployment", "Service", "ConfigMap", "ServiceMonitor", "PrometheusRule"):
        f.check(kind in docs, f"kubernetes: no {kind}")
    if "Deployment" not in docs:
        return
    deployment = docs["Deployment"][0]
    spec = deployment["spec"]["template"]["spec"]
    pod_sc = spec.get("securityContext") or {}
    containers = spec.get("containers") or []
    if not f.check(len(containers) == 1, "kubernetes: Deployment should have one container"):
        return
    c = containers[0]
    sc = c.get("securityContext") or {}
    f.check(pod_sc.get("runAsNonRoot") is True or sc.get("runAsNonRoot") is True,
            "kubernetes: runAsNonRoot must be true")
    f.check(isinstance(pod_sc.get("runAsUser", sc.get("runAsUser")), int)
            and pod_sc.get("runAsUser", sc.get("runAsUser")) != 0,
            "kubernetes: runAsUser must be a non-zero UID")
    f.check(sc.get("readOnlyRootFilesystem") is True, "kubernetes: readOnlyRootFilesystem must be true")
    f.check(sc.get("allowPrivilegeEscalation") is False,
            "kubernetes: allowPrivilegeEscalation must be false")
    f.check("ALL" in ((sc.get("capabilities") or {}).get("drop") or []),
            "kubernetes: capabilities must drop ALL")
    resources = c.get("resources") or {}
    f.check(resources.get("requests") and resources.get("limits"),
            "kubernetes: resources need requests and limits")
    ports = {p.get("name"): p.get("containerPort") for p in c.get("ports") or []}
    f.check(DEFAULT_PORT in ports.values(), f"kubernetes: container should expose {DEFAULT_PORT}")

    def probe_path(name):
        return ((c.get(name) or {}).get("httpGet") or {}).get("path")

    f.check(probe_path("livenessProbe") == "/-/healthy", "kubernetes: liveness probe on /-/healthy")
    f.check(probe_path("readinessProbe") == "/-/ready", "kubernetes: readiness probe on /-/ready")
    for name in ("livenessProbe", "readinessProbe"):
        port = ((c.get(name) or {}).get("httpGet") or {}).get("port")
        f.check(port in ports or port == DEFAULT_PORT, f"kubernetes: {name} port {port} unknown")

    # The secret key: a Secret volume, mounted read-only, at the path the ConfigMap's config names.
    volumes = {v["name"]: v for v in spec.get("volumes") or []}
    mounts = {m["name"]: m for m in c.get("volumeMounts") or []}
    secret_volumes = [n for n, v in volumes.items() if "secret" in v]
    f.check(len(secret_volumes) == 1, "kubernetes: the secret key should come from one Secret volume")
    config_text = ""
    for cm in docs.get("ConfigMap", []):
        config_text += "".join((cm.get("data") or {}).values())
    config = yaml.safe_load(config_text) if config_text else {}
    key_files = [a.get("secret_key_file") for a in (config or {}).get("apps") or []]
    f.check(key_files and all(key_files), "kubernetes: ConfigMap apps should use secret_key_file")
    for name in secret_volumes:
        mount = mounts.get(name)
        if not f.check(mount is not None, f"kubernetes: Secret volume {name} not mounted"):
            continue
        f.check(mount.get("readOnly") is True, "kubernetes: the Secret mount should be read-only")
        items = volumes[name]["secret"].get("items") or []
        paths = [f"{mount['mountPath']}/{i['path']}" for i in items]
        for key_file in key_files:
            f.check(key_file in paths,
                    f"kubernetes: secret_key_file {key_file} is not a mounted Secret item {paths}")
    # The config file the args name is the one the ConfigMap provides.
    args = c.get("args") or []
    config_arg = next((a.split("=", 1)[1] for a in args if a.startswith("--config.file=")), None)
    config_mounts = [m for n, m in mounts.items() if "configMap" in volumes.get(n, {})]
    f.check(config_arg is not None and any(
        config_arg == f"{m['mountPath']}/{key}" for m in config_mounts
        for cm in docs.get("ConfigMap", []) for key in (cm.get("data") or {})),
        f"kubernetes: --config.file={config_arg} is not a mounted ConfigMap key")

    # The image is the project's release, never a moving tag; every resource carries the
    # recommended labels; selectors use only the labels that never change between releases.
    version = project_version()
    image = c.get("image", "")
    f.check(image.rsplit(":", 1)[-1] == version and ":" in image,
            f"kubernetes: image {image!r} should be pinned to the project version {version}")
    recommended = {"app.kubernetes.io/name", "app.kubernetes.io/instance",
                   "app.kubernetes.io/version", "app.kubernetes.io/component",
                   "app.kubernetes.io/part-of", "app.kubernetes.io/managed-by"}
    resources = [(kind, d) for kind, ds in docs.items() for d in ds if kind != "Kustomization"]
    resources.append(("Deployment pod template", deployment["spec"]["template"]))
    for kind, d in resources:
        have = (d.get("metadata") or {}).get("labels") or {}
        missing = sorted(recommended - set(have))
        f.check(not missing, f"kubernetes: {kind} lacks the labels {missing}")
        f.check(str(have.get("app.kubernetes.io/version")) == version,
                f"kubernetes: {kind} app.kubernetes.io/version {have.get('app.kubernetes.io/version')!r}"
                f" is not the project version {version}")
    selectors = [("Deployment", deployment["spec"]["selector"]["matchLabels"])]
    selectors += [("Service", s["spec"]["selector"]) for s in docs.get("Service", [])]
    selectors += [("ServiceMonitor", m["spec"]["selector"]["matchLabels"])
                  for m in docs.get("ServiceMonitor", [])]
    for kind, selector in selectors:
        f.check(set(selector) <= {"app.kubernetes.io/name", "app.kubernetes.io/instance"},
                f"kubernetes: {kind} selector {sorted(selector)} uses labels that change between "
                "releases (selectors are immutable)")

    labels = deployment["spec"]["template"]["metadata"]["labels"]
    for service in docs.get("Service", []):
        f.check(all(labels.get(k) == v for k, v in service["spec"]["selector"].items()),
                "kubernetes: Service selector does not match the pods")
        f.check(any(p.get("targetPort") in ports or p.get("targetPort") == DEFAULT_PORT
                    for p in service["spec"]["ports"]), "kubernetes: Service port unknown")
    for monitor in docs.get("ServiceMonitor", []):
        service_ports = [p.get("name") for s in docs.get("Service", []) for p in s["spec"]["ports"]]
        f.check(all(e.get("port") in service_ports for e in monitor["spec"]["endpoints"]),
                "kubernetes: ServiceMonitor endpoint port is not a Service port")
        for job in shipped_job_names():
            f.check(all(any(r.get("targetLabel") == "job" and r.get("replacement") == job
                            for r in e.get("relabelings") or []) for e in monitor["spec"]["endpoints"]),
                    f"kubernetes: ServiceMonitor should set job={job!r}, which the shipped alerts use")

    kustomization = yaml.safe_load((K8S_DIR / "kustomization.yaml").read_text(encoding="utf-8"))
    for resource in kustomization.get("resources", []):
        f.check((K8S_DIR / resource).exists(), f"kubernetes: kustomization resource {resource} missing")
    listed = set(kustomization.get("resources", []))
    for path in K8S_DIR.glob("*.yaml"):
        f.check(path.name == "kustomization.yaml" or path.name in listed,
                f"kubernetes: {path.name} is not in kustomization.yaml")


def project_version():
    text = (ROOT / "CMakeLists.txt").read_text(encoding="utf-8")
    m = re.search(r"project\(\s*tencent_live_exporter\s+VERSION\s+([0-9][0-9.]*)", text)
    return m.group(1) if m else None


def unit_directives(path):
    """{(section, key): [values...]}: systemd allows repeated keys, so keep them all."""
    text = path.read_text(encoding="utf-8").replace("\\\n", " ")
    values = {}
    section = None
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            section = line.strip("[]")
            continue
        key, _, value = line.partition("=")
        values.setdefault((section, key.strip()), []).append(value.strip())
    return values


def check_systemd(f):
    if not f.check(SYSTEMD_UNIT.exists(), f"{rel(SYSTEMD_UNIT)} missing"):
        return
    d = unit_directives(SYSTEMD_UNIT)

    def get(key):
        return (d.get(("Service", key)) or [None])[-1]

    user = get("User")
    f.check(user not in (None, "", "root", "0"), "systemd: needs a dedicated non-root User=")
    f.check(get("ProtectSystem") == "strict", "systemd: ProtectSystem=strict")
    f.check(get("NoNewPrivileges") in ("yes", "true", "1"), "systemd: NoNewPrivileges=yes")
    f.check(get("LimitCORE") == "0", "systemd: LimitCORE=0 (a core dump would hold the secret key)")
    credential = get("LoadCredential") or ""
    f.check(re.match(r"^[\w.-]+:/", credential), "systemd: LoadCredential=ID:PATH for the secret key")
    cred_id = credential.split(":", 1)[0]
    reload = get("ExecReload") or ""
    f.check(re.search(r"kill\s+(-HUP|-s\s*HUP|-SIGHUP|--signal[= ]HUP)\s+\$MAINPID", reload),
            "systemd: ExecReload should send SIGHUP to $MAINPID")
    exec_start = get("ExecStart") or ""
    f.check("tencent_live_exporter" in exec_start and "--config.file=" in exec_start,
            "systemd: ExecStart runs tencent_live_exporter --config.file=...")
    f.check(("Install", "WantedBy") in d, "systemd: [Install] WantedBy= missing")
    # The unit's config reads the key from the credentials directory of this unit.
    config_path = SYSTEMD_UNIT.with_name("tencent_live_exporter.yml")
    config = yaml.safe_load(config_path.read_text(encoding="utf-8"))
    expected = f"/run/credentials/{SYSTEMD_UNIT.name}/{cred_id}"
    f.check(all(a.get("secret_key_file") == expected for a in config.get("apps", [])),
            f"systemd: config should read secret_key_file {expected}")
    sysusers = SYSTEMD_UNIT.with_name("tencent_live_exporter.sysusers")
    f.check(sysusers.exists() and re.search(rf"^u\s+{re.escape(str(user))}\s",
                                            sysusers.read_text(encoding="utf-8"), re.M),
            f"systemd: sysusers.d entry for {user}")

    # systemd's own parser, when present: unknown directives and bad values are reported on stderr.
    analyze = shutil.which("systemd-analyze")
    if analyze:
        with tempfile.TemporaryDirectory() as tmp:
            unit = pathlib.Path(tmp) / SYSTEMD_UNIT.name
            # verify wants ExecStart's program to exist; point it at one that does.
            unit.write_text(SYSTEMD_UNIT.read_text(encoding="utf-8").replace(
                "/usr/local/bin/tencent_live_exporter", shutil.which("true")), encoding="utf-8")
            r = subprocess.run([analyze, "verify", "--man=no", str(unit)], capture_output=True,
                               text=True, timeout=60)
            noise = [l for l in (r.stdout + r.stderr).splitlines() if l.strip()]
            f.check(r.returncode == 0 and not noise,
                    "systemd-analyze verify: " + " | ".join(noise or [f"exit {r.returncode}"]))
    else:
        f.check(False, "systemd-analyze not found (Debian package systemd, scripts/test-packages.txt)")


def dockerfile_instructions(path):
    text = path.read_text(encoding="utf-8").replace("\\\n", " ")
    out = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            out.append((word.upper(), rest.strip()))
    return out


def check_dockerfile(f):
    ins = dockerfile_instructions(ROOT / "Dockerfile")
    froms = [rest for word, rest in ins if word == "FROM"]
    f.check(len(froms) >= 2, "Dockerfile: should be multi-stage")
    f.check(froms and froms[0].startswith("debian:12"), "Dockerfile: build stage on debian:12")
    f.check(froms and froms[-1].startswith("debian:12-slim"), "Dockerfile: runtime on debian:12-slim")
    stages, current = [], None
    for word, rest in ins:
        if word == "FROM":
            current = []
            stages.append(current)
        elif current is not None:
            current.append((word, rest))
    build, runtime = (stages[0], stages[-1]) if len(stages) >= 2 else ([], [])
    copies = " ".join(rest for word, rest in build if word == "COPY")
    runs = " ".join(rest for word, rest in build if word == "RUN")
    f.check("scripts/packages.txt" in copies and "scripts/install-deps.sh" in copies,
            "Dockerfile: build stage should COPY scripts/packages.txt and install-deps.sh")
    f.check("install-deps.sh build" in runs and "scripts/container-build.sh" in runs,
            "Dockerfile: build stage should run install-deps.sh and scripts/container-build.sh")
    runtime_copies = " ".join(rest for word, rest in runtime if word == "COPY")
    runtime_runs = " ".join(rest for word, rest in runtime if word == "RUN")
    f.check("scripts/runtime-packages.txt" in runtime_copies and "install-deps.sh runtime" in runtime_runs,
            "Dockerfile: runtime stage should install scripts/runtime-packages.txt")
    users = [rest for word, rest in runtime if word == "USER"]
    f.check(users and users[-1].split(":")[0] not in ("root", "0"), "Dockerfile: non-root USER")
    f.check(any(word == "EXPOSE" and str(DEFAULT_PORT) in rest for word, rest in runtime),
            f"Dockerfile: EXPOSE {DEFAULT_PORT}")
    entry = " ".join(rest for word, rest in runtime if word in ("ENTRYPOINT", "CMD"))
    f.check("tencent_live_exporter" in entry and f"--config.file={DEFAULT_CONFIG}" in entry,
            f"Dockerfile: ENTRYPOINT/CMD should run the exporter with --config.file={DEFAULT_CONFIG}")
    f.check("--from=build" in runtime_copies, "Dockerfile: runtime should copy the built programs")
    ignore = (ROOT / ".dockerignore").read_text(encoding="utf-8").split()
    f.check("build" in ignore or "build*/" in ignore, ".dockerignore should exclude build trees")
    # One package list: the lists must not be copied into the Dockerfile.
    dockerfile_text = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    f.check("prometheus-cpp-dev" not in dockerfile_text and "apt-get install" not in dockerfile_text,
            "Dockerfile: packages come from scripts/*.txt, not a second list")


def cmd_yaml():
    f = Failures()
    check_yaml_parses(f)
    check_compose(f)
    check_kubernetes(f)
    check_systemd(f)
    check_dockerfile(f)
    return f.finish("deploy_yaml")


# ------------------------------------------------------------------------------------ promtool


def shipped_job_names():
    """The job names the shipped rules look for in up{job="..."} / absent(up{job="..."})."""
    jobs = set()
    for path in (ROOT / "config" / "prometheus").glob("*.y*ml"):
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
        if isinstance(doc, dict) and isinstance(doc.get("groups"), list):
            for group in doc["groups"]:
                for rule in group.get("rules") or []:
                    jobs.update(re.findall(r'\bup\{[^}]*job="([^"]+)"', str(rule.get("expr", ""))))
    return jobs


def cmd_promtool():
    f = Failures()
    config = COMPOSE_DIR / "prometheus.yml"
    r = subprocess.run(["promtool", "check", "config", str(config)], capture_output=True, text=True,
                       timeout=120)
    print(r.stdout + r.stderr)
    f.check(r.returncode == 0, "promtool check config failed")
    # promtool accepts a rule_files glob matching nothing: require that it covers the shipped rules.
    prom = yaml.safe_load(config.read_text(encoding="utf-8"))
    matched = set()
    for pattern in prom.get("rule_files") or []:
        matched.update(pathlib.Path(p).resolve() for p in glob.glob(str(config.parent / pattern)))
    shipped = {p.resolve() for p in (ROOT / "config" / "prometheus").glob("*.y*ml")
               if isinstance(yaml.safe_load(p.read_text(encoding="utf-8")), dict)
               and "groups" in yaml.safe_load(p.read_text(encoding="utf-8"))}
    f.check(shipped, "no shipped rule files (config/prometheus/*.yml with groups:)")
    f.check(shipped <= matched, f"compose prometheus.yml rule_files miss {sorted(map(rel, shipped - matched))}")
    targets = [t for job in prom.get("scrape_configs", []) for sc in job.get("static_configs", [])
               for t in sc.get("targets", [])]
    f.check(f"exporter:{DEFAULT_PORT}" in targets, "compose prometheus.yml should scrape the exporter")
    # Alerts on `up` name the exporter's job: the compose job must carry that name.
    exporter_jobs = {job["job_name"] for job in prom.get("scrape_configs", [])
                     for sc in job.get("static_configs", [])
                     if f"exporter:{DEFAULT_PORT}" in sc.get("targets", [])}
    for job in sorted(shipped_job_names()):
        f.check(job in exporter_jobs,
                f"rules expect job={job!r}; compose scrapes the exporter as {sorted(exporter_jobs)}")
    f.check(any("alertmanager:9093" in t for am in prom.get("alerting", {}).get("alertmanagers", [])
                for sc in am.get("static_configs", []) for t in sc.get("targets", [])),
            "compose prometheus.yml should send alerts to alertmanager:9093")

    r = subprocess.run(["amtool", "check-config", str(COMPOSE_DIR / "alertmanager.yml")],
                       capture_output=True, text=True, timeout=120)
    print(r.stdout + r.stderr)
    f.check(r.returncode == 0, "amtool check-config failed")
    return f.finish("deploy_promtool")


# ------------------------------------------------------------------------------ prometheusrule


def cmd_prometheusrule():
    f = Failures()
    generator = K8S_DIR / "generate-prometheusrule.py"
    r = subprocess.run([sys.executable, str(generator), "--check"], capture_output=True, text=True,
                       timeout=120)
    print(r.stdout + r.stderr)
    f.check(r.returncode == 0, "committed prometheusrule.yaml differs from the generator's output")

    # Independently of the generator: same groups, same rules, as data.
    committed_path = K8S_DIR / "prometheusrule.yaml"
    if not f.check(committed_path.exists(), f"{rel(committed_path)} missing"):
        return f.finish("prometheusrule_matches")
    committed = yaml.safe_load(committed_path.read_text(encoding="utf-8"))
    f.check(committed.get("kind") == "PrometheusRule"
            and committed.get("apiVersion") == "monitoring.coreos.com/v1", "not a PrometheusRule")
    shipped_groups = []
    for path in sorted((ROOT / "config" / "prometheus").glob("*.y*ml")):
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
        if isinstance(doc, dict) and isinstance(doc.get("groups"), list):
            shipped_groups.extend(doc["groups"])
    alerts = [rule["alert"] for g in shipped_groups for rule in g.get("rules") or [] if "alert" in rule]
    f.check(alerts, "no shipped alert rules found in config/prometheus/")
    groups = (committed.get("spec") or {}).get("groups")
    f.check(groups == shipped_groups, "PrometheusRule groups differ from config/prometheus rules")
    records = [r["record"] for g in shipped_groups for r in g.get("rules") or [] if "record" in r]
    print(f"{len(alerts)} alerts and {len(records)} recording rules in {len(shipped_groups)} groups: "
          f"{', '.join(alerts)}")
    # Every recording rule an alert reads must travel with it.
    for g in groups or []:
        for rule in g.get("rules") or []:
            for name in re.findall(r"[a-zA-Z_][a-zA-Z0-9_]*:[a-zA-Z0-9_:]+", str(rule.get("expr", ""))):
                f.check(name in records,
                        f"rule {rule.get('alert') or rule.get('record')} reads {name}, not recorded")

    # The operator hands spec.groups to Prometheus as a rule file: promtool must accept it.
    with tempfile.TemporaryDirectory() as tmp:
        rules = pathlib.Path(tmp) / "rules.yml"
        rules.write_text(yaml.safe_dump({"groups": groups}), encoding="utf-8")
        r = subprocess.run(["promtool", "check", "rules", str(rules)], capture_output=True,
                           text=True, timeout=120)
        print(r.stdout + r.stderr)
        f.check(r.returncode == 0, "promtool check rules rejects the PrometheusRule's groups")
    return f.finish("prometheusrule_matches")


# ------------------------------------------------------------------------------ systemd-install


def unit_install_steps(unit_path):
    """The shell commands of the unit header's "Install" list (comment lines "#   COMMAND")."""
    steps, started = [], False
    for line in unit_path.read_text(encoding="utf-8").splitlines():
        if not line.startswith("#"):
            break
        if re.match(r"#\s.*\bInstall\b", line) and not started:
            started = True
            continue
        if started:
            m = re.match(r"#   (\S.*)$", line)
            if not m:
                break
            steps.append(re.sub(r"\s+#.*$", "", m.group(1)).strip())
    return steps


def ids_in_root(root):
    users, groups = {"root": 0}, {"root": 0}
    for name, table in (("passwd", users), ("group", groups)):
        path = root / "etc" / name
        if path.exists():
            for line in path.read_text(encoding="utf-8").splitlines():
                fields = line.split(":")
                if len(fields) > 2:
                    table[fields[0]] = int(fields[2])
    return users, groups


def rerooted_install(argv, root, exporter):
    """An `install` command with its absolute paths under `root`, names as numeric ids of `root`."""
    users, groups = ids_in_root(root)
    out, i = [], 0
    while i < len(argv):
        a = argv[i]
        if a in ("-o", "-g") and i + 1 < len(argv):
            table = users if a == "-o" else groups
            if argv[i + 1] not in table:
                raise RuntimeError(f"{' '.join(argv)}: no {argv[i + 1]!r} in the root's "
                                   f"{'passwd' if a == '-o' else 'group'}")
            out += [a, str(table[argv[i + 1]])]
            i += 2
            continue
        if a == "build/release/tencent_live_exporter":
            out.append(str(exporter))
        elif a.startswith("/") and a != "/dev/stdin":
            out.append(str(root / a.lstrip("/")) + ("/" if a.endswith("/") else ""))
        elif not a.startswith("-") and i > 0 and (ROOT / a).exists():
            out.append(str(ROOT / a))
        else:
            out.append(a)
        i += 1
    return out


def as_user(uid, gid, argv, **kwargs):
    return subprocess.run(["setpriv", f"--reuid={uid}", f"--regid={gid}", "--clear-groups", "--",
                           *argv], capture_output=True, text=True, timeout=60, **kwargs)


def cmd_systemd_install(exporter, unit_path=SYSTEMD_UNIT):
    """Follows the unit header's install steps in a temporary root, then, as the service user:
    the config is readable, the secret key is not, and the exporter accepts the installed config
    (with the key where LoadCredential= would put it)."""
    f = Failures()
    if os.geteuid() != 0:
        print("systemd-install: needs root (install -o/-g, setpriv); skipped")
        return 77
    # A service user must be able to reach /lib at all. In a chroot whose root folder was made by
    # `mktemp -d` (mode 0700) no user but root can run any program, whatever the unit says; no
    # installed Debian has that, so this says so and skips instead of blaming the unit.
    if os.stat("/").st_mode & 0o005 != 0o005:
        print(f"systemd-install: / has mode {os.stat('/').st_mode & 0o777:o}: no user but root can "
              "run a program on this machine (a chroot made with mktemp -d?); skipped")
        return 77
    for tool in ("setpriv", "systemd-sysusers", "install"):
        if not f.check(shutil.which(tool), f"{tool} not found (scripts/test-packages.txt)"):
            return f.finish("systemd_install")
    steps = unit_install_steps(unit_path)
    f.check(len(steps) >= 6, f"{rel(unit_path)}: found only {len(steps)} install steps: {steps}")
    user = (unit_directives(unit_path).get(("Service", "User")) or [None])[-1]
    with tempfile.TemporaryDirectory(prefix="tle-systemd-") as tmp:
        root = pathlib.Path(tmp) / "root"
        os.chmod(tmp, 0o755)
        # What every Debian system has; everything else must come from the steps.
        for d in ("etc/systemd/system", "usr/local/bin", "usr/lib/sysusers.d", "run"):
            (root / d).mkdir(parents=True, mode=0o755)
        for d in [root] + [p for p in root.rglob("*") if p.is_dir()]:
            os.chmod(d, 0o755)
        for step in steps:
            for command in (c.strip() for c in step.split("&&")):
                argv = command.split()
                if argv[0] == "systemctl":
                    print(f"skip   {command}")
                    continue
                if argv[0] == "systemd-sysusers":
                    argv = ["systemd-sysusers", f"--root={root}"] + argv[1:]
                elif argv[0] == "install":
                    try:
                        argv = rerooted_install(argv, root, exporter)
                    except RuntimeError as e:
                        f.check(False, f"install step fails: {e}")
                        continue
                else:
                    f.check(False, f"install step {command!r}: no way to run it in a scratch root")
                    continue
                stdin = "not-a-real-secret-key\n" if "/dev/stdin" in argv else None
                r = subprocess.run(argv, input=stdin, capture_output=True, text=True, timeout=60)
                print(f"run    {command}\n       -> {' '.join(argv)} (exit {r.returncode})"
                      + (f": {r.stderr.strip()}" if r.stderr.strip() else ""))
                f.check(r.returncode == 0, f"install step {command!r} exited {r.returncode}: "
                                           f"{r.stderr.strip()}")
        users, groups = ids_in_root(root)
        if not f.check(user in users, f"the steps did not create the service user {user!r}"):
            return f.finish("systemd_install")
        uid, gid = users[user], groups.get(user, users[user])
        config = root / DEFAULT_CONFIG.lstrip("/")
        key = config.with_name("tencent_live_key")
        r = as_user(uid, gid, ["cat", str(config)])
        f.check(r.returncode == 0 and "apps:" in r.stdout,
                f"as {user}: cannot read {DEFAULT_CONFIG}: {r.stderr.strip()}")
        r = as_user(uid, gid, ["cat", str(key)])
        f.check(r.returncode != 0 and "Permission denied" in r.stderr,
                f"as {user}: the secret key file is readable (it must stay root-only)")
        r = as_user(uid, gid, ["touch", str(config)])
        f.check(r.returncode != 0, f"as {user}: the config is writable")
        # What the service sees: LoadCredential= hands it a copy readable by the service user.
        cred_id = ((unit_directives(unit_path).get(("Service", "LoadCredential")) or [":"])[-1]
                   .split(":", 1)[0])
        cred = root / "run" / "credentials" / unit_path.name / cred_id
        if not f.check(key.exists(), f"the steps did not install {key.relative_to(root)}"):
            return f.finish("systemd_install")
        cred.parent.mkdir(parents=True)
        shutil.copy(key, cred)
        os.chown(cred, uid, gid)
        os.chmod(cred, 0o400)
        for d in (cred.parent, cred.parent.parent, cred.parent.parent.parent):
            os.chmod(d, 0o755)
        text = as_user(uid, gid, ["cat", str(config)]).stdout
        checked = pathlib.Path(tmp) / "as-the-service.yml"
        checked.write_text(text.replace(f"/run/credentials/{unit_path.name}/", f"{cred.parent}/"),
                           encoding="utf-8")
        os.chmod(checked, 0o644)
        r = as_user(uid, gid, [str(exporter), "--config.check", f"--config.file={checked}"])
        print(f"as {user}: tencent_live_exporter --config.check -> exit {r.returncode}: "
              f"{(r.stdout + r.stderr).strip()}")
        f.check(r.returncode == 0, f"as {user}: the exporter refuses the installed config: "
                                   f"{(r.stdout + r.stderr).strip()}")
    return f.finish("systemd_install")


# ------------------------------------------------------------------------------------- compose


def cmd_compose(exporter, simulator):
    """`docker-compose config` accepts the stack, and the project image's healthchecks (bash
    /dev/tcp) pass against the built programs and fail when nothing listens."""
    f = Failures()
    tool = shutil.which("docker-compose")
    if not f.check(tool, "docker-compose not found (Debian package docker-compose, "
                         "scripts/test-packages.txt)"):
        return f.finish("deploy_compose")
    r = subprocess.run([tool, "config"], cwd=COMPOSE_DIR, capture_output=True, text=True,
                       timeout=120)
    print(f"$ docker-compose config (exit {r.returncode})\n{r.stderr.strip()}")
    if not f.check(r.returncode == 0, f"docker-compose config: {r.stderr.strip()}"):
        return f.finish("deploy_compose")
    resolved = yaml.safe_load(r.stdout)
    services = resolved.get("services") or {}
    for name, service in services.items():
        f.check((service.get("healthcheck") or {}).get("test"),
                f"docker-compose config: service {name} has no healthcheck")
        for port in service.get("ports") or []:
            f.check(str(port).startswith("127.0.0.1:") or (isinstance(port, dict) and
                                                           port.get("host_ip") == "127.0.0.1"),
                    f"docker-compose config: {name} publishes {port} beyond 127.0.0.1")

    programs = {"exporter": lambda port: [str(exporter), "--demo",
                                          f"--web.listen-address=127.0.0.1:{port}"],
                "simulator": lambda port: [str(simulator), "--host=127.0.0.1", f"--port={port}",
                                           "--rooms=10"]}
    for name, argv_for in programs.items():
        test = (services.get(name, {}).get("healthcheck") or {}).get("test") or []
        m = re.search(r"/dev/tcp/127\.0\.0\.1/(\d+)", " ".join(test))
        if not f.check(test[:1] == ["CMD"] and m, f"compose: {name} healthcheck {test} is not a "
                                                   "CMD on /dev/tcp/127.0.0.1/PORT"):
            continue

        def probe(port):
            argv = [a.replace(f"/dev/tcp/127.0.0.1/{m.group(1)}", f"/dev/tcp/127.0.0.1/{port}")
                    for a in test[1:]]
            return subprocess.run(argv, capture_output=True, text=True, timeout=10).returncode

        closed = free_port()
        f.check(probe(closed) != 0, f"compose: {name} healthcheck passes with nothing listening")
        port = free_port()
        log = tempfile.TemporaryFile()
        proc = subprocess.Popen(argv_for(port), stdout=log, stderr=subprocess.STDOUT)
        try:
            deadline, status = time.monotonic() + 30, None
            while time.monotonic() < deadline and proc.poll() is None:
                status = probe(port)
                if status == 0:
                    break
                time.sleep(0.2)
            print(f"{name}: healthcheck against 127.0.0.1:{port} -> exit {status}")
            f.check(status == 0, f"compose: {name} healthcheck fails against the running program")
        finally:
            stop(proc)
            log.close()
    return f.finish("deploy_compose")


# ----------------------------------------------------------------------------- container-build


def http_status(url, timeout=2.0):
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as e:
        return e.code, b""
    except (urllib.error.URLError, OSError):
        return None, b""


def stop(proc):
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def start_and_probe(f, argv, url, what, deadline_s=30):
    """Starts argv, waits for `url` to answer 200, stops it. Returns True when it did."""
    log = tempfile.TemporaryFile()
    proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT)
    ok = False
    try:
        deadline = time.monotonic() + deadline_s
        while time.monotonic() < deadline and proc.poll() is None:
            status, _ = http_status(url)
            if status == 200:
                ok = True
                break
            time.sleep(0.2)
    finally:
        stop(proc)
        log.seek(0)
        output = log.read().decode("utf-8", "replace")
        log.close()
    if not ok:
        print(f"--- {what} output ---\n{output[-4000:]}")
    f.check(ok, f"{what}: {url} did not answer 200 within {deadline_s}s "
                f"(exit status {proc.returncode})")
    return ok


def cmd_container_build(prefix, build_dir):
    f = Failures()
    prefix = pathlib.Path(prefix).resolve()
    if prefix.exists():
        shutil.rmtree(prefix)
    env = dict(os.environ, TLE_CONTAINER_BUILD_DIR=str(pathlib.Path(build_dir).resolve()))
    r = subprocess.run(["bash", str(ROOT / "scripts" / "container-build.sh"), str(prefix)], env=env,
                       timeout=3000)
    if not f.check(r.returncode == 0, f"scripts/container-build.sh exited {r.returncode}"):
        return f.finish("container_build")
    exporter = prefix / "bin" / "tencent_live_exporter"
    simulator = prefix / "bin" / "tencent_live_simulator"
    for program in (exporter, simulator):
        f.check(os.access(program, os.X_OK), f"{rel(program)} not installed")
    if f.items:
        return f.finish("container_build")

    for attempt in range(3):  # a free port can be taken between the probe and the bind
        port = free_port()
        trial = Failures()
        if start_and_probe(trial, [str(exporter), "--demo", f"--web.listen-address=127.0.0.1:{port}"],
                           f"http://127.0.0.1:{port}/-/healthy", "tencent_live_exporter --demo"):
            break
    f.items.extend(trial.items)

    # The compose stack runs the simulator from the same image: it must start and serve too.
    port = free_port()
    start_and_probe(f, [str(simulator), "--host=127.0.0.1", f"--port={port}", "--rooms=10"],
                    f"http://127.0.0.1:{port}/-/sim/stats", "tencent_live_simulator")
    shutil.rmtree(prefix, ignore_errors=True)
    return f.finish("container_build")


# -------------------------------------------------------------------------------- runtime-libs


def runtime_packages():
    lines = (ROOT / "scripts" / "runtime-packages.txt").read_text(encoding="utf-8").splitlines()
    return {l.strip() for l in lines if l.strip() and not l.strip().startswith("#")}


def owning_package(library):
    """The Debian package that ships `library` (trying the /lib <-> /usr/lib merged-usr aliases)."""
    path = pathlib.Path(library)
    candidates = [str(path), os.path.realpath(path)]
    for c in list(candidates):
        if c.startswith("/usr/"):
            candidates.append(c[4:])
        else:
            candidates.append("/usr" + c)
    for c in candidates:
        r = subprocess.run(["dpkg", "-S", c], capture_output=True, text=True)
        if r.returncode == 0:
            # "libfoo1:amd64: /path" (a diversion line may come first; take the last).
            line = r.stdout.strip().splitlines()[-1]
            return line.split(":", 1)[0].split(",")[0].strip()
    return None


def dependency_closure(packages):
    """The packages apt installs for `packages`: them and their Depends/Pre-Depends, recursively
    (no Recommends: install-deps.sh passes --no-install-recommends)."""
    r = subprocess.run(["apt-cache", "depends", "--recurse", "--no-recommends", "--no-suggests",
                        "--no-conflicts", "--no-breaks", "--no-replaces", "--no-enhances",
                        *sorted(packages)], capture_output=True, text=True, timeout=120)
    if r.returncode != 0:
        return None
    # Top-level lines name the packages reached; "<virtual>" ones have no files.
    return {line.split(":", 1)[0].strip() for line in r.stdout.splitlines()
            if line and not line[0].isspace() and not line.startswith("<")}


def cmd_runtime_libs(binaries):
    f = Failures()
    wanted = runtime_packages()
    f.check("ca-certificates" in wanted, "runtime-packages.txt: ca-certificates missing")
    for package in sorted(wanted):
        r = subprocess.run(["apt-cache", "show", package], capture_output=True, text=True)
        f.check(r.returncode == 0 and "Package:" in r.stdout,
                f"runtime-packages.txt: {package} is not a Debian package here")
    # A listed library brings its own libraries along (libcurl4 -> libnghttp2-14, ...): the image
    # gets them too, so they need no line of their own.
    installed = dependency_closure(wanted)
    if not f.check(installed is not None and wanted <= installed,
                   "apt-cache depends --recurse failed on runtime-packages.txt"):
        return f.finish("runtime_libs")
    for binary in binaries:
        if not f.check(os.access(binary, os.X_OK), f"{binary}: not an executable"):
            continue
        r = subprocess.run(["ldd", binary], capture_output=True, text=True)
        if not f.check(r.returncode == 0, f"ldd {binary} failed: {r.stderr.strip()}"):
            continue
        libraries = []
        for line in r.stdout.splitlines():
            m = re.search(r"=>\s*(/\S+)", line) or re.match(r"\s*(/\S+)", line)
            if m:
                libraries.append(m.group(1))
            elif "not found" in line:
                f.check(False, f"{binary}: {line.strip()}")
        f.check(len(libraries) >= 5, f"{binary}: ldd listed only {libraries}")
        for library in libraries:
            package = owning_package(library)
            f.check(package is not None, f"{library}: no Debian package ships it")
            f.check(package in installed,
                    f"{pathlib.Path(binary).name} needs {library} from {package}, which neither "
                    "scripts/runtime-packages.txt nor its dependencies install")
            how = "" if package in wanted else " (a dependency)"
            print(f"{pathlib.Path(binary).name}: {library} <- {package}{how}")
    return f.finish("runtime_libs")


def main(argv):
    if len(argv) < 2:
        print(__doc__)
        return 2
    command = argv[1]
    if command == "yaml":
        return cmd_yaml()
    if command == "promtool":
        return cmd_promtool()
    if command == "prometheusrule":
        return cmd_prometheusrule()
    if command == "systemd-install" and len(argv) in (3, 4):
        return cmd_systemd_install(pathlib.Path(argv[2]).resolve(),
                                   pathlib.Path(argv[3]) if len(argv) == 4 else SYSTEMD_UNIT)
    if command == "compose" and len(argv) == 4:
        return cmd_compose(pathlib.Path(argv[2]).resolve(), pathlib.Path(argv[3]).resolve())
    if command == "container-build" and len(argv) == 4:
        return cmd_container_build(argv[2], argv[3])
    if command == "runtime-libs" and len(argv) >= 3:
        return cmd_runtime_libs(argv[2:])
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
