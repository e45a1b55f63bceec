// Runs the containers of rendered Deployments as local processes, the way the kubelet would
// run them: the rendered command, args, working directory and environment (downward API, Secret
// references and $(VAR) references resolved), volumes mapped to temp dirs holding what the
// kubelet would put there (projected ServiceAccount tokens, ConfigMaps, Secrets, downward API
// files, from a SimulatedCluster: support/cluster-simulation.mjs), ports mapped to free local
// ports, Service DNS names and the API server's in the environment mapped to the local port of
// the Pod the Service selects, or of the simulated API server. Probes, preStop hooks and
// termination follow the rendered specs.
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { freePort } from './ports.mjs';

// The container image keeps the repository under /app (docker/Dockerfile: WORKDIR
// /app/services/<service>, node_modules in /app). The runtime stage also sets NODE_ENV.
const IMAGE_ROOT = '/app';
const IMAGE_ENV = { NODE_ENV: 'production' };

// Variables that name something rather than address it: left as rendered. The issuer is compared
// with the `iss` of tokens; the Pod never connects to it (the JWKS URL is what it fetches).
const IDENTIFIERS = new Set(['AUTH_JWT_ISSUER']);

const selects = (selector, labels) => Object.entries(selector).every(([key, value]) => labels?.[key] === value);
const delay = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Expands $(VAR) references like the kubelet: defined variables only; $$ escapes. */
export function expandReferences(value, defined) {
  return value.replace(/\$\$|\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g, (match, name) => {
    if (match === '$$') return '$';
    return Object.hasOwn(defined, name) ? defined[name] : match;
  });
}

/**
 * The container's environment as the kubelet builds it. `secret(name)` gives a Secret's data, for
 * secretKeyRef; a missing Secret or key keeps the Pod from starting, as in a cluster.
 */
export function resolveEnvironment(envList, fieldValues, secret = () => undefined) {
  const env = {};
  for (const variable of envList ?? []) {
    if (variable.valueFrom?.secretKeyRef) {
      const { name, key } = variable.valueFrom.secretKeyRef;
      const value = secret(name)?.[key];
      if (value === undefined) throw new Error(`env ${variable.name}: secret ${name} has no key ${key}`);
      env[variable.name] = value;
    } else if (variable.valueFrom) {
      const fieldPath = variable.valueFrom.fieldRef?.fieldPath;
      if (!fieldPath || !Object.hasOwn(fieldValues, fieldPath)) {
        throw new Error(`env ${variable.name}: unsupported valueFrom ${JSON.stringify(variable.valueFrom)}`);
      }
      env[variable.name] = fieldValues[fieldPath];
    } else {
      env[variable.name] = expandReferences(variable.value ?? '', env);
    }
  }
  return env;
}

/**
 * Rewrites paths under a volume's mountPath (alone, or after "sqlite:" and the like), in one
 * pass, so a local directory is never rewritten again by another mount (/tmp...).
 */
