// The cluster around the simulated Pods (support/pod-simulation.mjs): the ConfigMaps and Secrets
// they mount, and an API server that issues ServiceAccount tokens and serves their keys the way a
// real one does. Its JWKS (/openid/v1/jwks) and discovery document answer over TLS, with a
// certificate of the cluster CA that every namespace's kube-root-ca.crt ConfigMap holds, and only
// to a ServiceAccount token whose subject a ClusterRoleBinding among the rendered objects binds to
// system:service-account-issuer-discovery; the default binding of some clusters (to every
// ServiceAccount) is left out, so the chart's own binding is what is tested.
import { execFile } from 'node:child_process';
import { generateKeyPairSync, randomUUID, sign, verify } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

/** The usual in-cluster issuer (kubeadm, kind, k3s): the `iss` of the tokens, and their audience for the API server. */
export const CLUSTER_ISSUER = 'https://kubernetes.default.svc.cluster.local';
export const ISSUER_DISCOVERY_ROLE = 'system:service-account-issuer-discovery';

const base64url = (value) => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');

async function openssl(args, cwd) {
  try {
    await promisify(execFile)('openssl', args, { cwd });
  } catch (error) {
    if (error.code === 'ENOENT')
      throw new Error(
        'openssl is not installed: the cluster simulation makes its CA and TLS certificate with it (scripts/install-test-tools.sh installs it)',
      );
    throw new Error(`openssl ${args.join(' ')} failed:\n${error.stderr}`);
  }
}

