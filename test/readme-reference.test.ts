// The README's reference sections against the code they describe, so neither
// drifts alone: the "Configuration" table lists every variable loadConfig reads
// (and nothing it does not), with the defaults it uses; the "CLI" block lists
// every command with every option of its synopsis.
import { readFileSync } from 'node:fs';
import t from 'tap';
import { COMMANDS } from '../src/cli/main.ts';
import { CONFIG_VARIABLES, DEFAULTS } from '../src/config.ts';

const README = readFileSync(new URL('../README.md', import.meta.url), 'utf8');

function section(title: string): string {
  const from = README.indexOf(`\n## ${title}\n`);
  if (from < 0) throw new Error(`README has no section "${title}"`);
  const next = README.indexOf('\n## ', from + 4);
  return README.slice(from, next < 0 ? undefined : next);
}

/** Read by the Google client libraries, not by loadConfig; the table says so. */
const READ_BY_GOOGLE_CLIENTS = ['PUBSUB_EMULATOR_HOST', 'FIRESTORE_EMULATOR_HOST'];

t.test('the Configuration table lists every variable loadConfig reads, and only those, with its defaults', async (t) => {
  const rows = new Map<string, string>();
  for (const line of section('Configuration').split('\n')) {
    const cells = line.split(' | ');
    if (!line.startsWith('| `') || cells.length < 3) continue;
    const names = [...cells[0]!.matchAll(/`([A-Z][A-Z0-9_]+)`/g)].map((m) => m[1]!);
    for (const name of names) rows.set(name, cells.at(-1)!);
  }
  for (const name of CONFIG_VARIABLES) t.ok(rows.has(name), `${name} is in the README table`);
  for (const name of rows.keys()) {
    if (READ_BY_GOOGLE_CLIENTS.includes(name)) continue;
    t.ok(CONFIG_VARIABLES.includes(name), `${name} in the README table is read by loadConfig`);
  }
  for (const [name, value] of Object.entries(DEFAULTS)) {
    t.match(rows.get(name) ?? '', `\`${value}\``, `${name}: the README default column says ${value}`);
  }
});

t.test('the CLI block lists every command with the options of its synopsis', async (t) => {
  const block = /```\n([\s\S]*?)```/.exec(section('CLI'))?.[1] ?? '';
  // One entry per line starting with `executor`, with its continuation lines.
  const entries = block.split(/\n(?=executor )/);
  for (const [name, spec] of Object.entries(COMMANDS)) {
    const entry = entries.find((e) => new RegExp(`^executor (?:[^\\n]*\\| )?${name}\\b`).test(e));
    t.ok(entry, `README CLI block has "executor ${name}"`);
    const synopsis = spec.usage.split('\n\n')[0]!;
    for (const option of synopsis.match(/--[a-z-]+/g) ?? []) t.match(entry ?? '', option, `executor ${name}: ${option} is in the README`);
  }
});
