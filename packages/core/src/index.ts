// The public surface of @latchkey/core, listed by name.
export { createSessionClient, type SessionClient } from './session/client.js'
export { SESSION_DEFAULTS, type SessionClientOptions } from './session/options.js'
export { latestRetryArrivalMs } from './refresh/timing.js'
export { DEFAULT_STORAGE_KEY, sessionStorageKeys } from './session/stored-session.js'
export type { SessionState, SessionStatus, SignOutReason } from './session/state.js'
export type { SessionEvents, EventName } from './session/events.js'
export type { Cleanup } from './session/cleanups.js'
export type { PersistTokens } from './session/session.js'
export { parseTokenResponse, type TokenResponse, type ParsedTokenResponse } from './session/token-response.js'
export { decodeClaims } from './session/claims.js'
export { rolesFromClaims, hasRole } from './session/roles.js'

export {
  oauth2Refresh, oauth2Revoke, basicCredentials,
  type OAuth2RefreshOptions, type OAuth2RevokeOptions, type OAuthClientOptions, type ClientAuthentication, type OAuthCallContext,
  type RefreshFn, type RevokeFn,
} from './oauth/oauth2.js'
export { staticDpopKey, jwkThumbprint, type DpopKey, type DpopKeyStore } from './dpop/key.js'
export { createDpopSigner, createNonceMemory, accessTokenHash, htuOf, type DpopSigner, type HeadersLike, type ProofClaims } from './dpop/proof.js'
export { isDpopBound, type DpopOption } from './dpop/session-keys.js'
export { sha256, base64Url } from './dpop/sha256.js'
export type { EndpointOptions } from './oauth/http.js'

export { memoryStorage } from './storage/memory.js'
export type { SessionStorage } from './storage/types.js'
export { decodeRecord, encodeRecord, type SessionRecord } from './storage/record.js'

export { inProcessLock, webLocks, type SessionLock, type LockManagerLike } from './lock/lock.js'
export { broadcastSync, type SessionSync, type SyncMessage, type BroadcastChannelConstructor } from './sync/broadcast.js'

export {
  createForegroundManager, createOnlineManager,
  type EnvironmentManager, type ForegroundManager, type OnlineManager,
} from './env/manager.js'
export {
  systemClock, systemTimers, consoleLogger, silentLogger,
  type Clock, type Timers, type TimerHandle, type Logger, type FetchLike,
} from './env/ambient.js'
export { backoffCeiling, backoffDelay, type BackoffOptions } from './refresh/backoff.js'

export { attachAxios, type AxiosLike, type AxiosConfigLike } from './transport/attach-axios.js'
export { authorizationHeader, type Credential, type TokenSource } from './transport/fetch.js'

export {
  NetworkError, TimeoutError, RefreshRejectedError, OAuthError, ClientConfigError, InvalidTokenResponseError,
  StorageError, StorageCorruptError, CredentialInvalidatedError, SignedOutError, LockedError, AccountError,
  isLatchkeyError, isNetworkError,
  type LatchkeyError, type LatchkeyErrorCode, type NetworkErrorDetail, type StorageOperation, type AccountErrorReason,
} from './errors/errors.js'

export { createAccountApi, type AccountApi, type AccountApiOptions, type EndSessions } from './account/account.js'
export { createEmailApi, type EmailApi, type EmailApiOptions } from './account/email.js'
export { completeSignUp, type SignUpResult } from './account/sign-up.js'
