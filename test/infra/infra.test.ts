// Checks of the deployment files (Dockerfile, cloudbuild.yaml, infra/**) that
// run offline: kubectl kustomize, bash -n / shellcheck, the queue script
// against a stub gcloud, and Terraform's own parser and evaluator where the
// terraform CLI is installed (no provider download is needed for them).

import { type SpawnSyncReturns, spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { parseAllDocuments, parse as parseYaml } from 'yaml';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const infra = join(root, 'infra');

/** DESIGN.md section 5 (and ALLOW_UNAUTHENTICATED from section 6). */
const KNOWN_ENV = new Set([
  'PORT',
  'HOST',
  'GOOGLE_CLOUD_PROJECT',
  'LOCATION',
  'CHAIN',
  'MAX_ATTEMPTS',
  'SERVICE_URL',
  'NOTIFY_QUEUE',
  'NOTIFY_URL',
  'NOTIFY_TOPIC',
  'NOTIFY_ON',
  'LEDGER',
  'BUCKET',
  'BLOB_DIR',
  'AUTH',
  'OIDC_AUDIENCE',
  'OIDC_INVOKERS',
  'OIDC_ISSUER',
  'OIDC_CERTS_URL',
  'INVOKER_SERVICE_ACCOUNT',
  'MAX_CONCURRENCY',
  'JOB_TIMEOUT',
  'SHUTDOWN_GRACE',
  'EXEC_COMMANDS',
  'JOBS_DIR',
  'HTTP_JOB_ALLOW',
  'JOBS_MODULE',
  'CLOUD_TASKS_EMULATOR_HOST',
  'EMULATOR_PORT',
  'LOG_LEVEL',
  'ALLOW_UNAUTHENTICATED',
  // Read by src/config.ts for `executor doctor` (the platform's request
  // timeout); not yet listed in DESIGN.md section 5.
  'REQUEST_TIMEOUT',
  // `executor pull` (DESIGN.md section 8): messages each subscription holds.
  'PULL_MAX_MESSAGES',
]);
const DEFAULTS: Record<string, string> = { JOB_TIMEOUT: '540s', SHUTDOWN_GRACE: '8s', PORT: '8080' };

function run(cmd: string, args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv; input?: string } = {}): SpawnSyncReturns<string> {
  return spawnSync(cmd, args, { cwd: opts.cwd ?? root, env: opts.env ?? process.env, input: opts.input, encoding: 'utf8', timeout: 60_000 });
}

function has(cmd: string): boolean {
  return run('sh', ['-c', `command -v ${cmd}`]).status === 0;
}

/** "540s", "8s", "2m", "500ms", "30" (seconds) -> seconds. */
function seconds(v: string | number): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(String(v).trim());
  if (!m) throw new Error(`not a duration: ${v}`);
  const n = Number(m[1]);
  return m[2] === 'ms' ? n / 1000 : m[2] === 'm' ? n * 60 : m[2] === 'h' ? n * 3600 : n;
}

function majorOf(spec: string): number {
  const m = /(\d+)/.exec(spec);
  if (!m) throw new Error(`no version in ${spec}`);
  return Number(m[1]);
}

// ------------------------------------------------------------------ Docker

