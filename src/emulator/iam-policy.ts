// An in-memory IAM policy per queue: getIamPolicy, setIamPolicy (with etag
// read-modify-write checks) and testIamPermissions. Nothing is enforced: the
// emulator has no callers' identities, so every Cloud Tasks permission is granted.
import { randomBytes } from 'node:crypto';
import { aborted, invalidArgument } from './google-error.ts';

export interface Binding {
  role: string;
  members: string[];
  condition?: Record<string, unknown>;
}

export interface Policy {
  version: number;
  bindings: Binding[];
  etag: string;
}

/** The etag Google returns for a resource that never had a policy set. */
export const EMPTY_POLICY_ETAG = 'ACAB';

const ROLE = /^(roles\/[A-Za-z0-9_.]+|projects\/[^/]+\/roles\/[A-Za-z0-9_.]+|organizations\/[^/]+\/roles\/[A-Za-z0-9_.]+)$/;
const MEMBER =
  /^(allUsers|allAuthenticatedUsers|(user|serviceAccount|group|domain|deleted:user|deleted:serviceAccount|deleted:group|projectOwner|projectEditor|projectViewer):.+|principal:\/\/.+|principalSet:\/\/.+)$/;
const PERMISSION = /^[a-z][a-zA-Z0-9]*\.[a-zA-Z0-9]+\.[a-zA-Z0-9]+$/;

export function emptyPolicy(): Policy {
  return { version: 1, bindings: [], etag: EMPTY_POLICY_ETAG };
}

export function policyToJson(p: Policy): Record<string, unknown> {
  return { version: p.version, ...(p.bindings.length > 0 ? { bindings: p.bindings.map((b) => structuredClone(b)) } : {}), etag: p.etag };
}

/** SetIamPolicy: validate the new policy and check its etag against the current one. */
export function nextPolicy(current: Policy, raw: Record<string, unknown> | undefined): Policy {
  if (!raw) throw invalidArgument('SetIamPolicyRequest.policy is required.');
  // Etags are bytes: gcloud sends them back in the URL-safe alphabet.
  if (typeof raw.etag === 'string' && raw.etag !== '' && !Buffer.from(raw.etag, 'base64').equals(Buffer.from(current.etag, 'base64'))) {
    throw aborted('There were concurrent policy changes. Please retry the whole read-modify-write with exponential backoff.');
  }
  const bindings: Binding[] = [];
  for (const [i, b] of ((raw.bindings ?? []) as Array<Record<string, unknown>>).entries()) {
    const role = String(b.role ?? '');
    if (!ROLE.test(role)) throw invalidArgument(`Invalid role at 'policy.bindings[${i}].role': ${JSON.stringify(role)}`);
    const members = ((b.members ?? []) as string[]).map(String);
    for (const m of members) if (!MEMBER.test(m)) throw invalidArgument(`Invalid member at 'policy.bindings[${i}].members': ${JSON.stringify(m)}`);
    if (members.length === 0) continue;
    bindings.push({ role, members: [...new Set(members)], ...(b.condition ? { condition: b.condition as Record<string, unknown> } : {}) });
  }
  const conditional = bindings.some((b) => b.condition);
  const asked = typeof raw.version === 'number' ? raw.version : 1;
  if (conditional && asked < 3) throw invalidArgument('A policy with conditional role bindings must have version 3.');
  return { version: conditional ? 3 : asked === 3 ? 3 : 1, bindings, etag: randomBytes(8).toString('base64') };
}

/** TestIamPermissions: every well-formed Cloud Tasks permission is held; others are not. */
export function heldPermissions(raw: unknown): string[] {
  const asked = Array.isArray(raw) ? raw.map(String) : [];
  for (const p of asked) if (!PERMISSION.test(p)) throw invalidArgument(`Permission ${p} is not valid.`);
  return asked.filter((p) => p.startsWith('cloudtasks.'));
}
