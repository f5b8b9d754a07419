export { createFirestoreLedger, deadLetterDocId, type FirestoreLedgerOptions, lineageDocId } from './firestore-ledger.ts';
export { LineageNotFound } from './lineage-not-found.ts';
export { applyBegin, applyCancel, applyFinish, DEFAULT_MAX_HISTORY, DEFAULT_TTL_MS, isEnded, isExpired, type LineageRules } from './lineage-rules.ts';
export { createMemoryLedger, type MemoryLedger, type MemoryLedgerOptions } from './memory-ledger.ts';