t.test('Dockerfile', async (t) => {
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
  const dockerfile = readFileSync(join(root, 'Dockerfile'), 'utf8');
  const lines = dockerfile.split('\n').filter((l) => !/^\s*#/.test(l));
  const froms = lines.filter((l) => /^FROM\s/i.test(l));
  const stages = froms.map((l) => /\sAS\s+(\S+)/i.exec(l)?.[1]).filter(Boolean);

  t.test('every node base image has the major of devDependencies.node', async (t) => {
    const want = majorOf(pkg.devDependencies.node);
    const images = froms.map((l) => l.split(/\s+/)[1]!).filter((img) => !stages.includes(img));
    t.ok(images.length > 0, 'has a FROM with an image');
    for (const img of images) {
      t.match(img, /^node:/, `${img} is a node image`);
      t.equal(majorOf(img.split(':')[1] ?? ''), want, `${img} is Node ${want}`);
    }
  });

  t.test('the runtime stage runs `serve` as the non-root node user without dev dependencies', async (t) => {
    const last = dockerfile.slice(dockerfile.lastIndexOf('\nFROM '));
    t.match(dockerfile, /npm ci [^\n]*--omit=dev/, 'npm ci --omit=dev');
    const user = [...last.matchAll(/^USER\s+(\S+)/gm)].map((m) => m[1]).at(-1);
    t.ok(user && user !== 'root' && user !== '0', `USER ${user} is not root`);
    const cmd = /^CMD\s+(\[.*\])\s*$/m.exec(last);
    t.ok(cmd, 'CMD is in exec form (node gets SIGTERM directly)');
    if (cmd) t.same(JSON.parse(cmd[1]!), ['node', 'bin/executor.js', 'serve']);
    const entry = /^ENTRYPOINT\s+(\[.*\])\s*$/m.exec(last);
    t.same(entry && JSON.parse(entry[1]!), ['/usr/bin/tini', '--'], 'tini is PID 1: forwards SIGTERM, reaps exec orphans');
    t.match(last, /apt-get install[^\n]*tini/);
    t.match(last, /ENV[^\n]*NODE_ENV=production/);
    t.match(last, /PORT=8080/);
  });

  t.test('COPY sources exist and are not excluded by .dockerignore', async (t) => {
    const ignored = readFileSync(join(root, '.dockerignore'), 'utf8')
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l && !l.startsWith('#'));
    t.ok(ignored.includes('node_modules'), 'the host node_modules stays out of the context');
    const copies = lines.filter((l) => /^COPY\s/i.test(l) && !/--from=/.test(l));
    t.ok(copies.length > 0);
    for (const line of copies) {
      const parts = line
        .trim()
        .split(/\s+/)
        .slice(1)
        .filter((p) => !p.startsWith('--'));
      for (const src of parts.slice(0, -1)) {
        t.ok(existsSync(join(root, src)), `${src} exists`);
        t.notOk(ignored.includes(src.replace(/\/$/, '')), `${src} is not in .dockerignore`);
      }
    }
    t.ok(copies.some((l) => /\ssrc\b/.test(l)) && copies.some((l) => /\sbin\b/.test(l)), 'copies src/ and bin/');
  });

  t.test('the runtime stage is the packed package: dist/ and bin/ from npm pack, no sources', async (t) => {
    const last = dockerfile.slice(dockerfile.lastIndexOf('\nFROM '));
    const build = dockerfile.slice(0, dockerfile.indexOf('\nFROM ', dockerfile.indexOf('FROM ') + 1));
    t.match(build, /npm pack\b/, 'the build stage packs the tarball');
    t.match(build, /tsc -p tsconfig\.build\.json/, 'and compiles dist/ first');
    t.notMatch(last, /^COPY\s+(?!--from)[^\n]*\bsrc\b/m, 'the runtime stage copies no src/ from the context');
    t.match(last, /^COPY --from=\S+ \/pkg\/package\/ \.\/$/m, 'the runtime stage gets the unpacked package');
    const ignored = readFileSync(join(root, '.dockerignore'), 'utf8')
      .split('\n')
      .map((l) => l.trim());
    t.ok(ignored.includes('dist'), 'a local dist/ never reaches the image');
  });
});

// ------------------------------------------------------------- Cloud Build

t.test('cloudbuild.yaml runs the CI script (npm ci + npm test) before it builds, pushes or deploys', async (t) => {
  const cb = parseYaml(readFileSync(join(root, 'cloudbuild.yaml'), 'utf8'));
  const steps = cb.steps as { id?: string; args: string[]; waitFor?: string[] }[];
  const test = steps.findIndex((s) => s.args.join(' ').includes('.ci/run'));
  const build = steps.findIndex((s) => s.args.includes('build'));
  t.ok(test >= 0, 'a step runs .ci/run');
  t.ok(test < build, 'before the image is built');
  t.same(steps[build]?.waitFor, [steps[test]?.id], 'the build waits for the tests');
  const ci = readFileSync(join(root, '.ci/run'), 'utf8');
  t.match(ci, /^npm ci$/m);
  t.match(ci, /^npm test$/m);
});

