// Authentication of pushes and operator calls (DESIGN §5: AUTH=oidc).
export { authHook } from './auth-hook.ts';
export { createOidcVerifier, GOOGLE_ISSUERS, GOOGLE_PEM_CERTS_URL, type OidcVerifier, type OidcVerifierOptions, type VerifyResult } from './oidc-verifier.ts';