/** A cluster CA and the API server's certificate for 127.0.0.1, where the simulation serves it. */
async function makeCertificates() {
  const dir = mkdtempSync(join(tmpdir(), 'simulated-cluster-ca-'));
  try {
    const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
    await openssl(
      ['req', '-x509', ...ec, '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '1', '-subj', '/CN=simulated-cluster-ca'].concat([
        '-addext',
        'basicConstraints=critical,CA:TRUE',
        '-addext',
        'keyUsage=critical,keyCertSign,cRLSign',
      ]),
      dir,
    );
    await openssl(['req', ...ec, '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=kube-apiserver'], dir);
    writeFileSync(join(dir, 'server.ext'), 'subjectAltName=IP:127.0.0.1,DNS:kubernetes.default.svc\nextendedKeyUsage=serverAuth\n');
    await openssl(
      ['x509', '-req', '-in', 'server.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-days', '1'].concat([
        '-extfile',
        'server.ext',
        '-out',
        'server.crt',
      ]),
      dir,
    );
    const read = (file) => readFileSync(join(dir, file), 'utf8');
    return { ca: read('ca.crt'), cert: read('server.crt'), key: read('server.key') };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export class SimulatedCluster {
  /** Requests to the issuer endpoints, with the subject of the token they carried and the answer. */
  issuerRequests = [];

  constructor({ objects, secrets, certificates, server }) {
    this.objects = objects;
    this.secrets = secrets;
    this.caCertificate = certificates.ca;
    this.server = server;
    this.apiServerUrl = `https://127.0.0.1:${server.address().port}`;
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    this.signingKey = privateKey;
    this.publicKey = publicKey;
    this.kid = randomUUID();
    server.on('request', (request, response) => this.answer(request, response));
  }

  /**
   * Starts the API server. `objects` are the rendered objects applied to the cluster (its
   * ConfigMaps and ClusterRoleBindings count); `secrets` maps a Secret's name to its data, for
   * the Secrets a chart expects to exist.
   */
  static async start({ objects, secrets = {} }) {
    const certificates = await makeCertificates();
    const server = createServer({ cert: certificates.cert, key: certificates.key });
    await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
    return new SimulatedCluster({ objects, secrets, certificates, server });
  }

  /** A ServiceAccount token, as the kubelet projects it into a Pod (audience: the API server by default). */
  issueToken({ namespace, serviceAccount, audience = CLUSTER_ISSUER, expirationSeconds = 3600, podName = 'pod' }) {
    const now = Math.floor(Date.now() / 1000);
    const header = base64url({ alg: 'RS256', kid: this.kid });
    const payload = base64url({
      aud: [audience],
      exp: now + expirationSeconds,
      iat: now,
      nbf: now,
      iss: CLUSTER_ISSUER,
      sub: `system:serviceaccount:${namespace}:${serviceAccount}`,
      'kubernetes.io': {
        namespace,
        pod: { name: podName, uid: randomUUID() },
        serviceaccount: { name: serviceAccount, uid: randomUUID() },
      },
    });
    const signature = sign('sha256', Buffer.from(`${header}.${payload}`), this.signingKey).toString('base64url');
    return `${header}.${payload}.${signature}`;
  }

  /** The claims of a token this cluster issued for `audience` and that has not expired; null otherwise. */
  verifyToken(token, audience) {
    const [header, payload, signature] = (token ?? '').split('.');
    if (!signature) return null;
    if (!verify('sha256', Buffer.from(`${header}.${payload}`), this.publicKey, Buffer.from(signature, 'base64url'))) return null;
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
    const fresh = claims.exp > Date.now() / 1000;
    return claims.iss === CLUSTER_ISSUER && claims.aud.includes(audience) && fresh ? claims : null;
  }

  /** Whether a rendered ClusterRoleBinding gives the subject the issuer discovery role. */
  mayDiscoverIssuer(subject) {
    return this.objects.some(
      (object) =>
        object.kind === 'ClusterRoleBinding' &&
        object.roleRef.kind === 'ClusterRole' &&
        object.roleRef.name === ISSUER_DISCOVERY_ROLE &&
        (object.subjects ?? []).some(
          (bound) => bound.kind === 'ServiceAccount' && subject === `system:serviceaccount:${bound.namespace}:${bound.name}`,
        ),
    );
  }

  answer(request, response) {
    const json = (status, body) => {
      response.writeHead(status, { 'content-type': 'application/json' });
      response.end(JSON.stringify(body));
    };
    const path = request.url.split('?')[0];
    const bodies = {
      '/openid/v1/jwks': () => ({ keys: [{ ...this.publicKey.export({ format: 'jwk' }), kid: this.kid, alg: 'RS256', use: 'sig' }] }),
      '/.well-known/openid-configuration': () => ({
        issuer: CLUSTER_ISSUER,
        jwks_uri: `${this.apiServerUrl}/openid/v1/jwks`,
        response_types_supported: ['id_token'],
        subject_types_supported: ['public'],
        id_token_signing_alg_values_supported: ['RS256'],
      }),
    };
    if (!bodies[path]) return json(404, { kind: 'Status', code: 404 });
    const claims = this.verifyToken(/^Bearer (\S+)$/.exec(request.headers.authorization ?? '')?.[1], CLUSTER_ISSUER);
    const status = claims === null ? 401 : this.mayDiscoverIssuer(claims.sub) ? 200 : 403;
    this.issuerRequests.push({ path, subject: claims?.sub ?? null, status });
    return status === 200 ? json(200, bodies[path]()) : json(status, { kind: 'Status', code: status });
  }

  /** A ConfigMap's data: a rendered one, or the kube-root-ca.crt every namespace has. */
  configMap(name) {
    if (name === 'kube-root-ca.crt') return { 'ca.crt': this.caCertificate };
    const configMap = this.objects.find((object) => object.kind === 'ConfigMap' && object.metadata.name === name);
    return configMap?.data;
  }

  /** A Secret's data (decoded). */
  secret(name) {
    return this.secrets[name];
  }

  /** Replaces the in-cluster address of the API server (https://kubernetes.default.svc...) by the simulation's. */
  mapApiServerUrls(value) {
    return value.replace(/https:\/\/kubernetes(\.default(\.svc(\.cluster\.local)?)?)?(:443)?(?=\/|$)/g, this.apiServerUrl);
  }

  async close() {
    const closed = new Promise((resolve) => this.server.close(resolve));
    this.server.closeAllConnections();
    await closed;
  }
}