t.test('cloudbuild.yaml deploys privately with a request timeout above JOB_TIMEOUT', async (t) => {
  const cb = parseYaml(readFileSync(join(root, 'cloudbuild.yaml'), 'utf8'));
  const subs = cb.substitutions as Record<string, string>;
  const deploy = (cb.steps as { id?: string; args: string[] }[]).find((s) => s.args.includes('deploy'));
  t.ok(deploy, 'has a deploy step');
  const args = deploy!.args;
  t.ok(args.includes('--no-allow-unauthenticated'));
  const flag = (name: string) =>
    args
      .find((a) => a.startsWith(`--${name}=`))
      ?.split('=')
      .slice(1)
      .join('=');
  const sub = (v: string | undefined) => (v ?? '').replace(/\$\{(_[A-Z_]+)\}/g, (_, k: string) => subs[k] ?? '');
  t.ok(seconds(sub(flag('timeout'))) > seconds(subs._JOB_TIMEOUT ?? DEFAULTS.JOB_TIMEOUT!), 'Cloud Run timeout > JOB_TIMEOUT');
  t.ok(seconds(sub(flag('timeout'))) <= 3600, 'Cloud Run timeout within its 3600s maximum');
  t.match(flag('update-env-vars'), /(^|,)REQUEST_TIMEOUT=\$\{_RUN_TIMEOUT\}(,|$)/, 'doctor knows the timeout');
  t.match(flag('image'), /^\$\{_REGION\}-docker\.pkg\.dev\/\$PROJECT_ID\/\$\{_REPO\}\/executor:\$SHORT_SHA$/);
});

// -------------------------------------------------------------------- GKE

type K8sObject = { kind: string; metadata: { name: string; annotations?: Record<string, string> }; [k: string]: any };

t.test('GKE manifests', { skip: has('kubectl') ? false : 'kubectl not installed' }, async (t) => {
  const r = run('kubectl', ['kustomize', join(infra, 'gke')]);
  t.equal(r.status, 0, `kubectl kustomize succeeds ${r.stderr}`);
  if (r.status !== 0) return;
  const objects = parseAllDocuments(r.stdout)
    .map((d) => d.toJS() as K8sObject)
    .filter(Boolean);
  const find = (kind: string) => objects.filter((o) => o.kind === kind);
  const deployment = find('Deployment')[0];
  t.ok(deployment, 'renders a Deployment');
  if (!deployment) return;
  const pod = deployment.spec.template.spec;
  const container = pod.containers[0];

  // Effective environment: envFrom ConfigMaps first, then env (which wins).
  const env: Record<string, string> = {};
  for (const from of container.envFrom ?? []) {
    const name = from.configMapRef?.name;
    const cm = find('ConfigMap').find((c) => c.metadata.name === name);
    t.ok(cm, `ConfigMap ${name} referenced by envFrom is rendered`);
    Object.assign(env, cm?.data ?? {});
  }
  for (const e of container.env ?? []) env[e.name] = e.value ?? '';

  t.test('every environment variable is one the service reads', async (t) => {
    const unknown = Object.keys(env).filter((k) => !KNOWN_ENV.has(k));
    t.same(unknown, [], 'no unknown variable names');
    t.equal(env.AUTH, 'oidc');
    t.equal(env.LEDGER, 'firestore');
  });

  t.test('terminationGracePeriodSeconds covers preStop + SHUTDOWN_GRACE', async (t) => {
    const grace = seconds(env.SHUTDOWN_GRACE ?? DEFAULTS.SHUTDOWN_GRACE!);
    const cmd: string[] = container.lifecycle?.preStop?.exec?.command ?? [];
    const preStop = cmd[0] === 'sleep' ? seconds(cmd[1] ?? '0') : seconds(container.lifecycle?.preStop?.sleep?.seconds ?? 0);
    t.ok(pod.terminationGracePeriodSeconds > grace + preStop, `${pod.terminationGracePeriodSeconds}s > ${preStop}s preStop + ${grace}s SHUTDOWN_GRACE`);
  });

  t.test('probes, port and non-root security context', async (t) => {
    const port = Number(env.PORT ?? DEFAULTS.PORT);
    t.equal(container.ports[0].containerPort, port, 'containerPort = PORT');
    t.equal(container.readinessProbe?.httpGet?.path, '/readyz');
    t.equal(container.livenessProbe?.httpGet?.path, '/healthz');
    t.equal(pod.securityContext?.runAsNonRoot, true);
    t.equal(container.securityContext?.allowPrivilegeEscalation, false);
    t.match(container.image, /docker\.pkg\.dev\/.+\/executor:/, 'image rewritten by kustomize');
  });

  t.test('the pod runs as a Workload Identity service account', async (t) => {
    const sa = find('ServiceAccount').find((s) => s.metadata.name === pod.serviceAccountName);
    t.ok(sa, `ServiceAccount ${pod.serviceAccountName} is rendered`);
    t.match(sa?.metadata.annotations?.['iam.gke.io/gcp-service-account'], /@.+\.iam\.gserviceaccount\.com$/);
  });

  t.test('the load balancer backend timeout is above JOB_TIMEOUT', async (t) => {
    const bc = find('BackendConfig')[0];
    const svc = find('Service')[0];
    t.ok(bc && svc);
    t.match(svc?.metadata.annotations?.['cloud.google.com/backend-config'] ?? '', new RegExp(`"${bc?.metadata.name}"`));
    t.ok(bc?.spec.timeoutSec > seconds(env.JOB_TIMEOUT ?? DEFAULTS.JOB_TIMEOUT!), `${bc?.spec.timeoutSec}s > JOB_TIMEOUT`);
    t.equal(seconds(env.REQUEST_TIMEOUT ?? '300s'), bc?.spec.timeoutSec, 'REQUEST_TIMEOUT tells doctor the backend timeout');
  });
});

