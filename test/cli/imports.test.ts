// The CLI's module graph: commands never import the entry point back (no
// import cycles in src/cli), and a command loads the Google clients only when
// it uses them (help, status and a memory-ledger server load none of the
// unused ones).

import { execFile } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import t from 'tap';

const src = fileURLToPath(new URL('../../src', import.meta.url));
const cliDir = join(src, 'cli');

/** Relative static imports and re-exports of a file (type-only ones too: they still tie modules together). */
function staticImports(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const out: string[] = [];
  for (const m of text.matchAll(/^\s*(?:import|export)\s[^;]*?\sfrom\s+'(\.[^']+)'/gm)) out.push(resolve(dirname(file), m[1]!));
  return out;
}

t.test('no file in src/cli imports the entry point, and src/cli has no import cycles', async (t) => {
  const files = readdirSync(cliDir)
    .filter((f) => f.endsWith('.ts'))
    .map((f) => join(cliDir, f));
  const main = join(cliDir, 'main.ts');
  for (const f of files) {
    if (f !== main) t.notOk(staticImports(f).includes(main), `${f.slice(src.length + 1)} does not import cli/main.ts`);
  }
  const graph = new Map(files.map((f) => [f, staticImports(f).filter((d) => d.startsWith(cliDir))]));
  const cycles: string[] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (f: string, path: string[]) => {
    if (state.get(f) === 'done') return;
    if (state.get(f) === 'visiting') {
      cycles.push([...path.slice(path.indexOf(f)), f].map((p) => p.slice(cliDir.length + 1)).join(' -> '));
      return;
    }
    state.set(f, 'visiting');
    for (const d of graph.get(f) ?? []) visit(d, [...path, f]);
    state.set(f, 'done');
  };
  for (const f of files) visit(f, []);
  t.same(cycles, [], 'no cycles');
});

/** Runs `body` in a fresh Node that records every package it loads; returns the package names. */
function loadedPackages(body: string): Promise<{ packages: string[]; stderr: string }> {
  const script = `
import { registerHooks } from 'node:module';
const seen = new Set();
registerHooks({ resolve(specifier, context, next) {
  const r = next(specifier, context);
  const m = /\\/node_modules\\/((?:@[^/]+\\/)?[^/]+)\\//.exec(r.url);
  if (m) seen.add(m[1]);
  return r;
} });
const src = ${JSON.stringify(pathToFileURL(src).href)};
${body}
process.stdout.write(JSON.stringify([...seen]));
`;
  return new Promise((resolvePromise, reject) => {
    execFile(process.execPath, ['--input-type=module', '-e', script], { env: { PATH: process.env.PATH ?? '' }, timeout: 120_000 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${err.message}\n${stderr}`));
      else resolvePromise({ packages: JSON.parse(stdout.slice(stdout.lastIndexOf('['))), stderr });
    });
  });
}

const GOOGLE = ['@google-cloud/firestore', '@google-cloud/pubsub', '@google-cloud/storage', '@google-cloud/tasks', 'google-auth-library', 'google-gax'];

t.test('help and status load no Google client', async (t) => {
  const { packages } = await loadedPackages(`
const { main } = await import(src + '/cli/main.ts');
const io = { env: { SERVICE_URL: 'http://127.0.0.1:1' }, out: () => {}, err: () => {} };
await main(['status', '--help'], io);
await main(['help', 'enqueue'], io);
await main(['status', 'abc'], io);
`);
  t.same(
    packages.filter((p) => GOOGLE.includes(p)),
    [],
    `loaded: ${packages.join(', ')}`,
  );
});

t.test('createDeps with the memory ledger and AUTH=none loads no Google client until a backend is used', async (t) => {
  // A local stand-in for the Cloud Tasks API that knows no queue (so a lookup answers at once).
  const deps = `
const http = await import('node:http');
const api = http.createServer((req, res) => { res.writeHead(404, { 'content-type': 'application/json' }); res.end('{"error":{"code":404,"message":"no","status":"NOT_FOUND"}}'); });
await new Promise((r) => api.listen(0, '127.0.0.1', r));
const { loadConfig } = await import(src + '/config.ts');
const { createDeps } = await import(src + '/server.ts');
const pino = (await import('pino')).default;
const config = loadConfig({ GOOGLE_CLOUD_PROJECT: 'p', LOCATION: 'l', AUTH: 'none', ALLOW_UNAUTHENTICATED: '1', CLOUD_TASKS_EMULATOR_HOST: '127.0.0.1:' + api.address().port }, 'serve');
const deps = await createDeps(config, pino({ level: 'silent' }));
`;
  const { packages } = await loadedPackages(`${deps}await deps.close();\napi.close();`);
  t.same(
    packages.filter((p) => GOOGLE.includes(p) || p === '@grpc/grpc-js' || p === 'protobufjs'),
    [],
    `loaded: ${packages.join(', ')}`,
  );
  t.ok(packages.includes('pino'), 'the probe sees packages (pino is loaded)');
  // The first forward (here a queue lookup) loads the Cloud Tasks client then.
  const used = await loadedPackages(`${deps}await deps.queue.getQueue('q');\nawait deps.close();\napi.close();`);
  t.ok(used.packages.includes('@google-cloud/tasks'), 'Cloud Tasks is loaded once the queue is used');
});
