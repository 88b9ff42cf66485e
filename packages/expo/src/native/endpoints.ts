import { oauth2Refresh, oauth2Revoke, type SessionClientOptions } from '@latchkey/core'
import { revocationEndpointFor } from '../revocation/revocation-endpoint.js'
import type { ExpoSessionOptions } from './bindings.js'

/** Refresh, revocation and token origins of `expoSessionOptions` (native, and web with `insecureLocalStorage`). */
export function sessionEndpoints(options: ExpoSessionOptions): Pick<SessionClientOptions, 'refresh'> & Partial<Pick<SessionClientOptions, 'revoke' | 'tokenOrigins'>> {
  const clientId = options.clientId ? { clientId: options.clientId } : {}
  const revocationEndpoint = revocationEndpointFor(options.tokenEndpoint, options.revocationEndpoint)
  return {
    refresh: oauth2Refresh({ tokenEndpoint: options.tokenEndpoint, ...clientId, ...(options.resource !== undefined ? { resource: options.resource } : {}) }),
    ...(revocationEndpoint ? { revoke: oauth2Revoke({ revocationEndpoint, ...clientId }) } : {}),
    ...(options.tokenOrigins ? { tokenOrigins: options.tokenOrigins } : {}),
  }
}