// ---------------------------------------------------------------- scripts

const scripts = readdirSync(join(infra, 'scripts')).filter((f) => f.endsWith('.sh'));

t.test('shell scripts parse (bash -n) and pass shellcheck when installed', async (t) => {
  t.ok(scripts.length > 0);
  for (const f of scripts) {
    const r = run('bash', ['-n', join(infra, 'scripts', f)]);
    t.equal(r.status, 0, `bash -n ${f} ${r.stderr}`);
    if (has('shellcheck')) {
      const sc = run('shellcheck', [join(infra, 'scripts', f)]);
      t.equal(sc.status, 0, `shellcheck ${f}\n${sc.stdout}`);
    }
  }
});

/** Run setup-queues.sh with a stub gcloud that records its arguments. */
function setupQueues(env: Record<string, string>, queuesExist: boolean) {
  const dir = mkdtempSync(join(tmpdir(), 'gcloud-stub-'));
  const log = join(dir, 'calls');
  writeFileSync(
    join(dir, 'gcloud'),
    `#!/bin/sh
printf '%s\\n' "$*" >> "${log}"
case "$3" in describe) exit ${queuesExist ? 0 : 1} ;; esac
exit 0
`,
  );
  chmodSync(join(dir, 'gcloud'), 0o755);
  const r = run('bash', [join(infra, 'scripts', 'setup-queues.sh')], {
    env: { PATH: `${dir}:${process.env.PATH}`, HOME: dir, ...env },
  });
  const calls = existsSync(log) ? readFileSync(log, 'utf8').trim().split('\n').filter(Boolean) : [];
  rmSync(dir, { recursive: true, force: true });
  return { status: r.status, stderr: r.stderr, calls, changes: calls.filter((c) => !c.includes(' describe ')) };
}

t.test("setup-queues.sh creates missing queues with unlimited attempts (the chain's count decides)", async (t) => {
  const r = setupQueues({ PROJECT: 'p', LOCATION: 'us-central1', CHAIN: 'incoming:5,incoming-2:unlimited' }, false);
  t.equal(r.status, 0, r.stderr);
  t.equal(r.changes.length, 3, 'two tiers and the notifier');
  const [first, second, notifier] = r.changes;
  t.match(first, /^tasks queues create incoming /);
  t.match(first, /--max-attempts=-1(\s|$)/, 'headroom: the executor forwards at 5');
  t.match(second, /^tasks queues create incoming-2 /);
  t.match(second, /--max-attempts=-1(\s|$)/);
  t.match(notifier, /^tasks queues create notifier /);
  for (const c of r.changes) {
    t.match(c, /--location=us-central1(\s|$)/);
    t.match(c, /--project=p(\s|$)/);
    t.match(c, /--max-retry-duration=0s(\s|$)/, 'maxAttempts alone decides');
  }
});

t.test('setup-queues.sh updates queues that exist (idempotent) and ignores @url', async (t) => {
  const r = setupQueues(
    { PROJECT: 'p', LOCATION: 'l', CHAIN: 'incoming@https://a.example/tasks,incoming-2:3@https://b.example:8443/tasks', MAX_ATTEMPTS: '4', NOTIFY_QUEUE: '' },
    true,
  );
  t.equal(r.status, 0, r.stderr);
  t.equal(r.changes.length, 2, 'no notifier when NOTIFY_QUEUE is empty');
  t.match(r.changes[0], /^tasks queues update incoming .*--max-attempts=-1(\s|$)/);
  t.match(r.changes[1], /^tasks queues update incoming-2 .*--max-attempts=-1(\s|$)/);
});