export function mapMountedPaths(value, mounts) {
  const mountPaths = Object.keys(mounts).sort((a, b) => b.length - a.length);
  if (mountPaths.length === 0) return value;
  const alternatives = mountPaths.map((mountPath) => mountPath.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|');
  return value.replace(new RegExp(`(^|:)(${alternatives})(?=/|$)`, 'g'), (_match, prefix, mountPath) => `${prefix}${mounts[mountPath]}`);
}

export class SimulatedPod {
  constructor(deployment, { namespace, repoRoot, cluster }) {
    this.deployment = deployment;
    this.name = `${deployment.metadata.name}-simulated`;
    this.namespace = namespace;
    this.repoRoot = repoRoot;
    this.cluster = cluster;
    this.podSpec = deployment.spec.template.spec;
    this.labels = deployment.spec.template.metadata.labels;
    [this.container] = this.podSpec.containers;
    this.output = '';
    this.localPorts = {};
  }

  /** Chooses local ports and temp dirs and fills the volumes; must run for every Pod before any starts. */
  async prepare() {
    for (const port of this.container.ports ?? []) this.localPorts[port.containerPort] = await freePort();
    this.mounts = {};
    for (const mount of this.container.volumeMounts ?? []) {
      this.mounts[mount.mountPath] = mkdtempSync(join(tmpdir(), `${this.container.name}-${mount.name}-`));
      const volume = (this.podSpec.volumes ?? []).find((candidate) => candidate.name === mount.name);
      if (!volume) throw new Error(`${this.container.name}: volumeMount ${mount.name} names no volume`);
      for (const [path, content] of Object.entries(this.volumeFiles(volume))) {
        mkdirSync(dirname(join(this.mounts[mount.mountPath], path)), { recursive: true });
        writeFileSync(join(this.mounts[mount.mountPath], path), content);
      }
    }
  }

  /** The ServiceAccount the Pod runs as. */
  serviceAccountName() {
    return this.podSpec.serviceAccountName ?? 'default';
  }

  /** The files the kubelet puts in a volume: path -> content. An empty volume (emptyDir, a claim) has none. */
  volumeFiles(volume) {
    if (volume.emptyDir || volume.persistentVolumeClaim) return {};
    const sources = volume.projected?.sources ?? [volume];
    const files = {};
    for (const source of sources) {
      if (source.serviceAccountToken) {
        const { audience, expirationSeconds, path } = source.serviceAccountToken;
        files[path] = this.requireCluster(volume).issueToken({
          namespace: this.namespace,
          serviceAccount: this.serviceAccountName(),
          audience,
          expirationSeconds,
          podName: this.name,
        });
      } else if (source.configMap || source.secret) {
        const reference = source.configMap ?? source.secret;
        const name = reference.name ?? reference.secretName;
        const cluster = this.requireCluster(volume);
        const data = source.configMap ? cluster.configMap(name) : cluster.secret(name);
        if (data === undefined) {
          if (reference.optional) continue;
          throw new Error(`${this.container.name}: volume ${volume.name} needs ${source.configMap ? 'ConfigMap' : 'Secret'} ${name}`);
        }
        for (const { key, path } of reference.items ?? Object.keys(data).map((key) => ({ key, path: key }))) {
          if (data[key] === undefined) throw new Error(`${this.container.name}: volume ${volume.name}: ${name} has no key ${key}`);
          files[path] = data[key];
        }
      } else if (source.downwardAPI) {
        for (const { path, fieldRef } of source.downwardAPI.items) files[path] = this.fieldValues()[fieldRef.fieldPath];
      } else {
        throw new Error(`${this.container.name}: volume ${volume.name}: unsupported source ${JSON.stringify(source)}`);
      }
    }
    return files;
  }

  requireCluster(volume) {
    if (!this.cluster) throw new Error(`${this.container.name}: volume ${volume.name} needs a SimulatedCluster`);
    return this.cluster;
  }

  fieldValues() {
    return { 'metadata.namespace': this.namespace, 'metadata.name': this.name };
  }

  /** The local port standing for a container port given by number or by name. */
  localPort(port) {
    const containerPort =
      typeof port === 'number' ? port : this.container.ports.find((candidate) => candidate.name === port)?.containerPort;
    if (!this.localPorts[containerPort]) throw new Error(`${this.container.name} has no port ${port}`);
    return this.localPorts[containerPort];
  }

  /** The environment of the process, with the renderings mapped onto this machine. */
  environment(services, pods) {
    const rendered = resolveEnvironment(this.container.env, this.fieldValues(), (name) => this.cluster?.secret(name));
    const env = {};
    for (const [name, value] of Object.entries(rendered)) {
      if (IDENTIFIERS.has(name)) {
        env[name] = value;
        continue;
      }
      const toApiServer = this.cluster ? this.cluster.mapApiServerUrls(value) : value;
      env[name] = mapServiceUrls(mapMountedPaths(toApiServer, this.mounts), services, pods, this.namespace);
    }
    // The service listens on the port the Pod declares: PORT must say so, then moves with it.
    const declared = this.container.ports.map((port) => port.containerPort);
    if (!declared.includes(Number(env.PORT))) {
      throw new Error(`${this.container.name}: PORT=${env.PORT} is not a declared containerPort (${declared.join(', ')})`);
    }
    env.PORT = String(this.localPort(Number(env.PORT)));
    if (this.mounts['/tmp']) env.TMPDIR = this.mounts['/tmp'];
    return { PATH: process.env.PATH, HOME: this.mounts['/tmp'] ?? tmpdir(), ...IMAGE_ENV, ...env };
  }

  workingDirectory() {
    const workingDir = this.container.workingDir;
    if (!workingDir?.startsWith(`${IMAGE_ROOT}/`))
      throw new Error(`${this.container.name}: workingDir ${workingDir} is outside ${IMAGE_ROOT}`);
    return join(this.repoRoot, workingDir.slice(IMAGE_ROOT.length));
  }

  start(services, pods) {
    const argv = [...(this.container.command ?? []), ...(this.container.args ?? [])];
    if (argv.length === 0) throw new Error(`${this.container.name}: no command rendered`);
    this.env = this.environment(services, pods);
    this.startedAt = Date.now();
    this.process = spawn(argv[0], argv.slice(1), { cwd: this.workingDirectory(), env: this.env, stdio: ['ignore', 'pipe', 'pipe'] });
    const collect = (chunk) => {
      this.output = (this.output + chunk.toString()).slice(-20_000);
    };
    this.process.stdout.on('data', collect);
    this.process.stderr.on('data', collect);
    this.exited = new Promise((resolve) => this.process.on('exit', (code, signal) => resolve({ code, signal })));
  }

  /** One probe attempt, as the kubelet's HTTP prober: 200-399 within timeoutSeconds. */
  async probeOnce(probe) {
    const { path, port } = probe.httpGet;
    try {
      const response = await fetch(`http://127.0.0.1:${this.localPort(port)}${path}`, {
        signal: AbortSignal.timeout((probe.timeoutSeconds ?? 1) * 1000),
        redirect: 'manual',
      });
      await response.arrayBuffer();
      return response.status >= 200 && response.status < 400
        ? { ok: true, status: response.status }
        : { ok: false, status: response.status };
    } catch (error) {
      return { ok: false, error: error.message };
    }
  }

  /**
   * Probes until success, at the probe's period, for at most failureThreshold attempts after
   * initialDelaySeconds: the budget the kubelet gives before it restarts the container.
   */
  async probeUntilSuccess(probe, kind) {
    await delay((probe.initialDelaySeconds ?? 0) * 1000);
    const attempts = probe.failureThreshold ?? 3;
    let last;
    for (let attempt = 1; attempt <= attempts; attempt += 1) {
      const started = Date.now();
      last = await this.probeOnce(probe);
      if (last.ok) return { attempt, status: last.status };
      if (this.process.exitCode !== null) break;
      await delay(Math.max(0, (probe.periodSeconds ?? 10) * 1000 - (Date.now() - started)));
    }
    throw new Error(
      `${this.container.name}: ${kind} probe ${probe.httpGet.path} failed (${JSON.stringify(last)}); process output:\n${this.output}`,
    );
  }

  /**
   * Pod deletion: the preStop hook runs (here, the same command on this machine), then SIGTERM;
   * SIGKILL follows when terminationGracePeriodSeconds have passed since deletion.
   */
  async terminate() {
    const deletedAt = Date.now();
    const grace = (this.podSpec.terminationGracePeriodSeconds ?? 30) * 1000;
    const preStop = this.container.lifecycle?.preStop?.exec?.command;
    if (preStop) {
      await new Promise((resolve, reject) => {
        const hook = spawn(preStop[0], preStop.slice(1), { stdio: 'ignore' });
        hook.on('error', reject);
        hook.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`preStop exited ${code}`))));
      });
    }
    this.process.kill('SIGTERM');
    const remaining = Math.max(0, grace - (Date.now() - deletedAt));
    let timer;
    const graceOver = new Promise((resolve) => {
      timer = setTimeout(() => resolve(null), remaining);
    });
    const outcome = await Promise.race([this.exited, graceOver]);
    clearTimeout(timer);
    if (outcome === null) {
      this.process.kill('SIGKILL');
      await this.exited;
      return { killed: true, seconds: (Date.now() - deletedAt) / 1000 };
    }
    return { killed: false, ...outcome, seconds: (Date.now() - deletedAt) / 1000 };
  }

  async cleanUp() {
    if (this.process && this.process.exitCode === null && this.process.signalCode === null) {
      this.process.kill('SIGKILL');
      await this.exited;
    }
    for (const dir of Object.values(this.mounts ?? {})) rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Replaces http://<service>[.<namespace>[.svc[.cluster.local]]]:<port> by the local address of
 * the Pod that Service selects, through its targetPort, as kube-proxy would route it.
 */
export function mapServiceUrls(value, services, pods, namespace) {
  return value.replace(/(https?:\/\/)([a-z0-9.-]+):(\d+)/g, (match, scheme, host, port) => {
    const [name, hostNamespace = namespace, ...rest] = host.split('.');
    const suffix = rest.join('.');
    if (hostNamespace !== namespace || !['', 'svc', 'svc.cluster.local'].includes(suffix)) return match;
    const service = services.find((candidate) => candidate.metadata.name === name);
    if (!service) return match;
    const servicePort = service.spec.ports.find((candidate) => candidate.port === Number(port));
    if (!servicePort) throw new Error(`Service ${name} has no port ${port}`);
    const pod = pods.find((candidate) => selects(service.spec.selector, candidate.labels));
    if (!pod) throw new Error(`Service ${name} selects no Pod`);
    return `${scheme}127.0.0.1:${pod.localPort(servicePort.targetPort)}`;
  });
}
