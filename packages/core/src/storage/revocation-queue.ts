import type { SessionStorage } from './types.js'

/** A revocation that could not be sent yet (RFC 7009). `token: null` = cookie-held credential. */
export interface PendingRevocation {
  token: string | null
  at: number
}

const MAX_PENDING = 20

/** Revocations waiting for the network, kept in their own small record beside the session. */
export function createRevocationQueue(storage: SessionStorage, key: string) {
  const read = async (): Promise<PendingRevocation[]> => {
    const raw = await storage.getItem(key)
    if (!raw) return []
    try {
      const parsed = JSON.parse(raw) as { v?: unknown; items?: unknown }
      if (parsed.v !== 1 || !Array.isArray(parsed.items)) return []
      return parsed.items.filter(
        (i): i is PendingRevocation =>
          typeof i === 'object' && i !== null && (typeof i.token === 'string' || i.token === null) && typeof i.at === 'number',
      )
    } catch {
      return []
    }
  }
  const write = async (items: PendingRevocation[]) => {
    if (items.length === 0) await storage.removeItem(key)
    else await storage.setItem(key, JSON.stringify({ v: 1, items: items.slice(-MAX_PENDING) }))
  }
  return {
    read,
    async add(item: PendingRevocation) {
      await write([...(await read()), item])
    },
    async remove(item: PendingRevocation) {
      const items = await read()
      await write(items.filter((i) => !(i.token === item.token && i.at === item.at)))
    },
  }
}

export type RevocationQueue = ReturnType<typeof createRevocationQueue>