t.test('setup-queues.sh refuses a bad chain before changing anything', async (t) => {
  for (const CHAIN of ['incoming:unlimited,incoming-2:5', 'incoming:0', 'in_coming:5', 'a:5,a:3']) {
    const r = setupQueues({ PROJECT: 'p', LOCATION: 'l', CHAIN }, false);
    t.equal(r.status, 2, `${CHAIN} exits 2`);
    t.same(r.changes, [], `${CHAIN}: no queue touched`);
    t.match(r.stderr, /setup-queues: /);
  }
  const noLocation = setupQueues({ PROJECT: 'p', CHAIN: 'incoming' }, false);
  t.equal(noLocation.status, 2);
  t.match(noLocation.stderr, /LOCATION/);
});

// -------------------------------------------------------------- Terraform

const tfDir = join(infra, 'terraform');
const tfFiles = readdirSync(tfDir).filter((f) => f.endsWith('.tf'));

/** The text with comments, strings and heredoc bodies blanked, for brace counting. */
function hclCode(src: string): string {
  let out = '';
  let i = 0;
  const braceStack: string[] = []; // '{' code brace, '"' string, '${' interpolation inside a string
  while (i < src.length) {
    const c = src[i]!;
    const top = braceStack.at(-1);
    if (top === '"') {
      if (c === '\\') {
        i += 2;
        continue;
      }
      if (c === '"') {
        braceStack.pop();
        i++;
        continue;
      }
      if ((c === '$' || c === '%') && src[i + 1] === '{') {
        braceStack.push('${');
        i += 2;
        continue;
      }
      i++;
      continue;
    }
    if (c === '#' || (c === '/' && src[i + 1] === '/')) {
      while (i < src.length && src[i] !== '\n') i++;
      continue;
    }
    if (c === '/' && src[i + 1] === '*') {
      const e = src.indexOf('*/', i + 2);
      i = e < 0 ? src.length : e + 2;
      continue;
    }
    if (c === '<' && src[i + 1] === '<') {
      const m = /^<<-?([A-Za-z_]+)\n/.exec(src.slice(i));
      if (m) {
        const end = new RegExp(`\\n\\s*${m[1]}\\s*(\\n|$)`).exec(src.slice(i + m[0].length - 1));
        i = end ? i + m[0].length - 1 + end.index + end[0].length : src.length;
        out += '\n';
        continue;
      }
    }
    if (c === '"') {
      braceStack.push('"');
      i++;
      continue;
    }
    if (c === '{') braceStack.push('{');
    if (c === '}') {
      if (top === '${') {
        braceStack.pop();
        i++;
        continue;
      }
      if (top !== '{') return `${out}<<UNBALANCED>>`;
      braceStack.pop();
    }
    out += c;
    i++;
  }
  return braceStack.length === 0 ? out : `${out}<<UNCLOSED>>`;
}

