/**
 * deploy/kubernetes/ read as the cluster would, and checked against the app itself: the probes hit
 * routes the bot serves on the port it listens on, every variable the manifests set is one the
 * configuration knows, the combined ConfigMap and Secret make a valid configuration, shutdown fits
 * in the grace period, and the selectors of the Service, PDB and HPA find the Deployment's pods.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { Gauge, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { CONFIG_VARIABLES, loadConfig } from '../../src/config.ts';
import { healthRoutes } from '../../src/http/health-routes.ts';
import { StoreHealth } from '../../src/http/store-health.ts';
import { createLogger } from '../../src/logger.ts';

type Manifest = {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  [field: string]: unknown;
};

interface Probe {
  httpGet?: { path: string; port: string | number };
}

interface Container {
  name: string;
  image: string;
  ports?: Array<{ name?: string; containerPort: number }>;
  env?: Array<{ name: string; value?: string; valueFrom?: unknown }>;
  envFrom?: Array<{ configMapRef?: { name: string }; secretRef?: { name: string } }>;
  readinessProbe?: Probe;
  livenessProbe?: Probe;
  startupProbe?: Probe;
  lifecycle?: { preStop?: { exec?: { command: string[] }; sleep?: { seconds: number } } };
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
  securityContext?: Record<string, unknown>;
}

interface PodSpec {
  serviceAccountName?: string;
  terminationGracePeriodSeconds?: number;
  securityContext?: Record<string, unknown>;
  containers: Container[];
}

interface DeploymentManifest extends Manifest {
  spec: {
    replicas: number;
    selector: { matchLabels: Record<string, string> };
    template: {
      metadata: { labels: Record<string, string>; annotations?: Record<string, string> };
      spec: PodSpec;
    };
  };
}

const dir = new URL('../../deploy/kubernetes/', import.meta.url);
const files = readdirSync(dir).filter((file) => /\.ya?ml$/.test(file));
const kubernetesFiles = files.filter((file) => file !== 'kustomization.yaml');
const manifests: Manifest[] = kubernetesFiles.flatMap((file) =>
  parseAllDocuments(readFileSync(new URL(file, dir), 'utf8')).map((doc) => {
    if (doc.errors.length > 0) throw new Error(`${file}: ${doc.errors[0]?.message}`);
    return doc.toJS() as Manifest;
  }),
);

function only<T extends Manifest>(kind: string): T {
  const found = manifests.filter((m) => m.kind === kind);
  expect(found, `exactly one ${kind}`).toHaveLength(1);
  return found[0] as T;
}

const deployment = () => only<DeploymentManifest>('Deployment');
const pod = () => deployment().spec.template.spec;
const bot = () => {
  const [container] = pod().containers;
  if (!container) throw new Error('the Deployment has no container');
  return container;
};
const configMapData = () => only<Manifest & { data: Record<string, string> }>('ConfigMap').data;
const secretData = () => {
  const secret = only<Manifest & { stringData?: Record<string, string>; data?: Record<string, string> }>(
    'Secret',
  );
  return { ...secret.stringData, ...secret.data };
};
/** The environment a pod gets: ConfigMap, then Secret (envFrom order), then the container's env. */
const podEnv = (): Record<string, string> => ({
  ...configMapData(),
  ...secretData(),
  ...Object.fromEntries((bot().env ?? []).map((e) => [e.name, e.value ?? ''])),
});
const containerPort = (port: string | number | undefined): number | undefined =>
  typeof port === 'number' ? port : bot().ports?.find((p) => p.name === port)?.containerPort;
const matches = (selector: Record<string, string>, labels: Record<string, string>) =>
  Object.keys(selector).length > 0 && Object.entries(selector).every(([key, value]) => labels[key] === value);

