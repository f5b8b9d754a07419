export { createMemoryLedger, type MemoryLedger, type MemoryLedgerOptions } from './memory-ledger.ts';
export { createFirestoreLedger, lineageDocId, deadLetterDocId, type FirestoreLedgerOptions } from './firestore-ledger.ts';
export { applyBegin, applyFinish, applyCancel, isEnded, isExpired, DEFAULT_TTL_MS, DEFAULT_MAX_HISTORY, type LineageRules } from './lineage-rules.ts';
export { LineageNotFound } from './lineage-not-found.ts';