t.test('Terraform files: balanced braces, declared variables, locals and resources', async (t) => {
  t.ok(tfFiles.length > 0);
  const sources = Object.fromEntries(tfFiles.map((f) => [f, readFileSync(join(tfDir, f), 'utf8')]));
  for (const [f, src] of Object.entries(sources)) {
    const code = hclCode(src);
    t.notMatch(code, /<<UN(BALANCED|CLOSED)>>/, `${f}: braces, brackets of strings and heredocs close`);
    let depth = 0;
    for (const ch of code)
      if (ch === '[') depth++;
      else if (ch === ']') depth--;
    t.equal(depth, 0, `${f}: square brackets balance`);
  }
  const all = Object.values(sources).join('\n');
  const declared = new Set([...all.matchAll(/^variable\s+"([^"]+)"/gm)].map((m) => m[1]));
  const used = new Set([...all.matchAll(/\bvar\.([A-Za-z_][A-Za-z0-9_-]*)/g)].map((m) => m[1]));
  t.same(
    [...used].filter((v) => !declared.has(v)),
    [],
    'every var.X is declared',
  );
  t.same(
    [...declared].filter((v) => !used.has(v!)),
    [],
    'every declared variable is used',
  );

  const localBlocks = [...all.matchAll(/^locals\s*\{([\s\S]*?)^\}/gm)].map((m) => m[1]!).join('\n');
  const localsDeclared = new Set([...localBlocks.matchAll(/^ {2}([A-Za-z_][A-Za-z0-9_]*)\s*=/gm)].map((m) => m[1]));
  const localsUsed = new Set([...all.matchAll(/\blocal\.([A-Za-z_][A-Za-z0-9_]*)/g)].map((m) => m[1]));
  t.same(
    [...localsUsed].filter((v) => !localsDeclared.has(v)),
    [],
    'every local.X is declared',
  );

  const resources = new Set([...all.matchAll(/^resource\s+"([^"]+)"\s+"([^"]+)"/gm)].map((m) => `${m[1]}.${m[2]}`));
  const data = new Set([...all.matchAll(/^data\s+"([^"]+)"\s+"([^"]+)"/gm)].map((m) => `${m[1]}.${m[2]}`));
  const refs = new Set([...all.matchAll(/(?<![\w."/-])(google_[a-z0-9_]+)\.([a-z_][a-z0-9_]*)/g)].map((m) => `${m[1]}.${m[2]}`));
  t.same(
    [...refs].filter((r) => !resources.has(r)),
    [],
    'every google_X.Y reference is a declared resource',
  );
  const dataRefs = new Set([...all.matchAll(/\bdata\.([a-z0-9_]+)\.([a-z_][a-z0-9_]*)/g)].map((m) => `${m[1]}.${m[2]}`));
  t.same(
    [...dataRefs].filter((r) => !data.has(r)),
    [],
    'every data.X.Y reference is declared',
  );

  t.match(all, /collection\s*=\s*each\.value[\s\S]*field\s*=\s*"expiresAt"[\s\S]*ttl_config/, 'Firestore TTL on expiresAt');
  t.match(all, /"executor-lineages"/);
  t.match(all, /matches_prefix\s*=\s*\["payloads\/"\]/, 'lifecycle rule limited to payloads/');
  t.match(all, /--no-allow-unauthenticated|roles\/run\.invoker/, 'invoker role granted');
});

const terraform = has('terraform');

t.test('terraform fmt accepts every file (HCL parses)', { skip: terraform ? false : 'terraform not installed' }, async (t) => {
  const r = run('terraform', ['fmt', '-check', '-recursive', '-no-color', tfDir], {
    env: { ...process.env, TF_CLI_CONFIG_FILE: '/dev/null', CHECKPOINT_DISABLE: '1' },
  });
  t.equal(r.status, 0, `terraform fmt -check: ${r.stdout}${r.stderr}`);
});

t.test('terraform evaluates CHAIN, the env and the timeout rules offline', { skip: terraform ? false : 'terraform not installed' }, async (t) => {
  // variables.tf and locals.tf reference no provider, so `terraform console`
  // evaluates them without downloading one; project.tf's number is stubbed.
  const dir = mkdtempSync(join(tmpdir(), 'tf-eval-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  copyFileSync(join(tfDir, 'variables.tf'), join(dir, 'variables.tf'));
  copyFileSync(join(tfDir, 'locals.tf'), join(dir, 'locals.tf'));
  writeFileSync(join(dir, 'stub.tf'), 'locals {\n  project_number = "123456789012"\n}\n');
  const env = { ...process.env, TF_CLI_CONFIG_FILE: '/dev/null', CHECKPOINT_DISABLE: '1', TF_IN_AUTOMATION: '1' };
  const init = run('terraform', ['init', '-backend=false', '-input=false', '-no-color'], { cwd: dir, env });
  t.equal(init.status, 0, `terraform init (offline) ${init.stderr}`);
  const evaluate = (expr: string, vars: string[] = []) => {
    const r = run('terraform', ['console', '-no-color', '-var', 'project=p', '-var', 'image=i', ...vars.flatMap((v) => ['-var', v])], {
      cwd: dir,
      env,
      input: `${expr}\n`,
    });
    // console exits 0 even when a variable validation fails: it prints the
    // error on stderr and a warning before the value.
    const ok = r.status === 0 && !/Error:/.test(r.stderr);
    const last = r.stdout.trim().split('\n').at(-1) ?? '';
    return { ok, value: ok ? JSON.parse(JSON.parse(last)) : undefined, err: r.stderr };
  };

  const def = evaluate(
    'jsonencode({chain = local.chain, env = local.service_env, timeout = local.request_timeout_seconds, deadline = var.dispatch_deadline_seconds})',
  );
  t.ok(def.ok, def.err);
  if (!def.ok) return;
  t.equal(def.value.chain, 'incoming:5,incoming-2:5,incoming-3:10', 'default CHAIN');
  t.same(
    Object.keys(def.value.env).filter((k) => !KNOWN_ENV.has(k)),
    [],
    'every Cloud Run env name is known',
  );
  t.notOk('PORT' in def.value.env, 'PORT is left to Cloud Run (reserved)');
  t.equal(def.value.env.SERVICE_URL, 'https://executor-123456789012.us-central1.run.app', 'predictable SERVICE_URL');
  t.ok(
    seconds(def.value.env.JOB_TIMEOUT) < def.value.deadline && def.value.deadline <= def.value.timeout,
    'JOB_TIMEOUT < dispatchDeadline <= Cloud Run timeout',
  );
  t.equal(seconds(def.value.env.REQUEST_TIMEOUT), def.value.timeout, 'REQUEST_TIMEOUT = the Cloud Run timeout (for doctor)');
  t.ok(seconds(def.value.env.SHUTDOWN_GRACE) < 10, "SHUTDOWN_GRACE below Cloud Run's 10s SIGKILL");

  const custom = evaluate('jsonencode(local.chain)', ['tiers=[{queue="a",max_attempts=3},{queue="b",max_attempts=-1,url="https://b.example/tasks"}]']);
  t.equal(custom.value, 'a:3,b:unlimited@https://b.example/tasks', 'unlimited and @url');

  const pull = evaluate('jsonencode({chain = local.chain, tiers = keys(local.pull_tiers)})', ['pull_mode=true']);
  t.equal(
    pull.value?.chain,
    'incoming:5#incoming-pull,incoming-2:5#incoming-2-pull,incoming-3:10#incoming-3-pull',
    'pull mode: each tier names its subscription',
  );
  t.same(pull.value?.tiers, ['incoming', 'incoming-2', 'incoming-3'], 'pull mode: a topic and subscription per tier');
  t.same(evaluate('jsonencode(local.pull_tiers)').value, {}, 'push mode: no pull tiers');
  t.notOk(evaluate('local.chain', ['pull_max_delivery_attempts=101']).ok, "refuses more than Pub/Sub's 100 delivery attempts");

  const pubsub = evaluate('jsonencode(local.service_env)', ['notify_mode=pubsub']);
  t.equal(pubsub.value?.NOTIFY_QUEUE, '', 'pubsub mode turns the notifier queue off');
  t.equal(pubsub.value?.NOTIFY_TOPIC, 'projects/p/topics/executor-notifications');

  t.notOk(evaluate('local.chain', ['job_timeout_seconds=600']).ok, 'refuses JOB_TIMEOUT >= dispatchDeadline');
  t.notOk(evaluate('local.chain', ['request_timeout_seconds=300']).ok, 'refuses a Cloud Run timeout below dispatchDeadline');
  t.notOk(evaluate('local.chain', ['tiers=[{queue="a",max_attempts=-1},{queue="b",max_attempts=2}]']).ok, 'refuses unlimited before the last tier');
  t.notOk(evaluate('local.chain', ['shutdown_grace_seconds=10']).ok, 'refuses SHUTDOWN_GRACE >= 10s');
});

t.test('the GKE ConfigMap and Terraform agree on CHAIN and JOB_TIMEOUT', { skip: has('kubectl') ? false : 'kubectl not installed' }, async (t) => {
  const r = run('kubectl', ['kustomize', join(infra, 'gke')]);
  const cm = parseAllDocuments(r.stdout)
    .map((d) => d.toJS() as K8sObject)
    .find((o) => o?.kind === 'ConfigMap');
  const vars = readFileSync(join(tfDir, 'variables.tf'), 'utf8');
  const tiers = [...vars.slice(vars.indexOf('variable "tiers"')).matchAll(/\{ queue = "([^"]+)", max_attempts = (-?\d+)/g)].map(
    (m) => `${m[1]}:${m[2] === '-1' ? 'unlimited' : m[2]}`,
  );
  t.equal(cm?.data.CHAIN, tiers.join(','));
  const jobTimeout = /variable "job_timeout_seconds"[\s\S]*?default\s*=\s*(\d+)/.exec(vars)?.[1];
  t.equal(seconds(cm?.data.JOB_TIMEOUT), Number(jobTimeout));
});

t.test('terraform gives every tier queue unlimited attempts, so the executor count decides', async (t) => {
  const queues = readFileSync(join(tfDir, 'queues.tf'), 'utf8');
  const tier = queues.slice(queues.indexOf('resource "google_cloud_tasks_queue" "tier"'));
  t.match(tier.slice(0, tier.indexOf('\n}\n')), /max_attempts\s*=\s*-1/);
});

// --------------------------------------------------------------- pull mode

t.test(
  'GKE pull manifests: executor pull with no Service, drain time, backlog HPA, a config the service accepts',
  { skip: has('kubectl') ? false : 'kubectl not installed' },
  async (t) => {
    const r = run('kubectl', ['kustomize', join(infra, 'gke-pull')]);
    t.equal(r.status, 0, `kubectl kustomize succeeds ${r.stderr}`);
    if (r.status !== 0) return;
    const objects = parseAllDocuments(r.stdout)
      .map((d) => d.toJS() as K8sObject)
      .filter(Boolean);
    const kinds = objects.map((o) => o.kind);
    t.notOk(kinds.includes('Service') || kinds.includes('Ingress') || kinds.includes('BackendConfig'), 'no Service, Ingress or BackendConfig');
    const deployment = objects.find((o) => o.kind === 'Deployment')!;
    const pod = deployment.spec.template.spec;
    const container = pod.containers[0];
    t.same(container.args, ['node', 'bin/executor.js', 'pull']);
    const env: Record<string, string> = {};
    for (const from of container.envFrom ?? [])
      Object.assign(env, objects.find((o) => o.kind === 'ConfigMap' && o.metadata.name === from.configMapRef?.name)?.data ?? {});
    for (const e of container.env ?? []) env[e.name] = e.value ?? '';
    t.same(
      Object.keys(env).filter((k) => !KNOWN_ENV.has(k)),
      [],
      'every variable is one the service reads',
    );
    t.ok(pod.terminationGracePeriodSeconds > seconds(env.SHUTDOWN_GRACE!), 'terminationGracePeriodSeconds > SHUTDOWN_GRACE (the drain)');
    t.equal(container.readinessProbe?.httpGet?.path, '/readyz');
    t.equal(container.livenessProbe?.httpGet?.path, '/healthz');
    t.equal(pod.securityContext?.runAsNonRoot, true);
    const { loadConfig } = await import('../../src/config.ts');
    const config = loadConfig(env, 'pull');
    t.ok(
      config.chain.every((tier) => tier.subscription),
      'every tier names its subscription',
    );
    const hpa = objects.find((o) => o.kind === 'HorizontalPodAutoscaler')!;
    t.equal(hpa.spec.scaleTargetRef.name, deployment.metadata.name);
    const metric = hpa.spec.metrics[0].external.metric;
    t.equal(metric.name, 'pubsub.googleapis.com|subscription|num_undelivered_messages', 'scales on the backlog');
    t.equal(metric.selector.matchLabels['resource.labels.subscription_id'], config.chain[0]!.subscription, "the first tier's subscription");
  },
);

t.test('setup-queues.sh PULL=1 creates a topic and a subscription per tier with backoff, dead letters and retention', async (t) => {
  const r = setupQueues({ PULL: '1', PROJECT: 'p', CHAIN: 'incoming:5#in-sub,incoming-2:3', NOTIFY_QUEUE: '', MIN_BACKOFF: '10s', MAX_BACKOFF: '300s' }, false);
  t.equal(r.status, 0, r.stderr);
  t.same(
    r.changes.filter((c) => c.startsWith('tasks ')),
    [],
    'no Cloud Tasks queue',
  );
  const creates = r.changes.map((c) => c.split(' ').slice(0, 4).join(' '));
  t.same(creates, [
    'pubsub topics create executor-dead-letter',
    'pubsub subscriptions create executor-dead-letter-hold',
    'pubsub topics create incoming',
    'pubsub subscriptions create in-sub',
    'pubsub topics create incoming-2',
    'pubsub subscriptions create incoming-2-pull',
  ]);
  const sub = r.changes.find((c) => c.includes('subscriptions create incoming-2-pull'))!;
  for (const flag of [
    '--topic=incoming-2',
    '--min-retry-delay=30s',
    '--max-retry-delay=600s',
    '--dead-letter-topic=executor-dead-letter',
    '--max-delivery-attempts=100',
    '--message-retention-duration=7d',
    '--expiration-period=never',
  ]) {
    t.match(sub, flag);
  }
  const again = setupQueues({ PULL: '1', PROJECT: 'p', CHAIN: 'incoming:5', NOTIFY_QUEUE: '' }, true);
  t.equal(again.status, 0, again.stderr);
  t.ok(
    again.changes.every((c) => !c.includes(' create ')),
    'existing ones are updated, not created',
  );
  t.notOk(
    again.changes.find((c) => c.includes('subscriptions update') && c.includes('--topic=')),
    'a subscription keeps its topic',
  );
  const bad = setupQueues({ PULL: '1', PROJECT: 'p', CHAIN: 'incoming:100' }, false);
  t.equal(bad.status, 2, 'max attempts at the dead-letter limit refused');
  t.same(bad.changes, []);
});
