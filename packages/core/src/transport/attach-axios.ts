import type { SessionClient } from '../session/client.js'
import { attachAxiosToSource, type AxiosLike } from './axios.js'

export type { AxiosLike, AxiosConfigLike } from './axios.js'

/** Wires `client` into an axios instance (request token + 401 replay once). Returns a detach function. */
export function attachAxios<C extends object, R>(client: Pick<SessionClient, 'tokenSource'>, instance: AxiosLike<C, R>): () => void {
  return attachAxiosToSource(client.tokenSource, instance)
}
