import type { DpopKeyStore } from '@latchkey/core'

/** `expoSessionOptions`' `dpop` setting as the core's option: off, the platform's store, or the app's own. */
export function dpopOption(option: boolean | DpopKeyStore | undefined, platformStore: () => DpopKeyStore): { dpop?: DpopKeyStore } {
  if (option === undefined || option === false) return {}
  return { dpop: option === true ? platformStore() : option }
}
