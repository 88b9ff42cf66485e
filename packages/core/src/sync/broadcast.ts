/** What contexts tell each other. Refresh tokens are never broadcast. */
export type SyncMessage =
  /**
   * A new pair. `origin`: from a sign-in (a signed-out context adopts it) or a refresh (only a
   * signed-in one does: a refresh that raced a sign-out must not bring the session back).
   * Absent from older senders: treated as a refresh.
   */
  | { type: 'pair'; id: string; accessToken?: string; tokenType: string; remainingMs: number | null; origin?: 'signIn' | 'refresh' }
  | { type: 'signedOut'; reason: string }

export interface SessionSync {
  publish(message: SyncMessage): void
  subscribe(listener: (message: SyncMessage) => void): () => void
  close(): void
}

interface ChannelLike {
  postMessage(message: unknown): void
  close(): void
  addEventListener(type: 'message', listener: (event: { data: unknown }) => void): void
}
export type BroadcastChannelConstructor = new (name: string) => ChannelLike

/**
 * Shares new pairs and sign-outs between tabs (same origin only, per the HTML BroadcastChannel
 * spec). The channel opens on first subscribe, so importing this module starts nothing.
 */
export function broadcastSync(options: { name?: string; BroadcastChannel?: BroadcastChannelConstructor } = {}): SessionSync {
  const name = options.name ?? 'latchkey.session'
  const listeners = new Set<(message: SyncMessage) => void>()
  let channel: ChannelLike | null = null

  const open = (): ChannelLike | null => {
    if (channel) return channel
    const Ctor =
      options.BroadcastChannel ?? (globalThis as { BroadcastChannel?: BroadcastChannelConstructor }).BroadcastChannel
    if (!Ctor) return null
    channel = new Ctor(name)
    channel.addEventListener('message', (event) => {
      const data = event.data as SyncMessage | undefined
      if (!data || (data.type !== 'pair' && data.type !== 'signedOut')) return
      for (const listener of [...listeners]) listener(data)
    })
    return channel
  }

  return {
    publish: (message) => open()?.postMessage(message),
    subscribe(listener) {
      listeners.add(listener)
      open()
      return () => void listeners.delete(listener)
    },
    close() {
      listeners.clear()
      channel?.close()
      channel = null
    },
  }
}