const minimalEnv = { SLACK_BOT_TOKEN: 'xoxb-x', SLACK_SIGNING_SECRET: 's', AWS_REGION: 'us-east-1' };
const servedPaths = healthRoutes({
  registry: new Registry(),
  lifecycle: () => 'ready',
  storeHealth: new StoreHealth({
    ping: async () => undefined,
    gauge: new Gauge({ name: 'store_up', help: 'test', registers: [] }),
    logger: createLogger({ level: 'silent' }),
  }),
}).map((route) => route.path);

describe('the Kubernetes manifests', () => {
  it('parse, and each names its kind, apiVersion and name without a namespace', () => {
    expect(manifests.length).toBeGreaterThanOrEqual(6);
    for (const manifest of manifests) {
      expect(manifest.apiVersion).toBeTruthy();
      expect(manifest.kind).toBeTruthy();
      expect(manifest.metadata?.name).toBeTruthy();
      expect(manifest.metadata.namespace, `${manifest.kind} is namespace-agnostic`).toBeUndefined();
    }
    expect(manifests.map((m) => m.kind).sort()).toEqual(
      expect.arrayContaining([
        'ConfigMap',
        'Deployment',
        'HorizontalPodAutoscaler',
        'PodDisruptionBudget',
        'Secret',
        'Service',
      ]),
    );
  });

  it('run at least two replicas', () => {
    expect(deployment().spec.replicas).toBeGreaterThanOrEqual(2);
  });

  it('listen on the port the app listens on', () => {
    const port = bot().ports?.find((p) => p.name === 'http')?.containerPort;
    expect(port).toBe(loadConfig(minimalEnv).port);
    expect(loadConfig(podEnv()).port).toBe(port);
  });

  it('probe readiness on /readyz and liveness on /healthz, routes the app serves, on its port', () => {
    const { readinessProbe, livenessProbe, startupProbe } = bot();
    const port = loadConfig(podEnv()).port;

    expect(readinessProbe?.httpGet?.path).toBe('/readyz');
    expect(livenessProbe?.httpGet?.path).toBe('/healthz');
    for (const probe of [readinessProbe, livenessProbe, startupProbe].filter(Boolean)) {
      expect(servedPaths).toContain(probe?.httpGet?.path);
      expect(containerPort(probe?.httpGet?.port)).toBe(port);
    }
  });

  it('point Prometheus at the /metrics route on the app port', () => {
    const annotations = deployment().spec.template.metadata.annotations ?? {};
    expect(servedPaths).toContain(annotations['prometheus.io/path']);
    expect(Number(annotations['prometheus.io/port'])).toBe(loadConfig(podEnv()).port);
  });

  it('set only variables the configuration knows', () => {
    const names = Object.keys(podEnv());
    expect(names.filter((name) => !CONFIG_VARIABLES.includes(name))).toEqual([]);
  });

  it('take the environment from the ConfigMap and the Secret they define', () => {
    const refs = bot().envFrom ?? [];
    expect(refs.map((r) => r.configMapRef?.name).filter(Boolean)).toEqual([only('ConfigMap').metadata.name]);
    expect(refs.map((r) => r.secretRef?.name).filter(Boolean)).toEqual([only('Secret').metadata.name]);
  });

  it('give the bot every required variable, secrets only from the Secret, and a valid configuration', () => {
    const secretNames = ['SLACK_BOT_TOKEN', 'SLACK_SIGNING_SECRET', 'SLACK_APP_TOKEN', 'REDIS_URL'];
    const config = loadConfig(podEnv());

    for (const name of ['SLACK_BOT_TOKEN', 'SLACK_SIGNING_SECRET', 'REDIS_URL']) {
      expect(Object.keys(secretData())).toContain(name);
    }
    expect(Object.keys(configMapData())).toContain('AWS_REGION');
    expect(Object.keys(configMapData()).filter((name) => secretNames.includes(name))).toEqual([]);
    expect((bot().env ?? []).map((e) => e.name).filter((name) => secretNames.includes(name))).toEqual([]);
    expect(config.redis).not.toBeNull();
  });

  it('ship the Secret as a template without real values', () => {
    for (const [name, value] of Object.entries(secretData())) {
      expect(value, name).toMatch(/REPLACE-ME/);
    }
  });

  it('give a terminating pod longer than the pause before SIGTERM plus SHUTDOWN_TIMEOUT_MS', () => {
    const { lifecycle } = bot();
    const preStopS =
      lifecycle?.preStop?.sleep?.seconds ??
      Number(lifecycle?.preStop?.exec?.command.join(' ').match(/^sleep (\d+)$/)?.[1] ?? 0);
    const shutdownS = loadConfig(podEnv()).shutdownTimeoutMs / 1000;

    expect(pod().terminationGracePeriodSeconds).toBeGreaterThan(preStopS + shutdownS);
  });

  it('run the container as a non-root user with a read-only root filesystem', () => {
    const podSecurity = pod().securityContext ?? {};
    const security = bot().securityContext ?? {};

    expect(podSecurity.runAsNonRoot).toBe(true);
    expect(podSecurity.runAsUser).not.toBe(0);
    expect(security.readOnlyRootFilesystem).toBe(true);
    expect(security.allowPrivilegeEscalation).toBe(false);
    expect((security.capabilities as { drop?: string[] } | undefined)?.drop).toContain('ALL');
  });

  it('request and limit resources', () => {
    const { resources } = bot();
    expect(resources?.requests?.cpu).toBeTruthy();
    expect(resources?.requests?.memory).toBeTruthy();
    expect(resources?.limits?.memory).toBeTruthy();
  });

  it('select the Deployment’s pods from the Deployment, the Service and the PodDisruptionBudget', () => {
    const labels = deployment().spec.template.metadata.labels;
    const service = only<
      Manifest & { spec: { selector: Record<string, string>; ports: Array<{ targetPort: string | number }> } }
    >('Service');
    const pdb = only<
      Manifest & { spec: { selector: { matchLabels: Record<string, string> }; minAvailable?: number } }
    >('PodDisruptionBudget');

    expect(matches(deployment().spec.selector.matchLabels, labels)).toBe(true);
    expect(matches(service.spec.selector, labels)).toBe(true);
    expect(matches(pdb.spec.selector.matchLabels, labels)).toBe(true);
    for (const port of service.spec.ports)
      expect(containerPort(port.targetPort)).toBe(loadConfig(podEnv()).port);
  });

  it('scale the Deployment with an autoscaling/v2 HPA that keeps two replicas, above the PDB minimum', () => {
    const hpa = only<
      Manifest & {
        spec: {
          scaleTargetRef: { apiVersion: string; kind: string; name: string };
          minReplicas: number;
          maxReplicas: number;
        };
      }
    >('HorizontalPodAutoscaler');
    const pdb = only<Manifest & { spec: { minAvailable?: number } }>('PodDisruptionBudget');

    expect(hpa.apiVersion).toBe('autoscaling/v2');
    expect(hpa.spec.scaleTargetRef).toEqual({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      name: deployment().metadata.name,
    });
    expect(hpa.spec.minReplicas).toBeGreaterThanOrEqual(2);
    expect(hpa.spec.maxReplicas).toBeGreaterThanOrEqual(hpa.spec.minReplicas);
    // A PDB that demands every replica would block node drains.
    expect(pdb.spec.minAvailable).toBeLessThan(hpa.spec.minReplicas);
  });

  it('run under the ServiceAccount they define', () => {
    expect(pod().serviceAccountName).toBe(only('ServiceAccount').metadata.name);
  });

  it('list every manifest but the Secret template in kustomization.yaml, with the Deployment’s image', () => {
    const kustomization = parseAllDocuments(
      readFileSync(new URL('kustomization.yaml', dir), 'utf8'),
    )[0]?.toJS() as {
      resources: string[];
      images?: Array<{ name: string }>;
    };

    expect([...kustomization.resources].sort()).toEqual(
      kubernetesFiles.filter((f) => f !== 'secret.yaml').sort(),
    );
    expect(kustomization.images?.map((i) => i.name)).toContain(bot().image.split(':')[0]);
  });
});
