"""Evaluates a Tiltfile with recording stand-ins for Tilt's built-ins and prints, as JSON, every
call it makes. Starlark's syntax is a subset of Python's, so Python parses and runs it; the
stand-ins accept exactly the parameters of Tilt's API, so a misspelt argument fails here as it
would in Tilt.

Usage: python3 tiltfile-dry-run.py <Tiltfile> [--flag=value ...]   (flags as `tilt up -- --flag`)
"""
import json
import sys

calls = []


def record(kind, **arguments):
    call = {"call": kind, **arguments}
    calls.append(call)
    return call


class Config:
    def __init__(self, flags):
        self.flags = flags
        self.defined = {}

    def define_bool(self, name, args=False, usage=""):
        self.defined[name] = "bool"

    def define_string(self, name, args=False, usage=""):
        self.defined[name] = "string"

    def define_string_list(self, name, args=False, usage=""):
        self.defined[name] = "string_list"

    def parse(self):
        unknown = set(self.flags) - set(self.defined)
        if unknown:
            raise SystemExit("undefined config flags: %s" % sorted(unknown))
        values = {}
        for name, value in self.flags.items():
            values[name] = value.lower() == "true" if self.defined[name] == "bool" else value
        return values


def docker_build(ref, context, build_args={}, dockerfile="Dockerfile", dockerfile_contents="",
                 live_update=[], match_in_env_vars=False, ignore=[], only=[], entrypoint=[],
                 target="", ssh="", network="", secret="", extra_tag="", container_args=None,
                 cache_from=[], pull=False, platform=""):
    return record("docker_build", ref=ref, context=context, build_args=build_args,
                  dockerfile=dockerfile, target=target, live_update=live_update,
                  ignore=ignore, only=only)


def fall_back_on(files):
    return {"step": "fall_back_on", "files": [files] if isinstance(files, str) else files}


def sync(local_path, remote_path):
    return {"step": "sync", "local_path": local_path, "remote_path": remote_path}


def run(cmd, trigger=[], echo_off=False):
    return {"step": "run", "cmd": cmd, "trigger": trigger}


def restart_container():
    return {"step": "restart_container"}


def helm(pathToChartDir, name="", namespace="", values=[], set=[], kube_version="", skip_crds=False):
    return {"helm": pathToChartDir, "name": name, "namespace": namespace,
            "values": [values] if isinstance(values, str) else values, "set": set}


def k8s_yaml(yaml, allow_duplicates=False):
    return record("k8s_yaml", yaml=yaml)


def port_forward(local_port, container_port=None, name=None, link_path=None, host=None):
    return {"local_port": local_port, "container_port": container_port or local_port, "name": name}


def k8s_resource(workload="", new_name="", port_forwards=[], extra_pod_selectors=[], trigger_mode=None,
                 resource_deps=[], objects=[], auto_init=True, pod_readiness="", links=[], labels=[],
                 discovery_strategy=""):
    forwards = []
    for forward in port_forwards if isinstance(port_forwards, list) else [port_forwards]:
        if isinstance(forward, int):
            forward = port_forward(forward)
        forwards.append(forward)
    return record("k8s_resource", workload=workload, new_name=new_name, port_forwards=forwards,
                  resource_deps=resource_deps, objects=objects, labels=labels)


def watch_file(path):
    return record("watch_file", path=path)


def blob(contents):
    return {"blob": contents}


def k8s_namespace():
    # The namespace of the kube context; a context without one means "default".
    return "default"


def main():
    tiltfile = sys.argv[1]
    flags = {}
    for argument in sys.argv[2:]:
        name, _, value = argument.lstrip("-").partition("=")
        flags[name] = value or "true"
    scope = {
        "config": Config(flags),
        "docker_build": docker_build,
        "fall_back_on": fall_back_on,
        "sync": sync,
        "run": run,
        "restart_container": restart_container,
        "helm": helm,
        "k8s_yaml": k8s_yaml,
        "k8s_resource": k8s_resource,
        "port_forward": port_forward,
        "watch_file": watch_file,
        "blob": blob,
        "k8s_namespace": k8s_namespace,
        "__builtins__": {"True": True, "False": False, "None": None, "len": len, "str": str,
                         "int": int, "list": list, "dict": dict, "range": range,
                         "enumerate": enumerate, "sorted": sorted, "fail": _fail, "print": print},
    }
    with open(tiltfile) as source:
        code = compile(source.read(), tiltfile, "exec")
    exec(code, scope)
    json.dump(calls, sys.stdout, indent=2)


def _fail(message):
    raise SystemExit("fail(): %s" % message)


if __name__ == "__main__":
    main()
