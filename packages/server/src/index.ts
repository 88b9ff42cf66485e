/**
 * @latchkey/server: the public surface.
 */
export { startServer, type ServerOptions, type RunningServer } from './server.js'
export { createApp, consoleLogger, silentLogger, type AppOptions, type LatchkeyApp } from './app.js'
export { loadConfig, ConfigError, DEFAULTS as SERVER_DEFAULTS, type ServerConfig } from './config.js'
export {
  createAccessTokenVerifier, verifyAccessToken, requireAccessToken, requireRole,
  type AccessTokenVerifier, type RequireRolesOptions, type VerifyAccessTokenOptions, type AccessTokenClaims, type RequireAccessTokenDpopOptions,
} from './resource.js'
export { DPOP_ALGS, type JtiStore } from './dpop/proof.js'
export { MemoryJtiStore } from './dpop/jti-store.js'
export { followRevocations, type FollowRevocationsOptions, type RevocationFollower } from './resource-revocations.js'
export { grantRole, revokeRole, rolesOf, listUsersWithRoles, type UserWithRoles } from './roles/store.js'
export { ROLE_PATTERN, isRoleName } from './roles/names.js'
export { InvalidAccessTokenError, type InvalidAccessTokenCode } from './crypto/jwt.js'
export { rotateSigningKeys, ACCESS_TOKEN_ALG, KeyCipher, SigningKeyDecryptionError } from './crypto/keys.js'
export { countAuditEvents, listAuditEvents, type AuditEvent, type AuditType } from './store/audit.js'
export { openDatabase, type DatabaseHandle } from './db/connect.js'
export { migrate } from './db/migrations.js'
export { PGliteDialect } from './db/pglite-dialect.js'
export type { Database } from './db/schema.js'
export type { TokenResponse, RateLimitOptions, Logger } from './service.js'
export { TOKEN_DELIVERY_HEADER, LEGACY_REFRESH_COOKIE, refreshCookiePolicy, type RefreshCookiePolicy } from './http/cookies.js'
export {
  checkPasswordPolicy, DEFAULT_PASSWORD_POLICY,
  type PasswordContext, type PasswordPolicyOptions, type PasswordPolicyReason, type PasswordPolicyResult,
} from './accounts/password-policy.js'
